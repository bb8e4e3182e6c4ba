"""Which pair comes next: uncertainty, diversity, both classes, audits."""

from __future__ import annotations

import numpy as np

from bem.label.picking import margins, pick_audit, pick_uncertain, target_class


def test_margins_are_distances_in_logits():
    m = margins(np.array([0.5, 0.6, 0.99, 0.999]), 0.5)
    assert m[0] == 0 and m[1] < m[2] < m[3]


def test_target_class_asks_for_the_rarer_class_and_alternates_on_ties():
    assert target_class([]) is None
    assert target_class([0, 0, 1]) == 1
    assert target_class([1, 1, 0]) == 0
    assert target_class([1, 0]) == 1
    assert target_class([0, 1]) == 0


def _pool():
    lids = np.array(["a", "a", "b", "c", "d"], dtype=object)
    rids = np.array(["x", "y", "x", "z", "w"], dtype=object)
    probs = np.array([0.51, 0.49, 0.47, 0.9, 0.1])
    return lids, rids, probs


def test_the_most_uncertain_pair_comes_first():
    lids, rids, probs = _pool()
    available = np.ones(5, dtype=bool)
    assert pick_uncertain(probs, 0.5, available, left_ids=lids, right_ids=rids) == 0


def test_pairs_sharing_a_recent_record_wait_while_others_are_left():
    lids, rids, probs = _pool()
    available = np.array([False, True, True, True, True])
    # "a" was just asked: (a, y) waits, the closest other pair of the asked class is (b, x)
    got = pick_uncertain(
        probs, 0.5, available, left_ids=lids, right_ids=rids, recent_left=["a"], recent_classes=[1]
    )
    assert got == 2
    # with only (a, y) left it is asked anyway
    only = np.array([False, True, False, False, False])
    got = pick_uncertain(probs, 0.5, only, left_ids=lids, right_ids=rids, recent_left=["a"])
    assert got == 1


def test_the_rarer_class_among_recent_questions_is_asked_next():
    lids, rids, probs = _pool()
    available = np.array([False, True, True, True, True])
    # three predicted non-matches in a row: the closest predicted match (c, z) comes next
    got = pick_uncertain(
        probs, 0.5, available, left_ids=lids, right_ids=rids, recent_classes=[0, 0, 0]
    )
    assert got == 3


def test_audits_draw_from_the_stratum_with_fewer_answers_and_report_its_size():
    probs = np.array([0.9, 0.8, 0.1, 0.2, 0.3])
    available = np.ones(5, dtype=bool)
    rng = np.random.default_rng(0)
    i, stratum, size = pick_audit(probs, 0.5, available, audited=(0, 0), rng=rng)
    assert (stratum, size) == (1, 2) and i in (0, 1)
    i, stratum, size = pick_audit(probs, 0.5, available, audited=(0, 1), rng=rng)
    assert (stratum, size) == (0, 3) and i in (2, 3, 4)
    # an empty stratum hands over to the other one
    no_matches = np.array([False, False, True, True, True])
    assert pick_audit(probs, 0.5, no_matches, audited=(5, 0), rng=rng)[1] == 0
    assert pick_audit(probs, 0.5, np.zeros(5, dtype=bool), audited=(0, 0), rng=rng) is None
