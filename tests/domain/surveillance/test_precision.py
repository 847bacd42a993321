"""Precision and recall per detector over several seeds (the numbers in docs/surveillance.md).

Run ``python -m tests.domain.surveillance.test_precision`` from the repository root to
print the table.
"""

from __future__ import annotations

import pytest

from .scenarios import SCENARIOS, SEEDS, Score, score

FLOOR = {  # precision, recall
    "longshot": (0.9, 0.9),
    "affiliation": (0.9, 0.9),
    "wash": (0.9, 0.9),
    "spoofing": (0.9, 0.9),
    "spoofing_by_amending": (0.9, 0.9),  # the same spoofer, pulling by amendments
    "last_minute": (0.9, 0.7),  # misses when honest drift left the price off the extremes
    # honest accounts that bought early in the edit are named beside the planted ones
    "unconfirmed": (0.8, 0.9),
    "unconfirmed_no_change": (1.0, 1.0),  # controls: nothing may be flagged
    "unconfirmed_confirmed": (1.0, 1.0),
}


@pytest.mark.parametrize("detector", sorted(SCENARIOS))
def test_precision_and_recall(detector: str) -> None:
    result = score(detector)
    precision, recall = FLOOR[detector]
    assert result.precision >= precision, result
    assert result.recall >= recall, result
    assert result.noise_alerts <= 1, result


def table(scores: list[Score]) -> str:
    lines = [
        f"| detector | precision | recall | TP | FP | FN | noise alerts >= medium "
        f"| noise alerts low | streams ({len(SEEDS)} seeds) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in scores:
        lines.append(
            f"| {s.detector} | {s.precision:.2f} | {s.recall:.2f} | {s.tp} | {s.fp} | {s.fn} "
            f"| {s.noise_alerts} | {s.noise_low} | {s.streams} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(table([score(d) for d in SCENARIOS]))
    print()
    print(table([score(d, subtle=True) for d in SCENARIOS]))
