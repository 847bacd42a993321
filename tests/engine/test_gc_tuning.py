"""The engine raises CPython's GC thresholds, unless someone already chose their own."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from augury.engine.gc_tuning import ENGINE_THRESHOLDS, PYTHON_DEFAULT, tune_gc


@pytest.fixture(autouse=True)
def restore_thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_defaults_are_raised_for_the_engine() -> None:
    gc.set_threshold(*PYTHON_DEFAULT)
    assert tune_gc() is True
    assert gc.get_threshold() == ENGINE_THRESHOLDS


def test_an_operators_own_thresholds_are_kept() -> None:
    gc.set_threshold(1_234, 5, 6)
    assert tune_gc() is False
    assert gc.get_threshold() == (1_234, 5, 6)
