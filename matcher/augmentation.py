"""Training-time copies of pairs: Ditto's operators and blanked-evidence pairs.

:func:`augment_pair` replaces a pair by a perturbed copy (Ditto's ``swap``,
``shuffle``, ``span_del``, ``attr_del``). :func:`blank_pairs` adds pairs that
teach "no evidence, no merge": a matcher scores two records by what they
share, so two blank records (whose texts are identical) must not look like a
match. It draws, from the training pairs:

- *no-evidence* pairs, labelled 0: all-empty pairs (every attribute empty on
  both sides) and *one-sided* copies, where every attribute non-empty on both
  sides is blanked on one side (chosen at random), so the two share nothing;
- *blanked* copies: one or more attributes blanked on both sides. A
  non-match stays a non-match; a match stays a match only while another
  attribute is non-empty on both sides (:func:`~matcher.evidence.shared_evidence`),
  and is labelled 0 otherwise, like every pair without shared evidence.

With ``sources="non_matches"`` the one-sided and blanked copies are drawn from
the non-matches only, so every label is certain: a match blanked down to a
weak attribute (a price alone) is never asserted a match, and a match whose
evidence sits in different fields on the two sides is never asserted a
non-match. The all-empty pairs are the same either way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from matcher.evidence import is_empty, shared_evidence

__all__ = [
    "AUGMENTATIONS",
    "BLANK_KINDS",
    "BLANK_SOURCES",
    "BlankedPairs",
    "augment_pair",
    "blank_pairs",
]

AUGMENTATIONS = ("swap", "shuffle", "span_del", "attr_del")
BLANK_KINDS = ("empty", "one_sided", "blanked")
BLANK_SOURCES = ("all", "non_matches")
NO_EVIDENCE_SHARE = 0.5
"""Share of :func:`blank_pairs`' output that is no-evidence pairs (at least one)."""
Record = dict[str, "str | None"]


def augment_pair(
    left: Record, right: Record, op: str, attributes: Sequence[str], rng: np.random.Generator
) -> tuple[Record, Record, list[str] | None]:
    """One augmented copy of a pair, as Ditto's operators do.

    ``swap`` exchanges the records (the score should be symmetric), ``shuffle``
    permutes the attribute order, ``span_del`` deletes a run of words from one
    value, ``attr_del`` empties one attribute on one side. Returns the records
    and the attribute order to serialize them in (``None``: the default).
    """
    left, right = dict(left), dict(right)
    if op == "swap":
        return right, left, None
    if op == "shuffle":
        return left, right, [attributes[i] for i in rng.permutation(len(attributes))]
    if op in ("span_del", "attr_del"):
        sides = [(rec, a) for rec in (left, right) for a in attributes if rec.get(a)]
        if not sides:
            return left, right, None
        rec, attr = sides[int(rng.integers(len(sides)))]
        if op == "attr_del":
            rec[attr] = None
            return left, right, None
        words = str(rec[attr]).split()
        if len(words) > 1:
            n = int(rng.integers(1, max(2, len(words) // 4 + 1)))
            s = int(rng.integers(0, len(words) - n + 1))
            rec[attr] = " ".join(words[:s] + words[s + n :])
        return left, right, None
    raise ValueError(f"unknown augmentation {op!r}; choose from {AUGMENTATIONS}")


@dataclass(frozen=True)
class BlankedPairs:
    """Pairs drawn by :func:`blank_pairs`.

    Attributes:
        records: ``(left, right)`` records over the attributes given.
        labels: 0/1 per pair (``int8``).
        kinds: per pair, one of :data:`BLANK_KINDS`.
        source: per pair, the position of the training pair it copies (-1 for
            an all-empty pair).
    """

    records: list[tuple[Record, Record]]
    labels: np.ndarray
    kinds: tuple[str, ...]
    source: np.ndarray

    def __len__(self) -> int:
        return len(self.records)


def blank_pairs(
    records: Sequence[tuple[Record, Record]],
    labels: Sequence[int] | np.ndarray,
    attributes: Sequence[str],
    *,
    n: int,
    rng: np.random.Generator,
    sources: Literal["all", "non_matches"] = "all",
) -> BlankedPairs:
    """``n`` pairs without some (or all) of their evidence, drawn from ``records``.

    Half of them (at least one) are no-evidence pairs, labelled 0: a quarter
    of those (at least one) all-empty, the others one-sided copies. The
    rest are blanked copies, each with ``k >= 1`` attributes that are non-empty
    on some side blanked on both (``k`` geometric, mean about 2, at most all of
    them), labelled as the module docstring says. ``sources`` picks the pairs
    copied: ``"all"`` or ``"non_matches"`` (see the module docstring). The inputs
    are not modified.

    Raises:
        ValueError: ``n`` is negative, ``attributes`` is empty, ``sources`` is
            unknown, or there is no pair to copy while ``n`` asks for copies.
    """
    if n < 0:
        raise ValueError(f"n must be at least 0, got {n}")
    attributes = list(attributes)
    if not attributes:
        raise ValueError("attributes is empty; pass the attributes the records are serialized with")
    labels = np.asarray(labels, dtype=int)
    if len(labels) != len(records):
        raise ValueError(f"got {len(labels)} labels for {len(records)} pairs")
    if sources not in BLANK_SOURCES:
        raise ValueError(f"sources must be one of {BLANK_SOURCES}, got {sources!r}")
    pool = np.arange(len(records)) if sources == "all" else np.flatnonzero(labels != 1)
    n_none = min(n, max(1, round(n * NO_EVIDENCE_SHARE))) if n else 0
    n_empty = min(n_none, max(1, math.ceil(n_none / 4))) if n_none else 0
    if n > n_empty and not len(pool):
        raise ValueError(
            "no pair to copy: blanked copies need training pairs"
            + (" that are non-matches" if sources == "non_matches" else "")
        )
    out: list[tuple[Record, Record]] = []
    out_labels: list[int] = []
    kinds: list[str] = []
    source: list[int] = []
    blank = dict.fromkeys(attributes)
    for _ in range(n_empty):
        out.append((dict(blank), dict(blank)))
        out_labels.append(0)
        kinds.append("empty")
        source.append(-1)
    picks = pool[rng.integers(len(pool), size=n - n_empty)] if n > n_empty else []
    for j, i in enumerate(picks):
        a, b = records[int(i)]
        left = {k: a.get(k) for k in attributes}
        right = {k: b.get(k) for k in attributes}
        if j < n_none - n_empty:
            for k in attributes:
                if not is_empty(left[k]) and not is_empty(right[k]):
                    (left if rng.random() < 0.5 else right)[k] = None
            kind, label = "one_sided", 0
        else:
            filled = [k for k in attributes if not (is_empty(left[k]) and is_empty(right[k]))]
            if filled:
                size = min(len(filled), int(rng.geometric(0.5)))
                for k in rng.choice(filled, size=size, replace=False):
                    left[str(k)] = right[str(k)] = None
            kind = "blanked"
            label = int(labels[int(i)] == 1 and shared_evidence(left, right, attributes))
        out.append((left, right))
        out_labels.append(label)
        kinds.append(kind)
        source.append(int(i))
    return BlankedPairs(
        records=out,
        labels=np.asarray(out_labels, dtype=np.int8),
        kinds=tuple(kinds),
        source=np.asarray(source, dtype=int),
    )
