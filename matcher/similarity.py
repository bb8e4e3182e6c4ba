"""Per-field similarity features of record pairs: the cascade's cheap inputs.

For every attribute of a model's schema, :class:`SimilarityFeatures` measures
the two values of a pair with rapidfuzz (token-set ratio, ratio, partial
ratio, scaled to [0, 1]), exact agreement after normalisation, numeric
agreement (the Jaccard share of the numbers, whether the two sides share a
model-number-like code such as ``WH-1000XM4``, and whether numbers or codes
conflict: both sides have some, none shared) and whether each side is empty;
two record-level features compare all values together.
A missing value gives 0 for every similarity of its attribute and 1 for its
missing flag.

Features are named ``"<attribute>:<kind>"`` (``"(record):<kind>"`` for the
record-level ones), in a fixed order that :meth:`SimilarityFeatures.names`
gives and a saved cascade stores. Values are normalised once per distinct
record value, and the string scores run through
:func:`rapidfuzz.process.cpdist` over aligned lists, so 10^5 pairs take seconds.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data import RecordPairs
from matcher.codes import CODE, is_code

__all__ = ["ATTRIBUTE_KINDS", "RECORD", "RECORD_KINDS", "SimilarityFeatures", "normalise_value"]

ATTRIBUTE_KINDS = (
    "token_set",
    "ratio",
    "partial",
    "exact",
    "num_shared",
    "num_conflict",
    "code_shared",
    "code_conflict",
    "left_missing",
    "right_missing",
)
"""The features of each attribute, in order."""

RECORD = "(record)"
"""The group name of the features that compare whole records."""

RECORD_KINDS = ("token_set", "num_shared")
"""The record-level features, after every attribute's."""

_PARTIAL_CHARS = 64
_PUNCT = re.compile(r"[^\w\s.]|_|(?<!\d)\.|\.(?!\d)")
_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_DIGIT = re.compile(r"\d")


def normalise_value(value: object) -> str:
    """A value as the features compare it: NFKC, case-folded, punctuation as
    spaces (a point inside a number stays), white space collapsed; ``""`` when
    missing (``None``, ``NaN``, blank)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    text = unicodedata.normalize("NFKC", str(value)).casefold()
    return _SPACE.sub(" ", _PUNCT.sub(" ", text)).strip()


def _numbers(text: str) -> frozenset[str]:
    """The numbers in a normalised value (``"2.50"`` and ``"2.5"`` are one)."""
    out = set()
    for n in _NUMBER.findall(text):
        if "." in n:
            n = n.rstrip("0").rstrip(".")
        out.add(n.lstrip("0") or "0")
    return frozenset(out)


def _codes(raw: str) -> frozenset[str]:
    """Model-number-like tokens of a raw value, read with their separators dropped
    (``"WH-1000XM4"`` -> ``"wh1000xm4"``); a short word next to a number also
    counts joined (``"WH 1000XM4"`` -> ``"wh1000xm4"``, ``"40 in"`` -> ``"40in"``),
    so the two spellings share a code."""
    if not _DIGIT.search(raw):
        return frozenset()
    tokens = [
        t.replace("-", "").replace("/", "").replace(".", "")
        for t in CODE.findall(unicodedata.normalize("NFKC", raw).casefold())
    ]
    out = {t for t in tokens if is_code(t)}
    for a, b in itertools.pairwise(tokens):
        short = (a.isalpha() and len(a) <= 3) or (b.isalpha() and len(b) <= 3)
        if short and is_code(a + b):
            out.add(a + b)
    return frozenset(out)


@dataclass(frozen=True)
class _Values:
    """One attribute's values on one side of the pairs, aligned with the pairs."""

    text: np.ndarray  # normalised strings, "" when missing
    missing: np.ndarray  # bool
    numbers: np.ndarray  # frozensets
    codes: np.ndarray  # frozensets


