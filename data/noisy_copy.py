"""Noisy copies of any record table: a record and its corrupted copy are a match.

The label-free matcher trains on pairs that need no label: each record against
a copy of itself written the way another source might write it. Unlike
:mod:`data.corrupt`, which knows the synthetic catalog's columns, these
corruptions apply to any text column:

- ``typo``: one character dropped, inserted, replaced or swapped (the first kept);
- ``drop_token``: one token removed (values of two or more tokens);
- ``abbreviate``: one token of five or more letters cut to its first three or
  four letters, with or without a full stop, or written without inner vowels;
- ``reorder``: two neighbouring tokens swapped;
- ``case``: lower, upper or title case;
- ``punctuation``: hyphens, dots, slashes and commas removed or turned into
  spaces (model numbers and codes: "WD-4821BK" -> "WD4821BK");
- ``truncate``: the value cut after a share of its tokens (long values only);
- ``missing``: the value removed; at least one non-empty value is always kept.

Each value gets each corruption with its rate (scaled by ``noise``); every copy
differs from its record in at least one value where that is possible.
Deterministic given ``seed``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from data.corrupt import _case, _reorder, _typo

__all__ = ["NOISE_RATES", "noisy_copy"]

_NAN = float("nan")
_VOWELS = re.compile(r"(?<=\w)[aeiou]", re.IGNORECASE)
_PUNCT = re.compile(r"[-./,]+")

NOISE_RATES: dict[str, float] = {
    "typo": 0.15,
    "drop_token": 0.15,
    "abbreviate": 0.15,
    "reorder": 0.1,
    "case": 0.2,
    "punctuation": 0.15,
    "truncate": 0.1,
    "missing": 0.08,
}
"""Probability of each corruption per value (before ``noise`` scaling), applied in this order."""


def _drop_token(s: str, u: float) -> str:
    tokens = s.split()
    if len(tokens) < 2:
        return s
    del tokens[int(u * len(tokens))]
    return " ".join(tokens)


def _abbreviate(s: str, u: float) -> str:
    tokens = s.split()
    long = [i for i, t in enumerate(tokens) if len(t) >= 5 and t.isalpha()]
    if not long:
        return s
    i = long[int(u * len(long))]
    word = tokens[i]
    kind = int(u * 997) % 3
    if kind == 0:
        tokens[i] = word[:3] + "."
    elif kind == 1:
        tokens[i] = word[:4]
    else:
        tokens[i] = _VOWELS.sub("", word)
    return " ".join(tokens)


def _punctuation(s: str, u: float) -> str:
    return _PUNCT.sub("" if u < 0.5 else " ", s).strip() or s


def _truncate(s: str, u: float) -> str:
    tokens = s.split()
    if len(tokens) < 6:
        return s
    keep = max(3, int(len(tokens) * (0.5 + 0.4 * u)))
    return " ".join(tokens[:keep])


_FUNCS: dict[str, Callable[[str, float], str]] = {
    "typo": _typo,
    "drop_token": _drop_token,
    "abbreviate": _abbreviate,
    "reorder": _reorder,
    "case": _case,
    "punctuation": _punctuation,
    "truncate": _truncate,
}


def _corrupt_row(values: list, rng: np.random.Generator, noise: float) -> list:
    present = [i for i, v in enumerate(values) if isinstance(v, str) and v.strip()]
    out = list(values)
    for i in present:
        text = out[i]
        for name, func in _FUNCS.items():
            if rng.random() < NOISE_RATES[name] * noise:
                text = func(text, float(rng.random()))
        out[i] = text
    # values removed, never all of them
    missing = [i for i in present if rng.random() < NOISE_RATES["missing"] * noise]
    for i in missing[: max(len(present) - 1, 0)]:
        out[i] = _NAN
    if present and all(out[i] == values[i] for i in present):
        # make sure the copy differs: one typo or case change in a random value
        i = present[int(rng.random() * len(present))]
        changed = _typo(values[i], float(rng.random()))
        out[i] = changed if changed != values[i] else _case(values[i], float(rng.random()))
    return out


def noisy_copy(
    table: pd.DataFrame,
    *,
    seed: int = 0,
    noise: float = 1.0,
    suffix: str = "~copy",
) -> pd.DataFrame:
    """A corrupted copy of every record of ``table``, ids suffixed with ``suffix``.

    Args:
        table: a record table (``str`` values, ``NaN`` for missing ones).
        seed: seeds every random choice.
        noise: scales every corruption rate (0 leaves values as they are but for
            the one change that makes each copy differ).
        suffix: appended to each id, so that copies never collide with records.
    """
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    rng = np.random.default_rng(seed)
    rows = [_corrupt_row(list(r), rng, noise) for r in table.itertuples(index=False, name=None)]
    ids = pd.Index([f"{i}{suffix}" for i in table.index.astype(str)], name=table.index.name)
    return pd.DataFrame(rows, index=ids, columns=table.columns, dtype=object)
