from __future__ import annotations

import numpy as np
import pytest

from matcher.training import AUGMENTATIONS, _batches, _pos_weight, augment_pair

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
