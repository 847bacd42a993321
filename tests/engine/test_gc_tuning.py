"""The engine raises CPython's GC thresholds from the running release's own defaults,
unless someone already chose their own."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator

import pytest

from augury.engine.gc_tuning import CPYTHON_DEFAULTS, ENGINE_THRESHOLDS, tune_gc


@pytest.fixture(autouse=True)
def restore_thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


@pytest.mark.parametrize("release", sorted(CPYTHON_DEFAULTS))
def test_each_releases_defaults_are_raised_for_the_engine(release: tuple[int, int]) -> None:
    gc.set_threshold(*CPYTHON_DEFAULTS[release])
    assert tune_gc(release) is True
    assert gc.get_threshold() == ENGINE_THRESHOLDS


def test_python_3_13s_defaults_are_its_own() -> None:
    """3.13 starts at (2000, 10, 10): tuning only 3.11's (700, 10, 10) did nothing there."""
    gc.set_threshold(2000, 10, 10)
    assert tune_gc((3, 13)) is True
    gc.set_threshold(700, 10, 10)
    assert tune_gc((3, 13)) is False


def test_an_operators_own_thresholds_are_kept() -> None:
    gc.set_threshold(1_234, 5, 6)
    assert tune_gc() is False
    assert gc.get_threshold() == (1_234, 5, 6)


def test_an_unmeasured_release_is_left_alone() -> None:
    gc.set_threshold(700, 10, 10)
    assert tune_gc((3, 99)) is False
    assert gc.get_threshold() == (700, 10, 10)


def test_a_fresh_interpreter_of_this_release_is_tuned() -> None:
    """The table holds this interpreter's real defaults (fails on a release it lacks)."""
    code = (
        "import gc\nfrom augury.engine.gc_tuning import tune_gc\n"
        "print(tune_gc(), gc.get_threshold())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split(maxsplit=1) == ["True", f"{ENGINE_THRESHOLDS}\n"]
