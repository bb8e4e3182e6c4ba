"""The fuzzy blocker's inverted index: which keys a record has, and which it queries.

A key text becomes its character q-grams or its words (plus adjacent words
glued when they hold a digit), and, when a table has outgrown its vocabulary,
its adjacent word pairs (:func:`needs_word_pairs`). A record queries with its
rarest keys first, under a frequency cap and a postings budget
(:func:`kept_entries`); work is cut into chunks of bounded postings
(:func:`chunks`). :class:`~blocking.FuzzyBlocker` and the Spark engine's
blocker share these, so that both engines index alike.
"""

from __future__ import annotations

import re
from itertools import chain, pairwise
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from scipy import sparse

__all__ = [
    "MIN_POSTINGS",
    "chunks",
    "kept_entries",
    "needs_word_pairs",
    "rank_within",
    "rarest_outgrow",
    "token_lists",
    "token_matrix",
]

_DIGIT = re.compile(r"\d")
MIN_POSTINGS = 100  # small tables: index every token, however frequent
_PAIR = "\x1f"  # marks a word pair, so that no q-gram or token can equal one


def _with_joins(tokens: list[str]) -> list[str]:
    """Tokens plus adjacent pairs glued when they hold a digit (``kx ts208w`` -> ``kxts208w``)."""
    joins = [a + b for a, b in pairwise(tokens) if _DIGIT.search(a + b)]
    return list(dict.fromkeys(tokens + joins))


def token_lists(keys: np.ndarray, index: str, q: int, word_pairs: bool = False) -> list[list[str]]:
    """Each key's distinct index keys, in order of appearance."""
    if index == "tokens":
        out = [_with_joins(s.split()) for s in keys]
    else:
        out = []
        for s in keys:
            padded = f" {s} "
            grams = (padded[i : i + q] for i in range(len(padded) - q + 1)) if s else ()
            out.append(list(dict.fromkeys(grams)))
    if word_pairs:
        for tokens, s in zip(out, keys):
            words = s.split()
            tokens.extend(dict.fromkeys(_PAIR + a + " " + b for a, b in pairwise(words)))
    return out


def token_matrix(
    keys: np.ndarray, *, index: str = "tokens", q: int = 3, word_pairs: bool = False
) -> sparse.csr_matrix:
    """Binary record x token matrix (CSR) of the keys' tokens or q-grams (and, with
    ``word_pairs``, their adjacent word pairs)."""
    from scipy import sparse

    lists = token_lists(keys, index, q, word_pairs)
    lengths = np.fromiter((len(t) for t in lists), dtype=np.int64, count=len(lists))
    flat = np.fromiter(chain.from_iterable(lists), dtype=object, count=int(lengths.sum()))
    codes, uniques = pd.factorize(flat)
    rows = np.repeat(np.arange(len(lists), dtype=np.int64), lengths)
    data = np.ones(len(codes), dtype=np.float32)
    return sparse.csr_matrix((data, (rows, codes)), shape=(len(lists), max(len(uniques), 1)))


def rank_within(groups: np.ndarray, n_groups: int) -> np.ndarray:
    """0-based position of each element within its group (``groups`` sorted)."""
    counts = np.bincount(groups, minlength=n_groups)
    starts = np.cumsum(counts) - counts
    return np.arange(len(groups)) - starts[groups]


def needs_word_pairs(tokens: sparse.csr_matrix, df: np.ndarray, budget: int) -> bool:
    """Whether the median record's rarest key has more than ``budget / 4`` postings:
    its query then reads one or two keys of thousands of look-alikes, and the
    prefilter's ranking is a near tie (the rule of ``word_pairs="auto"``)."""
    lengths = np.diff(tokens.indptr)
    starts = tokens.indptr[:-1][lengths > 0]
    return rarest_outgrow(np.minimum.reduceat(df[tokens.indices], starts), budget)


def rarest_outgrow(rarest: np.ndarray, budget: int) -> bool:
    """The rule of :func:`needs_word_pairs` on each non-empty record's rarest key's
    postings (the Spark blocker computes those distributed)."""
    return bool(len(rarest)) and bool(np.median(rarest) > budget / 4)


def kept_entries(
    tokens: sparse.csr_matrix, df: np.ndarray, cap: float, budget: int
) -> sparse.csr_matrix:
    """The tokens each record queries with: its rarest first, while they are under ``cap``
    records and their postings add up to less than ``budget``; the rarest always."""
    from scipy import sparse

    rows = np.repeat(np.arange(tokens.shape[0], dtype=np.int64), np.diff(tokens.indptr))
    cols = tokens.indices
    freq = df[cols].astype(np.int64)
    order = np.argsort((rows << 32) | freq, kind="stable")
    rows, cols, freq = rows[order], cols[order], freq[order]
    rank = rank_within(rows, tokens.shape[0])
    before = np.cumsum(freq) - freq
    first = rank == 0
    before -= before[first][np.cumsum(first) - 1]
    keep = first | ((freq <= cap) & (before < budget))
    return sparse.csr_matrix(
        (np.ones(int(keep.sum()), dtype=np.float32), (rows[keep], cols[keep])),
        shape=tokens.shape,
    )


def chunks(cost: np.ndarray, budget: int, max_rows: int = 4096) -> list[tuple[int, int]]:
    """Split rows into consecutive chunks whose summed ``cost`` stays under ``budget``."""
    out, a, n = [], 0, len(cost)
    total = np.concatenate([[0], np.cumsum(cost)])
    while a < n:
        b = int(np.searchsorted(total, total[a] + budget, side="right")) - 1
        b = min(max(b, a + 1), a + max_rows, n)
        out.append((a, b))
        a = b
    return out
