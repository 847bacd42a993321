"""Settings: environment variables, and refusals of insecure production setups."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from augury.settings import DEFAULT_SECRET_KEY, Settings, format_instant, parse_instant_us


def test_defaults_are_for_development() -> None:
    settings = Settings()
    assert settings.mode == "development" and settings.clock == "system"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.secret_key == DEFAULT_SECRET_KEY and not settings.secure_cookies
    assert settings.starting_grant_micros == 1_000_000_000


def test_environment_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUGURY_PORT", "9001")
    monkeypatch.setenv("AUGURY_STARTING_GRANT", "12.5")
    settings = Settings()
    assert settings.port == 9001 and settings.starting_grant_micros == 12_500_000


@pytest.mark.parametrize(
    "fields",
    [
        {"mode": "production"},
        {"mode": "production", "secret_key": "short"},
        {"mode": "production", "secret_key": DEFAULT_SECRET_KEY},
        {"mode": "production", "secret_key": "k" * 40, "clock": "simulated",
         "start": "2025-11-14T00:00:00Z"},
        {"clock": "simulated"},
        {"start": "2025-11-14T00:00:00Z"},
        {"starting_grant": "-1"},
        {"starting_grant": "0.0000001"},
    ],
)  # fmt: skip
def test_refusals(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings(**fields)  # type: ignore[arg-type]


def test_production_with_a_real_secret() -> None:
    settings = Settings(mode="production", secret_key="k" * 40)
    assert settings.production and settings.secure_cookies


def test_instants() -> None:
    us = parse_instant_us("2025-11-14T00:00:00Z")
    assert us == 1_763_078_400_000_000
    assert format_instant(us) == "2025-11-14T00:00:00Z"
    assert format_instant(us + 1) == "2025-11-14T00:00:00.000001Z"
    assert parse_instant_us("2025-11-14T01:00:00+01:00") == us
    for bad in ("2025-11-14T00:00:00", "yesterday", ""):
        with pytest.raises(ValueError):
            parse_instant_us(bad)


def test_the_first_admin_takes_augury_admin_password_and_it_is_never_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.api.helpers import local_app

    secret = "a long scripted admin passphrase 42"
    services, _app, shown = local_app(tmp_path / "data", admin_password=secret)
    try:
        assert shown == []  # the callback that shows a made-up password was not called
        assert services.identity.attempt_login("admin", secret).user is not None
        assert services.identity.attempt_login("admin", "wrong").user is None
    finally:
        services.stop()
    out = capsys.readouterr().out
    assert secret not in out and "AUGURY_ADMIN_PASSWORD" in out
