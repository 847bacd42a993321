"""Spec decoding, clear errors and the canonical hash."""

from __future__ import annotations

import msgspec
import pytest

from augury.domain.resolution import (
    GeoJsonSource,
    Hold,
    SpecError,
    decode_spec,
    encode_spec,
    spec_hash,
)

from .helpers import T_OBS, WAR_MAP_JSON, war_map_spec


def test_war_map_json_decodes_to_the_same_spec() -> None:
    spec = decode_spec(WAR_MAP_JSON)
    assert spec == war_map_spec()
    assert isinstance(spec.sources[0], GeoJsonSource)
    assert spec.fallback == Hold()
    assert spec.observation_at_us == T_OBS


def test_hash_is_canonical() -> None:
    spec = decode_spec(WAR_MAP_JSON)
    assert decode_spec(encode_spec(spec)) == spec
    assert spec_hash(spec) == spec_hash(war_map_spec())
    assert spec_hash(spec) != spec_hash(war_map_spec(hours=13))
    assert len(spec_hash(spec)) == 64


@pytest.mark.parametrize(
    ("patch", "fragment"),
    [
        ({"quorum": "two"}, "Expected `int`, got `str` - at `$.quorum`"),
        ({"persistence": {"hours": -1}}, "at `$.persistence.hours`"),
        ({"fallback": {"kind": "coin_flip"}}, "Invalid value 'coin_flip' - at `$.fallback.kind`"),
        ({"surprise": 1}, "unknown field `surprise`"),
    ],
)
def test_bad_specs_name_the_field(patch: dict[str, object], fragment: str) -> None:
    raw = msgspec.json.decode(WAR_MAP_JSON)
    raw.update(patch)
    with pytest.raises(SpecError, match="invalid resolution spec") as info:
        decode_spec(msgspec.json.encode(raw))
    assert fragment in str(info.value)


def test_unknown_source_kind_and_bad_json() -> None:
    raw = msgspec.json.decode(WAR_MAP_JSON)
    raw["sources"][0]["kind"] = "ftp"
    with pytest.raises(SpecError, match=r"\$\.sources\[0\]\.kind"):
        decode_spec(msgspec.json.encode(raw))
    with pytest.raises(SpecError, match="not valid JSON"):
        decode_spec(b"{")


def test_public_surface() -> None:
    import augury.domain.resolution as resolution

    # The functions ``evaluate`` and ``lint`` shadow their modules; the rest stay modules.
    exported = {n for n in dir(resolution) if not n.startswith("_")} - {
        "spec",
        "annotations",
        "process",
        "record",
        "incremental",
        "numeric",
        "outcomes",
        "timing",
        "patterns",
        "bonds",
    }
    assert exported == set(resolution.__all__)
    assert callable(resolution.evaluate) and callable(resolution.lint)


def test_duplicate_ids_refused_by_evaluate() -> None:
    from augury.domain.resolution import evaluate

    spec = war_map_spec()
    twin = msgspec.structs.replace(spec, sources=(spec.sources[0], spec.sources[0]))
    with pytest.raises(ValueError, match="duplicate source ids"):
        evaluate(twin, [], T_OBS)


def test_the_documented_example_is_the_war_map_spec() -> None:
    from pathlib import Path

    doc = Path(__file__).parents[3] / "docs" / "resolution.md"
    text = doc.read_text(encoding="utf-8")
    example = text.split("```json\n", 1)[1].split("```", 1)[0]
    assert decode_spec(example) == war_map_spec()
