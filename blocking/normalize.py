"""Keys and key normalizers.

A blocking key is the text a blocker compares: one or more attributes of a
record, joined, and passed through a chain of normalizers. A normalizer is any
callable ``str -> str``; the ones here are also addressable by name so that a
chain can be written as ``normalizers=("fold", "punct", "units")``. A normalizer
that has to learn from the data (:class:`StopTokens`) has a ``fit(texts)`` method
returning a fitted copy; :class:`Key` fits it on every table it keys.

Missing values: a missing attribute contributes nothing to the key; a record
whose key attributes are all missing gets the empty key ``""``, and blockers give
a record with an empty key no candidates (it is never silently paired with
another empty record).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from data.errors import BemError

__all__ = [
    "DEFAULT_NORMALIZERS",
    "Key",
    "Normalizer",
    "StopTokens",
    "alphanumeric_codes",
    "fold_accents",
    "fold_case",
    "join_units",
    "normalizer",
    "sort_tokens",
    "strip_punctuation",
]

Normalizer = Callable[[str], str]
"""A key normalizer: any callable from text to text."""


@runtime_checkable
class FittableNormalizer(Protocol):
    """A normalizer that learns from the keyed texts before it is applied."""

    def fit(self, texts: Sequence[str]) -> Normalizer: ...


NormalizerSpec = str | Normalizer | FittableNormalizer


def fold_case(text: str) -> str:
    """Case folding (``"Sony"`` -> ``"sony"``)."""
    return text.casefold()


def fold_accents(text: str) -> str:
    """Accent and case folding, compatibility forms too (``"Café ½"`` -> ``"cafe 1/2"``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


_PUNCT = re.compile(r"[^\w\s.]|_")
_LOOSE_DOT = re.compile(r"(?<!\d)\.|\.(?!\d)")
_SPACES = re.compile(r"\s+")


def strip_punctuation(text: str) -> str:
    """Punctuation to spaces, keeping decimal points.

    ``"PS-LX350H, 2.5"`` -> ``"PS LX350H 2.5"``.
    """
    text = _LOOSE_DOT.sub(" ", _PUNCT.sub(" ", text))
    return _SPACES.sub(" ", text).strip()


_UNITS = (
    "tb|gb|mb|kb|ghz|mhz|khz|hz|mp|megapixels?|mm|cm|km|m|inch(?:es)?|in|ft|lbs?|oz|kg|g|"
    "mah|wh|kw|w|v|ma|a|x|db|ms|fps|rpm|bit|mbps|gbps|ppm|dpi|pcs?|pack|pk|l|ml"
)
_NUMBER_UNIT = re.compile(rf"(?<![\w.])(\d+(?:\.\d+)?)[\s-]*({_UNITS})\b", re.IGNORECASE)


def join_units(text: str) -> str:
    """Glue numbers to their units (``"8 GB"`` -> ``"8gb"``, ``"2.5-inch"`` -> ``"2.5inch"``)."""
    return _NUMBER_UNIT.sub(lambda m: m.group(1) + m.group(2).lower(), text)


def sort_tokens(text: str) -> str:
    """Whitespace tokens in sorted order (``"b a"`` -> ``"a b"``)."""
    return " ".join(sorted(text.split()))


_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")


def alphanumeric_codes(text: str) -> str:
    """Keep only tokens mixing letters and digits: model numbers, part codes.

    ``"sony turntable pslx350h"`` -> ``"pslx350h"``. Use it for a key of codes.
    """
    return " ".join(t for t in text.split() if _LETTER.search(t) and _DIGIT.search(t))


class StopTokens:
    """Drop tokens that occur in more than ``max_df`` of the keyed records.

    Learned from frequency: ``fit(texts)`` counts in how many texts each token
    occurs and returns a fitted copy whose ``stop_tokens_`` are those above the
    threshold. A text made only of stop tokens is kept as it is (emptying it would
    lose the record), so the filter never turns a non-empty key into ``""``.

    Args:
        max_df: fraction of records above which a token is a stop token.
        min_records: never treat a token seen in fewer records than this as a stop
            token (small tables).
        extra: tokens to always drop.
    """

    def __init__(
        self,
        max_df: float = 0.1,
        *,
        min_records: int = 5,
        extra: Iterable[str] = (),
    ) -> None:
        if not 0.0 < max_df <= 1.0:
            raise ValueError(f"max_df must be in (0, 1], got {max_df!r}")
        self.max_df = max_df
        self.min_records = min_records
        self.extra = frozenset(extra)
        self.stop_tokens_: frozenset[str] | None = None

    def fit(self, texts: Sequence[str]) -> StopTokens:
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(set(text.split()))
        limit = max(self.max_df * max(len(texts), 1), self.min_records)
        fitted = StopTokens(self.max_df, min_records=self.min_records, extra=self.extra)
        fitted.stop_tokens_ = frozenset(t for t, c in counts.items() if c > limit) | self.extra
        return fitted

    def __call__(self, text: str) -> str:
        if self.stop_tokens_ is None:
            raise ValueError("StopTokens must be fitted first: call fit(texts), or use it in a Key")
        tokens = text.split()
        kept = [t for t in tokens if t not in self.stop_tokens_]
        return " ".join(kept) if kept else text

    def __repr__(self) -> str:
        return f"StopTokens(max_df={self.max_df})"


_NAMED: dict[str, Callable[[], NormalizerSpec]] = {
    "case": lambda: fold_case,
    "fold": lambda: fold_accents,
    "punct": lambda: strip_punctuation,
    "units": lambda: join_units,
    "sort": lambda: sort_tokens,
    "codes": lambda: alphanumeric_codes,
    "stop": StopTokens,
}

DEFAULT_NORMALIZERS: tuple[str, ...] = ("fold", "punct", "units")
"""Accent/case folding, punctuation to spaces, numbers glued to units."""


def normalizer(spec: NormalizerSpec) -> NormalizerSpec:
    """Resolve a normalizer name (``"fold"``, ``"punct"``, ...) or pass a callable through."""
    if isinstance(spec, str):
        try:
            return _NAMED[spec]()
        except KeyError:
            raise ValueError(
                f"unknown normalizer {spec!r}; use one of {sorted(_NAMED)} or a callable"
            ) from None
    if not callable(spec) and not isinstance(spec, FittableNormalizer):
        raise TypeError(f"a normalizer is a name or a callable str -> str, got {spec!r}")
    return spec


class Key:
    """A blocking key: attributes joined with spaces, then normalized in order.

    Args:
        attributes: one attribute name or several; their values are joined in the
            order given (missing values are skipped).
        normalizers: the chain applied to the joined text, as names
            (``"case"``, ``"fold"``, ``"punct"``, ``"units"``, ``"sort"``,
            ``"codes"``, ``"stop"``), callables or :class:`StopTokens` instances.

    Example:
        >>> Key("title", normalizers=("fold", "punct", "units")).transform(table)
    """

    def __init__(
        self,
        attributes: str | Sequence[str],
        *,
        normalizers: Sequence[NormalizerSpec] = DEFAULT_NORMALIZERS,
    ) -> None:
        attrs = [attributes] if isinstance(attributes, str) else list(attributes)
        if not attrs or not all(isinstance(a, str) and a for a in attrs):
            raise ValueError(f"a key needs one or more attribute names, got {attributes!r}")
        self.attributes: tuple[str, ...] = tuple(attrs)
        self.normalizers: tuple[NormalizerSpec, ...] = tuple(normalizer(n) for n in normalizers)

    @classmethod
    def coerce(cls, key: Key | str | Sequence[str]) -> Key:
        """A :class:`Key` as is; attribute name(s) as a key with the default normalizers."""
        return key if isinstance(key, Key) else cls(key)

    def __repr__(self) -> str:
        steps = [getattr(n, "__name__", None) or repr(n) for n in self.normalizers]
        return f"Key({list(self.attributes)!r}, normalizers=[{', '.join(steps)}])"

    @property
    def label(self) -> str:
        """The attributes as ``"a,b"``: used in blocker names."""
        return ",".join(self.attributes)

    def raw(self, table: pd.DataFrame, *, side: str = "table") -> np.ndarray:
        """The joined attribute text per record ("" when all are missing), before normalizing.

        Raises:
            BemError: a key attribute is not a column of ``table``.
        """
        missing = [a for a in self.attributes if a not in table.columns]
        if missing:
            name = table.attrs.get("source", f"the {side} table")
            raise BemError(
                f"{name}: key attribute(s) {missing} not found; available columns are "
                f"{list(table.columns)}; pick the key from those"
            )
        parts = [
            table[a].astype(object).where(table[a].notna(), "").astype(str).str.strip()
            for a in self.attributes
        ]
        joined = parts[0]
        for part in parts[1:]:
            joined = joined.str.cat(part, sep=" ")
        return joined.str.strip().to_numpy(dtype=object)

    def transform(self, *tables: pd.DataFrame) -> list[np.ndarray]:
        """Normalized keys of every table (object arrays of ``str``, ``""`` if missing).

        Normalizers that learn from data are fitted on all the tables together, so
        both sides of a linkage share one stop-token list.
        """
        texts = [self.raw(t, side=side) for t, side in zip(tables, ("left", "right", "third"))]
        for step in self.normalizers:
            if isinstance(step, FittableNormalizer):
                step = step.fit([s for arr in texts for s in arr if s])
            texts = [np.array([step(s) if s else "" for s in arr], dtype=object) for arr in texts]
        return [np.array([_SPACES.sub(" ", s).strip() for s in arr], dtype=object) for arr in texts]
