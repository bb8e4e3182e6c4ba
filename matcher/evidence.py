"""Whether two records share any evidence: an attribute non-empty on both sides.

Two records that share no such attribute give a matcher nothing to compare
(two blank records, or a record with only a title next to one with only a
price). "No evidence, no merge": the pipeline decides such pairs "no match"
whatever the score, and training shows the matcher such pairs as non-matches
(:func:`matcher.augmentation.blank_pairs`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from data import RecordPairs

__all__ = ["is_empty", "shared_evidence", "shared_evidence_mask"]


def is_empty(value: object) -> bool:
    """``None``, ``NaN`` or a string of only whitespace."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return bool(pd.isna(value)) if np.ndim(value) == 0 else False


def shared_evidence(
    left: Mapping[str, object],
    right: Mapping[str, object],
    attributes: Sequence[str] | None = None,
) -> bool:
    """Whether some attribute is non-empty in both records.

    Args:
        left, right: records (attribute -> value); an absent attribute is empty.
        attributes: the attributes to look at (a model's
            :attr:`~matcher.Matcher.attributes_`); ``None``: every attribute of
            either record.
    """
    names = list(left) + [a for a in right if a not in left] if attributes is None else attributes
    return any(not is_empty(left.get(a)) and not is_empty(right.get(a)) for a in names)


def _filled(table: pd.DataFrame, attributes: Sequence[str]) -> pd.DataFrame:
    """One bool column per attribute: the value is non-empty (False where the column is absent)."""
    out = {}
    for a in attributes:
        if a in table.columns:
            values = table[a]
            out[a] = values.notna() & (values.astype(str).str.strip() != "")
        else:
            out[a] = pd.Series(False, index=table.index)
    return pd.DataFrame(out, index=table.index, columns=list(attributes))


def shared_evidence_mask(pairs: RecordPairs, attributes: Sequence[str] | None = None) -> np.ndarray:
    """:func:`shared_evidence` for every pair of ``pairs``, as a bool array.

    ``attributes=None`` looks at every attribute of either table
    (:attr:`RecordPairs.attributes <data.RecordPairs.attributes>`).
    """
    names = pairs.attributes if attributes is None else list(attributes)
    if not len(pairs) or not names:
        return np.zeros(len(pairs), dtype=bool)
    left = _filled_at(pairs.left, names, pairs.pairs["ltable_id"])
    right = _filled_at(pairs.right, names, pairs.pairs["rtable_id"])
    return (left & right).any(axis=1)


def _filled_at(table: pd.DataFrame, attributes: Sequence[str], ids: pd.Series) -> np.ndarray:
    """:func:`_filled` of the records at ``ids``, row per id.

    Only the records the pairs name are looked at (once each), so one pair
    against a table of millions costs one row, not the whole table.
    """
    used = pd.unique(ids.to_numpy())
    rows = table.loc[used]
    if len(rows) != len(used):
        twice = rows.index[rows.index.duplicated()].unique().tolist()[:5]
        raise ValueError(f"record ids {twice} appear more than once in a table; ids must be unique")
    filled = _filled(rows, attributes).to_numpy(dtype=bool)
    return filled[pd.Index(used).get_indexer(ids.to_numpy())]