def _objects(items: Sequence[object]) -> np.ndarray:
    """A 1-d object array of ``items`` (numpy never unpacks them)."""
    out = np.empty(len(items), dtype=object)
    out[:] = list(items)
    return out


def _side(table: pd.DataFrame, ids: pd.Series, attribute: str) -> _Values:
    """Normalise each distinct record once, then align with the pairs' ids."""
    n = len(ids)
    if attribute not in table.columns:
        empty = _objects([frozenset()] * n)
        return _Values(_objects([""] * n), np.ones(n, dtype=bool), empty, empty)
    used = pd.unique(ids.to_numpy())
    raw = table[attribute].loc[used]
    missing = raw.isna().to_numpy() | (raw.astype(str).str.strip() == "").to_numpy()
    raw_text = ["" if m else str(v) for v, m in zip(raw.to_numpy(), missing)]
    text = [normalise_value(v) for v in raw_text]
    position = pd.Index(used).get_indexer(ids.to_numpy())
    return _Values(
        text=_objects(text)[position],
        missing=missing[position],
        numbers=_objects([_numbers(t) for t in text])[position],
        codes=_objects([_codes(t) for t in raw_text])[position],
    )


def _fuzzy(left: np.ndarray, right: np.ndarray, scorer: object, workers: int) -> np.ndarray:
    from rapidfuzz import process

    if not len(left):
        return np.zeros(0, dtype=np.float32)
    scores = process.cpdist(
        list(left), list(right), scorer=scorer, dtype=np.float32, workers=workers
    )
    return np.asarray(scores, dtype=np.float32).ravel() / 100.0


