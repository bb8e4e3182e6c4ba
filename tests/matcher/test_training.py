from __future__ import annotations

import numpy as np
import pytest

from matcher.augmentation import AUGMENTATIONS, BLANK_KINDS, augment_pair, blank_pairs
from matcher.evidence import shared_evidence
from matcher.training import _batches, _pos_weight

LEFT = {"title": "sony bravia kdl 40 inch lcd tv", "price": "499"}
RIGHT = {"title": "sony kdl40 lcd", "price": None}


@pytest.mark.parametrize("op", AUGMENTATIONS)
def test_augment_pair_keeps_the_inputs_intact(op):
    rng = np.random.default_rng(0)
    left, right = dict(LEFT), dict(RIGHT)
    a, b, order = augment_pair(left, right, op, ["title", "price"], rng)
    assert left == LEFT and right == RIGHT
    if op == "swap":
        assert (a, b, order) == (RIGHT, LEFT, None)
    elif op == "shuffle":
        assert sorted(order) == ["price", "title"] and (a, b) == (LEFT, RIGHT)
    elif op == "span_del":
        changed = [k for k in ("title", "price") if a[k] != LEFT[k]] + [
            k for k in ("title",) if b[k] != RIGHT[k]
        ]
        assert len(changed) <= 1
        for rec, orig in ((a, LEFT), (b, RIGHT)):
            words = (rec["title"] or "").split()
            assert set(words) <= set(orig["title"].split())
    else:
        nones = sum(v is None for v in [*a.values(), *b.values()])
        assert nones == 2


def test_unknown_augmentation():
    with pytest.raises(ValueError, match="unknown augmentation"):
        augment_pair(LEFT, RIGHT, "mix", ["title"], np.random.default_rng(0))


def test_pos_weight():
    labels = np.array([1] + [0] * 9)
    assert _pos_weight(labels, None) == 1.0
    assert _pos_weight(labels, "balanced") == 9.0
    assert _pos_weight(labels, "sqrt") == pytest.approx(3.0)
    assert _pos_weight(labels, 2.5) == 2.5


def test_batches_cover_every_index_once_and_group_lengths():
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 100, size=1000)
    batches = _batches(lengths, 10, np.random.default_rng(1))
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(1000))
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    assert spread < np.ptp(lengths) / 4


ATTRS = ["title", "brand", "price"]
TRAIN = [
    ({"title": "sony tv", "brand": "sony", "price": "499"}, {"title": "sony kdl", "brand": "sony"}),
    ({"title": "lg oled", "brand": None, "price": "999"}, {"title": "lg c1", "brand": None}),
    ({"title": "apple ipad", "brand": "apple", "price": None}, {"title": "ipad", "brand": None}),
    ({"title": "dell xps", "brand": "dell", "price": "1"}, {"title": "hp spectre", "brand": "hp"}),
]
LABELS = [1, 1, 1, 0]


def test_blank_pairs_are_the_intended_pairs():
    out = blank_pairs(TRAIN, LABELS, ATTRS, n=40, rng=np.random.default_rng(3))
    assert len(out) == 40 and set(out.kinds) == set(BLANK_KINDS)
    counts = {k: out.kinds.count(k) for k in BLANK_KINDS}
    assert counts == {"empty": 5, "one_sided": 15, "blanked": 20}
    for (left, right), label, kind, src in zip(out.records, out.labels, out.kinds, out.source):
        assert list(left) == ATTRS and list(right) == ATTRS
        if kind == "empty":
            assert src == -1 and label == 0
            assert all(v is None for v in [*left.values(), *right.values()])
            continue
        a, b = TRAIN[src]
        changed = {k for k in ATTRS if (left[k], right[k]) != (a.get(k), b.get(k))}
        if kind == "one_sided":  # every shared attribute blanked on exactly one side
            assert label == 0 and not shared_evidence(left, right, ATTRS)
            for k in ATTRS:
                if a.get(k) and b.get(k):
                    assert (left[k] is None) != (right[k] is None)
                else:
                    assert (left[k], right[k]) == (a.get(k), b.get(k))
        else:  # blanked on both sides; a match only while other evidence remains
            assert changed and all(left[k] is None and right[k] is None for k in changed)
            expected = int(LABELS[src] == 1 and shared_evidence(left, right, ATTRS))
            assert label == expected
    blanked = [i for i, k in enumerate(out.kinds) if k == "blanked"]
    assert any(LABELS[out.source[i]] == 1 and out.labels[i] == 1 for i in blanked)
    assert any(LABELS[out.source[i]] == 1 and out.labels[i] == 0 for i in blanked)
    assert all(out.labels[i] == 0 for i in blanked if LABELS[out.source[i]] == 0)
    assert TRAIN[0][1] == {"title": "sony kdl", "brand": "sony"}  # inputs untouched


def test_blank_pairs_from_non_matches_only_carry_certain_labels():
    out = blank_pairs(
        TRAIN, LABELS, ATTRS, n=40, rng=np.random.default_rng(3), sources="non_matches"
    )
    assert len(out) == 40 and out.kinds.count("empty") == 5
    copied = out.source[out.source >= 0]
    assert len(copied) == 35 and set(copied.tolist()) == {3}  # the only non-match
    assert out.labels.tolist() == [0] * 40
    # the default draws exactly as before the option existed
    a = blank_pairs(TRAIN, LABELS, ATTRS, n=40, rng=np.random.default_rng(3))
    b = blank_pairs(TRAIN, LABELS, ATTRS, n=40, rng=np.random.default_rng(3), sources="all")
    assert a.records == b.records
    with pytest.raises(ValueError, match="sources"):
        blank_pairs(TRAIN, LABELS, ATTRS, n=3, rng=np.random.default_rng(0), sources="some")
    with pytest.raises(ValueError, match="non-matches"):
        blank_pairs(TRAIN[:3], LABELS[:3], ATTRS, n=3, rng=np.random.default_rng(0),
                    sources="non_matches")  # fmt: skip


def test_blank_pairs_are_deterministic_by_seed():
    def draw(seed):
        return blank_pairs(TRAIN, LABELS, ATTRS, n=12, rng=np.random.default_rng(seed))

    a, b, c = draw(0), draw(0), draw(1)
    assert a.records == b.records and a.kinds == b.kinds
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.records != c.records


def test_blank_pairs_small_and_bad_counts():
    one = blank_pairs(TRAIN, LABELS, ATTRS, n=1, rng=np.random.default_rng(0))
    assert one.kinds == ("empty",) and one.labels.tolist() == [0]
    assert len(blank_pairs(TRAIN, LABELS, ATTRS, n=0, rng=np.random.default_rng(0))) == 0
    with pytest.raises(ValueError, match="n must be"):
        blank_pairs(TRAIN, LABELS, ATTRS, n=-1, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="attributes is empty"):
        blank_pairs(TRAIN, LABELS, [], n=3, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="labels"):
        blank_pairs(TRAIN, LABELS[:2], ATTRS, n=3, rng=np.random.default_rng(0))
