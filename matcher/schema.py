"""The attributes a matcher reads (its schema), and getting records into that shape.

A trained matcher records the attributes it was trained on, in order
(:attr:`Matcher.attributes_ <matcher.Matcher.attributes_>`); it serializes
exactly those, in that order, whatever other columns a table has.
:func:`check_schema` says which of them a table lacks, and
:func:`rename_columns` maps a table's own column names onto them (what
``--rename model_attribute=table_column`` does on the command line).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import pandas as pd

from data import BemError, RecordPairs

__all__ = ["PairsLike", "as_records", "check_schema", "parse_renames", "rename_columns"]

logger = logging.getLogger(__name__)

PairsLike = RecordPairs | Sequence[tuple[Mapping[str, "str | None"], Mapping[str, "str | None"]]]
"""What scoring takes: :class:`~data.RecordPairs` or ``(left, right)`` record tuples."""

FIX = "rename the columns, or map them with --rename new=old"


def as_records(
    pairs: PairsLike, attributes: Sequence[str] | None = None
) -> list[tuple[dict[str, str | None], dict[str, str | None]]]:
    """``(left_record, right_record)`` tuples from RecordPairs or a sequence of them.

    With ``attributes`` every record holds exactly those attributes, in that
    order (``None`` for one it lacks); other attributes are dropped.
    """
    if isinstance(pairs, RecordPairs):
        out = list(pairs.records())
    else:
        out = []
        for i, pair in enumerate(pairs):
            if not (isinstance(pair, tuple | list) and len(pair) == 2):
                raise TypeError(
                    f"pair {i} is a {type(pair).__name__}; pass RecordPairs or (left, right) "
                    "tuples of records (attribute -> value dicts)"
                )
            out.append((dict(pair[0]), dict(pair[1])))
    if attributes is None:
        return out
    return [
        ({a: left.get(a) for a in attributes}, {a: right.get(a) for a in attributes})
        for left, right in out
    ]


def _where(table: pd.DataFrame, name: str) -> str:
    source = table.attrs.get("source")
    return f"the {name} table ({source})" if source else f"the {name} table"


def check_schema(
    table: pd.DataFrame,
    attributes: Sequence[str] | None,
    *,
    name: str = "left",
    warn: bool = True,
) -> list[str]:
    """The model attributes ``table`` has no column for, in the model's order.

    Args:
        table: a record table (one column per attribute).
        attributes: the model's attributes (``None``: a model that records none;
            nothing to check).
        name: what to call the table in messages (``"left"``, ``"right"``, ``"records"``).
        warn: log a warning naming the attributes when some (not all) are
            missing, and the ignored extra columns at info level.

    Raises:
        BemError: the table has none of the attributes; the message names them,
            the table's columns and the fix.
    """
    if not attributes:
        return []
    columns = [str(c) for c in table.columns]
    missing = [a for a in attributes if a not in columns]
    if len(missing) == len(attributes):
        raise BemError(
            f"{_where(table, name)} has none of the model's attributes {list(attributes)}; "
            f"its columns are {columns}; {FIX} (e.g. --rename {attributes[0]}="
            f"{columns[0] if columns else 'column'})"
        )
    if missing and warn:
        logger.warning(
            "%s lacks the model's attribute(s) %s, scored as missing values; %s",
            _where(table, name),
            missing,
            FIX,
        )
    extra = [c for c in columns if c not in attributes]
    if extra and warn:
        logger.info("%s: ignoring column(s) %s the model was not trained on", name, extra)
    return missing


def rename_columns(
    table: pd.DataFrame, mapping: Mapping[str, str], *, name: str = "left"
) -> pd.DataFrame:
    """``table`` with columns renamed by ``mapping`` (model attribute -> table column).

    ``{"title": "name"}`` makes the column ``name`` the model's ``title``. The
    table is not modified; its index and ``attrs`` are kept.

    Raises:
        BemError: a source column does not exist, is mapped twice, or a new name
            collides with a column that stays.
    """
    columns = [str(c) for c in table.columns]
    sources: dict[str, str] = {}
    for new, old in mapping.items():
        if not str(new).strip():
            raise BemError(f"rename ={old}: the new name is empty; write model_attribute={old}")
        if old not in columns:
            raise BemError(
                f"rename {new}={old}: {_where(table, name)} has no column {old!r} "
                f"(its columns are {columns}); name one of its columns after '='"
            )
        if old in sources:
            raise BemError(
                f"rename {new}={old}: column {old!r} is already mapped to "
                f"{sources[old]!r}; map each column once"
            )
        sources[old] = new
    for old, new in sources.items():
        if new != old and new in columns and new not in sources:
            raise BemError(
                f"rename {new}={old}: {_where(table, name)} already has a column {new!r}, "
                f"so there would be two; rename that one too (e.g. {new}_old={new}) or drop it"
            )
    out = table.rename(columns=sources)
    out.attrs = dict(table.attrs)
    return out


def parse_renames(specs: Sequence[str]) -> dict[str, str]:
    """``["title=name", ...]`` (``model_attribute=table_column``) as a mapping.

    Raises:
        BemError: a spec is not ``new=old`` with both names, or a new name repeats.
    """
    mapping: dict[str, str] = {}
    for spec in specs:
        new, sep, old = str(spec).partition("=")
        new, old = new.strip(), old.strip()
        if not sep or not new or not old:
            raise BemError(
                f"--rename {spec!r}: expected model_attribute=table_column, "
                "e.g. --rename title=name"
            )
        if new in mapping:
            raise BemError(
                f"--rename {spec!r}: {new!r} is already mapped from {mapping[new]!r}; "
                "map each model attribute once"
            )
        mapping[new] = old
    return mapping
