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
from blocking.index import (
    MIN_POSTINGS,
    chunks,
    kept_entries,
    needs_word_pairs,
    rank_within,
    token_matrix,
)
from blocking.normalize import Key

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


def _top_weight_per_row(rows: np.ndarray, weight: np.ndarray, k: int, n_rows: int) -> np.ndarray:
    """Indices of the ``k`` heaviest entries per row (ties: input order, deterministic).

    One stable argsort of a packed ``(row, -weight)`` integer key: an order of
    magnitude faster than a lexsort on millions of prefilter hits.
    """
    quantized = np.minimum(weight * 2**20, 2**31 - 1).astype(np.int64)
    order = np.argsort((rows.astype(np.int64) << 32) | (2**31 - 1 - quantized), kind="stable")
    rank = rank_within(rows[order], n_rows)
    return order[rank < k]


def _top_per_row(
    rows: np.ndarray, cols: np.ndarray, keys: Sequence[np.ndarray], k: int, n_rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices and ranks of the first ``k`` entries per row, by ``keys`` descending, then col."""
    order = np.lexsort((cols, *[-key for key in reversed(keys)], rows))
    rank = rank_within(rows[order], n_rows)
    keep = rank < k
    return order[keep], rank[keep]


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
        li, ri, score, rank = (np.concatenate(x) for x in zip(*parts))
        if dedup:
            li, ri = np.minimum(li, ri), np.maximum(li, ri)
        code = li * np.int64(max(m, 1)) + ri
        order = np.lexsort((rank, code))
        code, li, ri, score, rank = code[order], li[order], ri[order], score[order], rank[order]
        first = np.ones(len(code), dtype=bool)
        first[1:] = code[1:] != code[:-1]
        starts = np.flatnonzero(first)
        best = np.maximum.reduceat(score, starts) if len(starts) else score[:0]
        logger.info("%s: %d candidate pairs for %d x %d records", self.name, len(starts), n, m)
        return li[starts], ri[starts], best.astype(np.float64), rank[starts]

    def _directions(
        self, lkeys: np.ndarray, rkeys: np.ndarray, dedup: bool
    ) -> list[tuple[np.ndarray, np.ndarray, bool]]:
        if dedup:
            return [(lkeys, lkeys, False)]
        if self.symmetric:
            return [(lkeys, rkeys, False), (rkeys, lkeys, True)]
        return [(lkeys, rkeys, False)]

    def _collect(
        self, q: np.ndarray, c: np.ndarray, score: np.ndarray, rank: np.ndarray, flipped: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        q, c = q.astype(np.int64), c.astype(np.int64)
        rank = (rank + 1).astype(np.int32)
        return (c, q, score, rank) if flipped else (q, c, score, rank)

    def _exact(self, lkeys: np.ndarray, rkeys: np.ndarray, dedup: bool, bar: tqdm) -> list:
        scorer = resolve_scorer(self.scorer)
        parts = [self._collect(*(np.zeros(0),) * 4, False)]
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
                idx, rank = _top_per_row(rows, cols, [vals], self.top_k, b - a)
                parts.append(self._collect(rows[idx] + a, cols[idx], vals[idx], rank, flipped))
                bar.update(b - a)
        return parts

    def _prefiltered(self, lkeys: np.ndarray, rkeys: np.ndarray, dedup: bool, bar: tqdm) -> list:
        from scipy import sparse

        scorer = resolve_scorer(self.scorer)
        n = len(lkeys)
        everything = lkeys if dedup else np.concatenate([lkeys, rkeys])
        tokens = token_matrix(everything, index=self.index, q=self.q)
        df = np.asarray(tokens.sum(axis=0)).ravel()
        if self.word_pairs is True or (
            self.word_pairs == "auto" and needs_word_pairs(tokens, df, self.max_postings)
        ):
            logger.info("%s: indexing word pairs beside the keys' %s", self.name, self.index)
            tokens = token_matrix(everything, index=self.index, q=self.q, word_pairs=True)
            df = np.asarray(tokens.sum(axis=0)).ravel()
        cap = max(self.max_df * len(everything), MIN_POSTINGS)
        kept = kept_entries(tokens, df, cap, self.max_postings)
        dropped = int((df > cap).sum())
        if dropped:
            logger.info(
                "%s: %d frequent token(s) not indexed (in > %d records)", self.name, dropped, cap
            )
        idf = np.log((1.0 + len(everything)) / (1.0 + df)).astype(np.float32) + np.float32(1e-3)
        # queries use their kept tokens; the index holds every token, so that a
        # record left with only its (frequent) rarest token still finds its peers
        lmat, lfull = kept[:n], tokens[:n]
        rmat, rfull = (lmat, lfull) if dedup else (kept[n:], tokens[n:])
        prefilter_k = self.prefilter_k or max(4 * self.top_k, 40)
        parts = [self._collect(*(np.zeros(0),) * 4, False)]
        for (qkeys, ckeys, flipped), (qmat, cmat) in zip(
            self._directions(lkeys, rkeys, dedup), [(lmat, rfull), (rmat, lfull)]
        ):
            postings = np.asarray(cmat.sum(axis=0)).ravel()
            cost = np.asarray(qmat @ postings).ravel() + 1
            weighted = (qmat @ sparse.diags(idf)).tocsr()
            inverted = cmat.T.tocsr()
            for a, b in chunks(cost, self.chunk_pairs):
                hits = (weighted[a:b] @ inverted).tocsr()
                rows = np.repeat(np.arange(b - a), np.diff(hits.indptr))
                cols, weight = hits.indices.astype(np.int64), hits.data
                if dedup:
                    other = cols != rows + a
                    rows, cols, weight = rows[other], cols[other], weight[other]
                idx = _top_weight_per_row(rows, weight, prefilter_k, b - a)
                rows, cols, weight = rows[idx], cols[idx], weight[idx]
                score = process.cpdist(
                    qkeys[rows + a].tolist(),
                    ckeys[cols].tolist(),
                    scorer=scorer,
                    dtype=np.float32,
                    workers=self.workers,
                ).astype(np.float64)
                if self.score_cutoff is not None:
                    ok = score >= self.score_cutoff
                    rows, cols, weight, score = rows[ok], cols[ok], weight[ok], score[ok]
                idx, rank = _top_per_row(rows, cols, [score, weight], self.top_k, b - a)
                parts.append(self._collect(rows[idx] + a, cols[idx], score[idx], rank, flipped))
                bar.update(b - a)
        return parts
