"""The followers' pace: the gap between batches grows while the feed is busy."""

from __future__ import annotations

import pytest

from augury.roles.pacing import LEAST_S, MOST_S, Pace


def test_the_gap_doubles_while_busy_up_to_the_most_and_a_quiet_batch_resets_it() -> None:
    pace = Pace(0.002, 0.010)
    assert pace.gap_s == 0.002  # after a pause (and at the start): the least
    assert [pace.busy() for _ in range(4)] == [0.004, 0.008, 0.010, 0.010]
    assert pace.quiet() == 0.002 and pace.gap_s == 0.002
    assert pace.busy() == 0.004


def test_defaults_and_bounds() -> None:
    assert Pace().gap_s == LEAST_S < MOST_S
    assert Pace(1.0, 1.0).busy() == 1.0
    with pytest.raises(AssertionError):
        Pace(0.01, 0.002)


def test_a_gathering_is_busy_if_records_came_soon_or_kept_coming() -> None:
    pace = Pace(0.002, 0.010)
    assert pace.gathered(waited_s=0.5, more=False) == 0.002  # after a pause, alone: quiet
    assert pace.gathered(waited_s=0.5, more=True) == 0.004  # more came while gathering
    assert pace.gathered(waited_s=0.007, more=False) == 0.008  # the next came within 10 ms
    assert pace.gathered(waited_s=0.010, more=False) == 0.002  # not within: quiet again