def _set_agreement(
    left: np.ndarray, right: np.ndarray, *, any_shared: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """How much the two sides' sets agree (Jaccard share, or 1 when ``any_shared``
    and they share one), and 1 where both have some but share none."""
    shared = np.zeros(len(left), dtype=np.float32)
    conflict = np.zeros(len(left), dtype=np.float32)
    for i, (a, b) in enumerate(zip(left, right)):
        if a and b:
            common = len(a & b)
            shared[i] = float(common > 0) if any_shared else common / len(a | b)
            conflict[i] = common == 0
    return shared, conflict


class SimilarityFeatures:
    """Per-attribute similarity features of record pairs (see the module docstring).

    Args:
        attributes: the attributes to compare, in order (a model's
            :attr:`~matcher.Matcher.attributes_`). An attribute a table lacks
            counts as missing on that side.
        max_chars: values are cut to this many characters for the ratio, and
            to at most 64 for the partial ratio (the token-set ratio reads whole
            values); bounds the cost of long descriptions (rapidfuzz's partial
            ratio is fast while the shorter string fits 64 characters, and
            hundreds of times slower on two long ones).
        workers: rapidfuzz worker threads (-1: all cores).
    """

    def __init__(
        self, attributes: Sequence[str], *, max_chars: int = 256, workers: int = 1
    ) -> None:
        attributes = [str(a) for a in attributes]
        if not attributes:
            raise ValueError("attributes is empty; name the attributes to compare")
        if len(set(attributes)) != len(attributes):
            raise ValueError(f"attributes has duplicates: {attributes}")
        if RECORD in attributes:
            raise ValueError(f"{RECORD!r} is reserved for the record-level features")
        if max_chars < 1:
            raise ValueError(f"max_chars must be positive, got {max_chars}")
        self.attributes = attributes
        self.max_chars = max_chars
        self.workers = workers

    @property
    def names(self) -> list[str]:
        """The feature names, in column order."""
        return [f"{a}:{k}" for a, k in zip(self.groups, self.kinds)]

    @property
    def groups(self) -> list[str]:
        """The attribute of each feature (:data:`RECORD` for the record-level ones)."""
        per = [a for a in self.attributes for _ in ATTRIBUTE_KINDS]
        return per + [RECORD] * len(RECORD_KINDS)

    @property
    def kinds(self) -> list[str]:
        """The kind of each feature (from :data:`ATTRIBUTE_KINDS`, then :data:`RECORD_KINDS`)."""
        return list(ATTRIBUTE_KINDS) * len(self.attributes) + list(RECORD_KINDS)

    def transform(self, pairs: RecordPairs) -> np.ndarray:
        """The features of every pair: ``float32``, shape ``[len(pairs), len(names)]``."""
        from rapidfuzz import fuzz

        if not isinstance(pairs, RecordPairs):
            raise TypeError(f"transform takes RecordPairs, got {type(pairs).__name__}")
        n, cut, tiny = len(pairs), self.max_chars, min(self.max_chars, _PARTIAL_CHARS)
        lids, rids = pairs.pairs["ltable_id"], pairs.pairs["rtable_id"]
        columns: list[np.ndarray] = []
        texts_l, texts_r, nums_l, nums_r = [], [], [], []
        for attribute in self.attributes:
            a = _side(pairs.left, lids, attribute)
            b = _side(pairs.right, rids, attribute)
            either = a.missing | b.missing
            short_a, short_b = (
                _objects([t[:cut] for t in a.text]),
                _objects([t[:cut] for t in b.text]),
            )
            part_a, part_b = (
                _objects([t[:tiny] for t in a.text]),
                _objects([t[:tiny] for t in b.text]),
            )
            scores = [
                _fuzzy(a.text, b.text, fuzz.token_set_ratio, self.workers),
                _fuzzy(short_a, short_b, fuzz.ratio, self.workers),
                _fuzzy(part_a, part_b, fuzz.partial_ratio, self.workers),
                ((a.text == b.text) & (a.text != "")).astype(np.float32),
            ]
            scores = [np.where(either, 0.0, s).astype(np.float32) for s in scores]
            columns += scores
            columns += _set_agreement(a.numbers, b.numbers)
            columns += _set_agreement(a.codes, b.codes, any_shared=True)
            columns += [a.missing.astype(np.float32), b.missing.astype(np.float32)]
            texts_l.append(a.text)
            texts_r.append(b.text)
            nums_l.append(a.numbers)
            nums_r.append(b.numbers)
        if not n:
            return np.zeros((0, len(self.names)), dtype=np.float32)
        whole_l = _objects([" ".join(t for t in row if t) for row in zip(*texts_l)])
        whole_r = _objects([" ".join(t for t in row if t) for row in zip(*texts_r)])
        columns.append(_fuzzy(whole_l, whole_r, fuzz.token_set_ratio, self.workers))
        union_l = _objects([frozenset().union(*row) for row in zip(*nums_l)])
        union_r = _objects([frozenset().union(*row) for row in zip(*nums_r)])
        columns.append(_set_agreement(union_l, union_r)[0])
        return np.column_stack(columns).astype(np.float32, copy=False)

    def to_frame(self, pairs: RecordPairs) -> pd.DataFrame:
        """:meth:`transform` as a DataFrame with the feature names as columns."""
        return pd.DataFrame(self.transform(pairs), columns=self.names)

    def to_dict(self) -> dict:
        """The settings and feature names, for saving with a cascade."""
        return {
            "attributes": list(self.attributes),
            "max_chars": self.max_chars,
            "names": self.names,
        }

    @classmethod
    def from_dict(cls, data: dict, *, workers: int = 1) -> SimilarityFeatures:
        """Rebuild from :meth:`to_dict`.

        Raises:
            ValueError: the stored feature names are not the ones this version
                computes (the cascade was saved by a BEM with other features).
        """
        features = cls(
            data["attributes"], max_chars=int(data.get("max_chars", 256)), workers=workers
        )
        stored = data.get("names")
        if stored is not None and list(stored) != features.names:
            raise ValueError(
                "the stored similarity features are not the ones this BEM computes "
                f"(stored {len(stored)}, computed {len(features.names)}); refit the cascade"
            )
        return features
