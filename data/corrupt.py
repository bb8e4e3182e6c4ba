"""Corruptions that make two listings of one product look different.

:func:`render_records` copies clean entity values and corrupts a random share
of them per column: typos, abbreviations ("black" -> "blk", "wireless" ->
"wl"), token reordering, unit formats ("8 GB", "8gb", "8GB", "8 gigabytes"),
model-number formats ("WD-4821BK", "wd4821bk"), missing fields, price jitter
and case changes. The randomness is drawn in bulk from one numpy generator;
each corruption is one cheap string operation, so a million records take
seconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from data.catalog import ATTRIBUTES, COLOUR_ABBREVIATIONS, UNIT_NAMES, WORD_ABBREVIATIONS, Catalog

__all__ = ["CORRUPTION_RATES", "render_records"]

_NAN = float("nan")
_CAPACITY = re.compile(r"^(\d+) (\w+)$")

CORRUPTION_RATES: dict[str, dict[str, float]] = {
    "brand": {"missing": 0.05, "case": 0.3, "typo": 0.03},
    "title": {"drop_brand": 0.15, "abbreviate": 0.3, "reorder": 0.2, "typo": 0.15, "case": 0.3},
    "model": {"missing": 0.1, "format": 0.4},
    "category": {"missing": 0.15, "case": 0.3},
    "capacity": {"missing": 0.1, "units": 0.5},
    "colour": {"missing": 0.1, "abbreviate": 0.25, "case": 0.3},
    "price": {"missing": 0.1, "jitter": 0.5, "currency": 0.2},
    "description": {
        "missing": 0.1,
        "truncate": 0.2,
        "abbreviate": 0.3,
        "reorder": 0.15,
        "typo": 0.2,
        "case": 0.2,
    },
}
"""Per column, the probability of each corruption (scaled by ``noise``), applied in order."""

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _typo(s: str, u: float) -> str:
    if len(s) < 3:
        return s
    pos = 1 + int(u * (len(s) - 2))  # keep the first character
    op = int(u * 4096) % 4
    char = _LETTERS[int(u * 65536) % 26]
    if op == 0:
        return s[:pos] + s[pos + 1 :]
    if op == 1:
        return s[:pos] + char + s[pos:]
    if op == 2:
        return s[:pos] + char + s[pos + 1 :]
    return s[: pos - 1] + s[pos] + s[pos - 1] + s[pos + 1 :]


def _case(s: str, u: float) -> str:
    if u < 0.5:
        return s.lower()
    if u < 0.8:
        return s.upper()
    return s.title()


_ABBREVIATIONS = {
    variant: short
    for word, short in WORD_ABBREVIATIONS.items()
    for variant in (word, word.title(), word.upper())
}


def _abbreviate(s: str, u: float) -> str:
    tokens = s.split(" ")
    return " ".join(map(_ABBREVIATIONS.get, tokens, tokens))


def _reorder(s: str, u: float) -> str:
    tokens = s.split(" ")
    if len(tokens) < 2:
        return s
    i = int(u * (len(tokens) - 1))
    tokens[i], tokens[i + 1] = tokens[i + 1], tokens[i]
    return " ".join(tokens)


def _drop_first(s: str, u: float) -> str:
    head, _, rest = s.partition(" ")
    return rest or head


def _truncate(s: str, u: float) -> str:
    parts = s.split(", ")
    if len(parts) > 1:
        return ", ".join(parts[:-1])
    return s.rsplit(" and ", 1)[0]


def _units(s: str, u: float) -> str:
    m = _CAPACITY.match(s)
    if m is None:
        return s
    number, unit = m.groups()
    k = int(u * 5)
    if k == 0:
        return number + unit.lower()
    if k == 1:
        return number + unit
    if k == 2:
        return f"{number} {unit.lower()}"
    if k == 3:
        return f"{number} {UNIT_NAMES.get(unit, unit)}"
    return f"{number}-{unit}"


def _model_format(s: str, u: float) -> str:
    k = int(u * 4)
    if k == 0:
        return s.replace("-", "")
    if k == 1:
        return s.lower()
    if k == 2:
        return s.replace("-", " ")
    return s.replace("-", "").lower()


def _colour(s: str, u: float) -> str:
    return COLOUR_ABBREVIATIONS.get(s, s)


def _jitter(s: str, u: float) -> str:
    return f"{float(s) * (1.0 + (u - 0.5) * 0.1):.2f}"


def _currency(s: str, u: float) -> str:
    return "$" + s


_FUNCS: dict[str, Callable[[str, float], str]] = {
    "typo": _typo,
    "case": _case,
    "abbreviate": _abbreviate,
    "reorder": _reorder,
    "drop_brand": _drop_first,
    "truncate": _truncate,
    "units": _units,
    "format": _model_format,
    "jitter": _jitter,
    "currency": _currency,
}


def _corrupt_column(
    values: np.ndarray,
    column: str,
    noise: float,
    rng: np.random.Generator,
    keep: np.ndarray | None = None,
) -> np.ndarray:
    out = values.copy()
    n = len(out)
    present = ~pd.isna(out)
    for kind, rate in CORRUPTION_RATES[column].items():
        hit = (rng.random(n) < min(1.0, rate * noise)) & present
        if kind == "missing" and keep is not None:
            hit &= ~keep
        idx = np.flatnonzero(hit)
        if not len(idx):
            continue
        if kind == "missing":
            out[idx] = _NAN
            present[idx] = False
            continue
        func = _colour if (column == "colour" and kind == "abbreviate") else _FUNCS[kind]
        us = rng.random(len(idx)).tolist()
        out[idx] = list(map(func, out[idx].tolist(), us))
    return out


def render_records(
    catalog: Catalog,
    entity: np.ndarray,
    ids: np.ndarray,
    rng: np.random.Generator,
    *,
    noise: float = 1.0,
    on_column: Callable[[str], object] | None = None,
) -> pd.DataFrame:
    """Noisy records of the entities ``entity`` (indices into ``catalog``), indexed by ``ids``.

    ``noise`` scales every rate in :data:`CORRUPTION_RATES` (0 = clean copies);
    ``on_column`` is called with each column's name when it is done (progress).
    """
    data = {}
    axis = catalog.axis[entity]
    for column in ATTRIBUTES:
        clean = catalog.values[column][entity]
        # the column a sibling differs in is never blanked: a hard negative whose
        # differing value is missing on one side would be unobservable, not hard
        keep = axis == column
        data[column] = (
            _corrupt_column(clean, column, noise, rng, keep) if noise > 0 else clean.copy()
        )
        if on_column is not None:
            on_column(column)
    return pd.DataFrame(data, index=pd.Index(ids, name="id", dtype=object))
