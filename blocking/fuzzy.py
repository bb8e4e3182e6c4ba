"""Top-k fuzzy-key blocking with an inverted-index prefilter.

For every record, :class:`FuzzyBlocker` proposes the ``top_k`` most similar
records of the other table by a rapidfuzz scorer on the normalized key. Scoring
all ``n x m`` pairs is what it avoids: an inverted index over the key's tokens
(or character q-grams) finds, for each record, the records sharing a token that
is not too frequent, ranks them by the summed IDF of the shared tokens, and only
the best ``prefilter_k`` of those survivors are scored with
``rapidfuzz.process.cpdist`` (all cores). Work is done in chunks sized by the
postings they touch, so memory stays bounded whatever the table size.

Records that share no indexed token with any other record get no candidates;
so does a record with an empty key (all key attributes missing). A record whose
tokens are all too frequent falls back to its rarest token. ``prefilter=False``
scores all pairs with a chunked ``rapidfuzz.process.cdist`` instead (exact, and
quadratic: the reference the prefilter is measured against).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from tqdm.auto import tqdm

from blocking.base import Blocker, check_name
from blocking.index import chunks
from blocking.normalize import Key
from blocking.prefilter import (
    as_part,
    build_prefilter,
    empty_part,
    merge_parts,
    rank_chunk,
    top_per_row,
)

__all__ = ["SCORERS", "FuzzyBlocker"]

logger = logging.getLogger(__name__)

SCORERS = {
    name: getattr(fuzz, name)
    for name in (
        "ratio",
        "partial_ratio",
        "token_sort_ratio",
        "token_set_ratio",
        "token_ratio",
        "partial_token_sort_ratio",
        "partial_token_set_ratio",
        "partial_token_ratio",
        "WRatio",
        "QRatio",
    )
}
"""The rapidfuzz scorers a blocker can be given by name (all 0-100)."""


def resolve_scorer(scorer: str) -> object:
    try:
        return SCORERS[scorer]
    except KeyError:
        raise ValueError(f"unknown scorer {scorer!r}; use one of {sorted(SCORERS)}") from None


class FuzzyBlocker(Blocker):
    """Top-k most similar records by a rapidfuzz scorer on a fuzzy key.

    Args:
        key: a :class:`~blocking.normalize.Key`, or attribute name(s) keyed with
            the default normalizers.
        top_k: candidates kept per record (per query side).
        scorer: a rapidfuzz scorer name, see :data:`SCORERS`.
        score_cutoff: drop pairs scoring below this (0-100).
        symmetric: when linking, take the top-k of every left record *and* of every
            right record (the union); ``False`` queries with the left table only.
            Deduplication always takes every record's top-k.
        index: what the inverted index is built on: character ``"qgrams"`` of the
            key (robust to typos and split codes such as ``"kx ts208w"``), or its
            whitespace ``"tokens"`` plus adjacent tokens glued when they hold a
            digit (faster, fewer postings: the choice for millions of records).
        q: q-gram length for ``index="qgrams"``.
        max_df: tokens in more than this fraction of all records are not indexed
            (they carry no signal and make the prefilter slow); tokens in at most
            100 records are always indexed.
        max_postings: the most postings one record's query reads: it uses its
            rarest tokens first and stops when their postings add up to this
            (its rarest token is always used). Bounds the work per record.
        word_pairs: also index each key's adjacent word pairs (``"pixion air"``).
            A pair is far rarer than a q-gram or a word, so a query can still tell
            its peers apart when the table is so large that even its rarest
            q-gram has more postings than the budget (a vocabulary that stops
            growing while records do). ``"auto"``: only then, that is when the
            median record's rarest key has more than ``max_postings / 4``
            postings (:func:`blocking.index.needs_word_pairs`); on smaller tables pairs
            over-reward exact word order and cost recall.
        prefilter: ``False`` scores every pair (chunked ``cdist``; exact, quadratic).
        prefilter_k: survivors scored per record; default ``max(4 * top_k, 40)``.
        chunk_pairs: pairs materialised at once; bounds memory.
        workers: rapidfuzz worker threads (-1 = all cores).
        progress: show a tqdm progress bar (records/s).
        name: the name in the ``blocker`` column; default ``fuzzy[<attributes>]``.
    """

    def __init__(
        self,
        key: Key | str | Sequence[str],
        *,
        top_k: int = 10,
        scorer: str = "token_set_ratio",
        score_cutoff: float | None = None,
        symmetric: bool = True,
        index: Literal["tokens", "qgrams"] = "qgrams",
        q: int = 3,
        max_df: float = 0.05,
        max_postings: int = 2000,
        word_pairs: bool | Literal["auto"] = "auto",
        prefilter: bool = True,
        prefilter_k: int | None = None,
        chunk_pairs: int = 4_000_000,
        workers: int = -1,
        progress: bool = True,
        name: str | None = None,
    ) -> None:
        self.key = Key.coerce(key)
        if not isinstance(top_k, (int, np.integer)) or top_k < 1:
            raise ValueError(f"top_k must be a positive integer, got {top_k!r}")
        resolve_scorer(scorer)
        if index not in ("tokens", "qgrams"):
            raise ValueError(f"index must be 'tokens' or 'qgrams', got {index!r}")
        if not 0.0 < max_df <= 1.0:
            raise ValueError(f"max_df must be in (0, 1], got {max_df!r}")
        self.top_k = int(top_k)
        self.scorer = scorer
        self.score_cutoff = score_cutoff
        self.symmetric = symmetric
        self.index = index
        self.q = q
        self.max_df = max_df
        self.max_postings = max_postings
        if word_pairs not in (True, False, "auto"):
            raise ValueError(f"word_pairs must be True, False or 'auto', got {word_pairs!r}")
        self.word_pairs = word_pairs
        self.prefilter = prefilter
        self.prefilter_k = prefilter_k
        self.chunk_pairs = chunk_pairs
        self.workers = workers
        self.progress = progress
        self.name = check_name(name or f"fuzzy[{self.key.label}]")

    def _pairs(
        self, left: pd.DataFrame, right: pd.DataFrame | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        li, ri, score, _ = self.ranked(left, right)
        return li, ri, score

    def ranked(
        self, left: pd.DataFrame, right: pd.DataFrame | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Positional pairs with the best (lowest, 1-based) rank either side gave them.

        ``candidates`` at any ``k <= top_k`` are the pairs with ``rank <= k``:
        :func:`~blocking.tuning.tune_blocker` uses this to try many ``k`` at once.
        Returns ``(left_pos, right_pos, score, rank)``, each pair once.
        """
        dedup = right is None
        lkeys, rkeys = self._key_texts(left, right)
        n, m = len(lkeys), len(rkeys)
        bar = tqdm(
            total=n if dedup or not self.symmetric else n + m,
            unit="rec",
            desc=self.name,
            disable=not self.progress,
            leave=False,
        )
        with bar:
            if self.prefilter:
                parts = self._prefiltered(lkeys, rkeys, dedup, bar)
            else:
                parts = self._exact(lkeys, rkeys, dedup, bar)
        li, ri, score, rank = merge_parts(parts, dedup=dedup, n_right=m)
        logger.info("%s: %d candidate pairs for %d x %d records", self.name, len(li), n, m)
        return li, ri, score, rank

    def _directions(
        self, lkeys: np.ndarray, rkeys: np.ndarray, dedup: bool
    ) -> list[tuple[np.ndarray, np.ndarray, bool]]:
        if dedup:
            return [(lkeys, lkeys, False)]
        if self.symmetric:
            return [(lkeys, rkeys, False), (rkeys, lkeys, True)]
        return [(lkeys, rkeys, False)]

    def _exact(self, lkeys: np.ndarray, rkeys: np.ndarray, dedup: bool, bar: tqdm) -> list:
        scorer = resolve_scorer(self.scorer)
        parts = [empty_part()]
        for qkeys, ckeys, flipped in self._directions(lkeys, rkeys, dedup):
            c_empty = np.array([not s for s in ckeys], dtype=bool)
            rows_per_chunk = max(1, self.chunk_pairs // max(len(ckeys), 1))
            for a in range(0, len(qkeys), rows_per_chunk):
                b = min(a + rows_per_chunk, len(qkeys))
                sim = process.cdist(
                    list(qkeys[a:b]),
                    list(ckeys),
                    scorer=scorer,
                    dtype=np.float32,
                    workers=self.workers,
                )
                sim[:, c_empty] = -1
                sim[np.array([not s for s in qkeys[a:b]], dtype=bool)] = -1
                if dedup:
                    sim[np.arange(b - a), np.arange(a, b)] = -1
                floor = 0.0 if self.score_cutoff is None else self.score_cutoff
                k = min(self.top_k, sim.shape[1])
                kth = -np.partition(-sim, k - 1, axis=1)[:, k - 1]
                rows, cols = np.nonzero((sim >= kth[:, None]) & (sim >= floor))
                vals = sim[rows, cols].astype(np.float64)
                idx, rank = top_per_row(rows, cols, [vals], self.top_k, b - a)
                parts.append(as_part(rows[idx] + a, cols[idx], vals[idx], rank, flipped))
                bar.update(b - a)
        return parts

    def prefilter_directions(self, lkeys: np.ndarray, rkeys: np.ndarray, dedup: bool) -> list:
        """The prefilter's query directions (:func:`blocking.prefilter.build_prefilter`)."""
        return build_prefilter(
            lkeys,
            rkeys,
            dedup=dedup,
            symmetric=self.symmetric,
            index=self.index,
            q=self.q,
            max_df=self.max_df,
            max_postings=self.max_postings,
            word_pairs=self.word_pairs,
            log_name=self.name,
        )

    def chunk_options(self) -> dict:
        """The keyword arguments of :func:`blocking.prefilter.rank_chunk` for this blocker."""
        return {
            "scorer": resolve_scorer(self.scorer),
            "prefilter_k": self.prefilter_k or max(4 * self.top_k, 40),
            "top_k": self.top_k,
            "score_cutoff": self.score_cutoff,
        }

    def _prefiltered(self, lkeys: np.ndarray, rkeys: np.ndarray, dedup: bool, bar: tqdm) -> list:
        options = self.chunk_options()
        parts = [empty_part()]
        for direction in self.prefilter_directions(lkeys, rkeys, dedup):
            for a, b in chunks(direction.cost, self.chunk_pairs):
                parts.append(rank_chunk(direction, a, b, workers=self.workers, **options))
                bar.update(b - a)
        return parts
