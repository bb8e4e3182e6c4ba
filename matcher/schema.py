"""The records a matcher reads: pairs given as RecordPairs or as record tuples."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from data import RecordPairs

__all__ = ["PairsLike", "as_records"]

PairsLike = RecordPairs | Sequence[tuple[Mapping[str, "str | None"], Mapping[str, "str | None"]]]
"""What scoring takes: :class:`~data.RecordPairs` or ``(left, right)`` record tuples."""


def as_records(pairs: PairsLike) -> list[tuple[dict[str, str | None], dict[str, str | None]]]:
    """``(left_record, right_record)`` tuples from RecordPairs or a sequence of them."""
    if isinstance(pairs, RecordPairs):
        return list(pairs.records())
    out = []
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, tuple | list) and len(pair) == 2):
            raise TypeError(
                f"pair {i} is a {type(pair).__name__}; pass RecordPairs or (left, right) "
                "tuples of records (attribute -> value dicts)"
            )
        out.append((dict(pair[0]), dict(pair[1])))
    return out
