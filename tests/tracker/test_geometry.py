"""The one gated Hungarian assignment every matcher uses."""
from __future__ import annotations

import itertools

import numpy as np

from tracker.geometry import gated_assignment, match_boxes


def _best_total(scores: np.ndarray, allowed: np.ndarray) -> float:
    """Brute force: the largest total score of a one-to-one matching among allowed pairs."""
    rows, cols = scores.shape
    best = 0.0
    for k in range(min(rows, cols) + 1):
        for chosen_rows in itertools.combinations(range(rows), k):
            for chosen_cols in itertools.permutations(range(cols), k):
                pairs = list(zip(chosen_rows, chosen_cols))
                if all(allowed[p] for p in pairs):
                    best = max(best, sum(scores[p] for p in pairs))
    return best


def test_a_pair_below_the_gate_never_displaces_a_valid_one() -> None:
    iou = np.array([[0.0, 0.001, 0.266], [0.0, 0.117, 0.318]])
    assert gated_assignment(iou, iou >= 0.3) == [(1, 2)]


def test_gated_assignment_is_the_best_matching_among_allowed_pairs() -> None:
    rng = np.random.default_rng(0)
    for _ in range(400):
        shape = tuple(rng.integers(1, 5, size=2))
        scores = rng.random(shape) * rng.integers(0, 2, size=shape)
        allowed = scores >= 0.3
        pairs = gated_assignment(scores, allowed)
        assert all(allowed[p] for p in pairs)
        assert len({r for r, _ in pairs}) == len({c for _, c in pairs}) == len(pairs)
        assert np.isclose(sum(scores[p] for p in pairs), _best_total(scores, allowed))


def test_match_boxes_gate_is_inclusive() -> None:
    track = np.array([[0, 0, 10, 10]])
    assert match_boxes(track, np.array([[0, 0, 10, 3]]), 0.3) == [(0, 0)]  # IoU 0.3 exactly: matched
    assert match_boxes(track, np.array([[0, 0, 10, 2.9]]), 0.3) == []
    assert match_boxes(np.zeros((0, 4)), np.array([[0, 0, 1, 1]]), 0.3) == []
