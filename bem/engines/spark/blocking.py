"""Fuzzy-key blocking on Spark: :class:`FuzzyBlocker` as distributed joins or
with a broadcast index.

Up to ``broadcast_records`` records (``strategy="auto"``) the index is built
once and broadcast, and tasks rank runs of records against it
(:mod:`bem.engines.spark.broadcast`): no per-pair shuffle. Above that, or with
``strategy="shuffle"``, the algorithm is the local blocker's
(:mod:`blocking.fuzzy`) as joins, step for step, so that the two give the same
candidates:

1. each record's key is normalized and cut into q-grams (or tokens) by the
   local code, inside ``mapInPandas``;
2. every key's document frequency and IDF weight over all records;
   a record queries with its rarest keys first, skipping those in more than
   ``max(max_df x records, 100)`` records and stopping when their postings
   reach ``max_postings`` (its rarest key always counts): window functions;
3. candidate pairs are the join of a record's query keys with the other
   records' keys, weighted by the summed IDF of the keys they share, and the
   best ``prefilter_k`` per record survive;
4. those are re-ranked by the same rapidfuzz scorer inside ``mapInPandas``,
   and every record keeps its ``top_k`` (in linkage, both sides: symmetric).

Ties are broken as the local blocker breaks them: IDF sums are added in
float32 in the order scipy's sparse product adds them, and the survivors of
step 3 are ordered as that product lists them. The final pairs (a few per
record) are collected to the driver and finished by
:func:`blocking.base.finish_pairs`, as locally.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from bem.engines.spark.broadcast import broadcast_pairs
from bem.engines.spark.session import records_frame
from blocking import FuzzyBlocker
from blocking.base import empty_candidates, finish_pairs, table_ids
from blocking.fuzzy import resolve_scorer
from blocking.index import MIN_POSTINGS, rarest_outgrow, token_lists
from blocking.normalize import FittableNormalizer, Key

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SparkBlocker"]

logger = logging.getLogger(__name__)

_SLOT = 1 << 24  # a key's code: (record position) * _SLOT + (its place in the record)


def _normalize(batches: Iterator[pd.DataFrame], *, key: Key) -> Iterator[pd.DataFrame]:
    """Rows ``g, c0..`` -> ``g, key``: the local :meth:`Key.transform` per batch."""
    for batch in batches:
        table = batch.drop(columns=["g", "id"])
        table.columns = list(key.attributes)
        (texts,) = key.transform(table)
        yield pd.DataFrame({"g": batch["g"].to_numpy(), "key": texts})


def _explode(
    batches: Iterator[pd.DataFrame], *, index: str, q: int, word_pairs: bool
) -> Iterator[pd.DataFrame]:
    """Rows ``g, key`` -> ``g, code, tok``: one row per distinct q-gram (token, word
    pair) of a key."""
    for batch in batches:
        lists = token_lists(batch["key"].to_numpy(dtype=object), index, q, word_pairs)
        lengths = np.fromiter((len(t) for t in lists), dtype=np.int64, count=len(lists))
        g = np.repeat(batch["g"].to_numpy(dtype=np.int64), lengths)
        place = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(
            np.cumsum(lengths) - lengths, lengths
        )
        flat = [t for tokens in lists for t in tokens]
        yield pd.DataFrame({"g": g, "code": g * _SLOT + place, "tok": flat})


def _idf(batches: Iterator[pd.DataFrame], *, n_records: int) -> Iterator[pd.DataFrame]:
    """IDF in float32 exactly as the local blocker computes it."""
    for batch in batches:
        df = batch["df"].to_numpy(dtype=np.float64)
        idf = np.log((1.0 + n_records) / (1.0 + df)).astype(np.float32) + np.float32(1e-3)
        yield batch.assign(idf=idf)


def _rescore(batches: Iterator[pd.DataFrame], *, scorer: str) -> Iterator[pd.DataFrame]:
    """The rapidfuzz score of each surviving pair (0-100, float32 as locally)."""
    from rapidfuzz import process

    fn = resolve_scorer(scorer)
    for batch in batches:
        score = process.cpdist(
            batch["qkey"].tolist(), batch["ckey"].tolist(), scorer=fn, dtype=np.float32, workers=1
        )
        yield batch[["q", "c", "weight"]].assign(score=score.astype(np.float64))


class SparkBlocker:
    """Top-k fuzzy-key blocking on Spark, equal to :class:`blocking.FuzzyBlocker`.

    Args:
        spark: the session to run on.
        key: attribute name(s) or a :class:`~blocking.normalize.Key` whose
            normalizers learn nothing from the data (they run batch by batch).
        top_k, scorer, score_cutoff, symmetric, index, q, max_df, max_postings,
        word_pairs, prefilter_k, name: as for :class:`~blocking.FuzzyBlocker` (same defaults).
        strategy: ``"broadcast"`` (the index on every executor, ranked inside
            tasks), ``"shuffle"`` (distributed joins; no table-sized object
            anywhere) or ``"auto"``: broadcast up to ``broadcast_records``
            records in all.
        broadcast_records: the most records ``"auto"`` broadcasts the index of
            (the local engine's whole 10^6-record run peaked at 5.5 GB here).

    Raises:
        ValueError: an invalid option, or a key with a fitted normalizer
            (:class:`~blocking.normalize.StopTokens`).
    """

    def __init__(
        self,
        spark: SparkSession,
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
        prefilter_k: int | None = None,
        name: str | None = None,
        strategy: Literal["auto", "broadcast", "shuffle"] = "auto",
        broadcast_records: int = 1_000_000,
    ) -> None:
        if strategy not in ("auto", "broadcast", "shuffle"):
            raise ValueError(f"strategy must be 'auto', 'broadcast' or 'shuffle', got {strategy!r}")
        if broadcast_records < 0:
            raise ValueError(f"broadcast_records must be >= 0, got {broadcast_records!r}")
        self.strategy = strategy
        self.broadcast_records = int(broadcast_records)
        # the local blocker validates the options and names the blocker alike
        self.local = FuzzyBlocker(
            key,
            top_k=top_k,
            scorer=scorer,
            score_cutoff=score_cutoff,
            symmetric=symmetric,
            index=index,
            q=q,
            max_df=max_df,
            max_postings=max_postings,
            word_pairs=word_pairs,
            prefilter_k=prefilter_k,
            progress=False,
            name=name,
        )
        if any(isinstance(n, FittableNormalizer) for n in self.local.key.normalizers):
            raise ValueError(
                "the Spark blocker normalizes keys batch by batch, so it cannot use a "
                "normalizer fitted on the data (StopTokens); drop it from the key"
            )
        self.spark = spark
        self.name = self.local.name

    def __repr__(self) -> str:
        return f"SparkBlocker(name={self.name!r}, top_k={self.local.top_k})"

    def candidates(self, left: pd.DataFrame, right: pd.DataFrame | None = None) -> pd.DataFrame:
        """Candidate pairs as :meth:`blocking.FuzzyBlocker.candidates` returns them.

        Raises:
            BemError: a key attribute is missing from a table, or ids are empty or
                repeated (checked before any Spark work).
        """
        dedup = right is None
        lids = table_ids(left, "left")
        rids = lids if dedup else table_ids(right, "right")
        self.local._check_columns(left, right)
        if len(lids) == 0 or len(rids) == 0:
            return empty_candidates()
        if self.broadcasts(len(lids) + (0 if dedup else len(rids))):
            li, ri, score = broadcast_pairs(self.spark, self.local, left, right)
            return finish_pairs(li, ri, score, lids, rids, dedup=dedup, name=self.name)
        best = self.pairs(left, right).toPandas()
        logger.info(
            "%s: %d candidate pairs for %d x %d records", self.name, len(best), len(lids), len(rids)
        )
        return finish_pairs(
            best["li"].to_numpy(dtype=np.int64),
            best["ri"].to_numpy(dtype=np.int64),
            best["score"].to_numpy(dtype=np.float64),
            lids,
            rids,
            dedup=dedup,
            name=self.name,
        )

    def broadcasts(self, records: int) -> bool:
        """Whether :meth:`candidates` broadcasts the index for this many records."""
        if self.strategy == "auto":
            return records <= self.broadcast_records
        return self.strategy == "broadcast"

    def pairs(self, left: pd.DataFrame, right: pd.DataFrame | None = None) -> DataFrame:
        """The shuffle design's candidate pairs as a Spark DataFrame ``li, ri, score`` of
        positions (in deduplication ``li < ri``), each pair once with its best score."""
        from pyspark.sql import functions as F

        cfg = self.local
        n = len(left)
        m = n if right is None else len(right)
        keys = self._keys(left, right).persist()
        everything = n if right is None else n + m
        postings = self._postings(keys, everything, word_pairs=cfg.word_pairs is True)
        if cfg.word_pairs == "auto" and self._needs_word_pairs(postings):
            logger.info("%s: indexing word pairs beside the keys' %s", self.name, cfg.index)
            postings.unpersist()
            postings = self._postings(keys, everything, word_pairs=True)
        top = self._ranked(self._queries(postings, everything), postings, n, right is None)
        rescored = self._with_keys(top, keys).mapInPandas(
            partial(_rescore, scorer=cfg.scorer), "q long, c long, weight float, score double"
        )
        if cfg.score_cutoff is not None:
            rescored = rescored.where(F.col("score") >= float(cfg.score_cutoff))
        best = self._top(rescored, ["score", "weight"], cfg.top_k, tiebreak=F.col("c").asc())
        if right is None:
            li, ri = F.least("q", "c"), F.greatest("q", "c")
        else:
            left_query = F.col("q") < n
            li = F.when(left_query, F.col("q")).otherwise(F.col("c"))
            ri = F.when(left_query, F.col("c") - n).otherwise(F.col("q") - n)
        out = (
            best.select(li.alias("li"), ri.alias("ri"), "score")
            .groupBy("li", "ri")
            .agg(F.max("score").alias("score"))
            .localCheckpoint(eager=True)
        )
        keys.unpersist()
        postings.unpersist()
        return out

    # -- steps -----------------------------------------------------------------
    def _postings(self, keys: DataFrame, everything: int, *, word_pairs: bool) -> DataFrame:
        """Rows ``g, code, df, idf``: every index key of every record (persisted)."""
        from pyspark.sql import functions as F

        cfg = self.local
        explode = partial(_explode, index=cfg.index, q=cfg.q, word_pairs=word_pairs)
        tokens = keys.mapInPandas(explode, "g long, code long, tok string")
        stats = tokens.groupBy("tok").agg(F.count("*").alias("df"), F.min("code").alias("code"))
        stats = stats.mapInPandas(
            partial(_idf, n_records=everything), "tok string, df long, code long, idf float"
        )
        postings = tokens.select("g", "tok").join(stats, "tok")
        return postings.select("g", "code", "df", "idf").persist()

    def _needs_word_pairs(self, postings: DataFrame) -> bool:
        """:func:`blocking.index.needs_word_pairs` on the distributed postings."""
        from pyspark.sql import functions as F

        rarest = postings.groupBy("g").agg(F.min("df").alias("df")).toPandas()["df"]
        return rarest_outgrow(rarest.to_numpy(), self.local.max_postings)

    def _keys(self, left: pd.DataFrame, right: pd.DataFrame | None) -> DataFrame:
        """Normalized keys ``g, key`` of every record (right records after the left)."""
        attrs = list(self.local.key.attributes)
        frame = records_frame(self.spark, left, attrs)
        if right is not None:
            frame = frame.unionByName(records_frame(self.spark, right, attrs, offset=len(left)))
        schema = "g long, key string"
        return frame.mapInPandas(partial(_normalize, key=self.local.key), schema)

    def _queries(self, postings: DataFrame, everything: int) -> DataFrame:
        """The keys each record queries with: rarest first, under the frequency cap
        and while their postings add up to less than ``max_postings``; the rarest always."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        cfg = self.local
        cap = max(cfg.max_df * everything, MIN_POSTINGS)
        order = Window.partitionBy("g").orderBy("df", "code")
        before = F.sum("df").over(order.rowsBetween(Window.unboundedPreceding, -1))
        ranked = postings.select(
            "g",
            "code",
            "df",
            "idf",
            F.row_number().over(order).alias("rank"),
            F.coalesce(before, F.lit(0)).alias("before"),
        )
        keep = (F.col("rank") == 1) | ((F.col("df") <= cap) & (F.col("before") < cfg.max_postings))
        return ranked.where(keep).select(F.col("g").alias("q"), "code", "idf")

    def _ranked(self, queries: DataFrame, postings: DataFrame, n: int, dedup: bool) -> DataFrame:
        """Per query record, its ``prefilter_k`` candidates with the heaviest IDF sum."""
        from pyspark.sql import functions as F

        cfg = self.local
        hits = queries.join(postings.select(F.col("g").alias("c"), "code"), "code")
        if dedup:
            hits = hits.where(F.col("q") != F.col("c"))
        elif cfg.symmetric:
            hits = hits.where((F.col("q") < n) != (F.col("c") < n))
        else:
            hits = hits.where((F.col("q") < n) & (F.col("c") >= n))
        # scipy adds a pair's IDFs in float32 from the highest key code down
        shared = F.sort_array(F.collect_list(F.struct("code", "idf")), asc=False)
        weight = F.aggregate(shared, F.lit(0.0).cast("float"), lambda acc, x: acc + x["idf"])
        pairs = hits.groupBy("q", "c").agg(weight.alias("weight"), F.max("code").alias("maxcode"))
        quantized = F.least(F.col("weight").cast("double") * float(2**20), F.lit(2.0**31))
        pairs = pairs.withColumn("quantized", quantized.cast("long"))
        # ties keep the order of scipy's product: lowest top code first, then last column
        prefilter_k = cfg.prefilter_k or max(4 * cfg.top_k, 40)
        return self._top(
            pairs,
            ["quantized"],
            prefilter_k,
            tiebreak=[F.col("maxcode").asc(), F.col("c").desc()],
        ).select("q", "c", "weight")

    @staticmethod
    def _top(frame: DataFrame, by: Sequence[str], k: int, *, tiebreak) -> DataFrame:
        """The first ``k`` rows per query ``q`` by ``by`` descending, then ``tiebreak``."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        extra = tiebreak if isinstance(tiebreak, list) else [tiebreak]
        order = Window.partitionBy("q").orderBy(*[F.col(c).desc() for c in by], *extra)
        ranked = frame.withColumn("_rank", F.row_number().over(order))
        return ranked.where(F.col("_rank") <= k).drop("_rank")

    @staticmethod
    def _with_keys(pairs: DataFrame, keys: DataFrame) -> DataFrame:
        """``pairs`` with the normalized key of the query (``qkey``) and candidate (``ckey``)."""
        from pyspark.sql import functions as F

        qkeys = keys.select(F.col("g").alias("q"), F.col("key").alias("qkey"))
        ckeys = keys.select(F.col("g").alias("c"), F.col("key").alias("ckey"))
        return pairs.join(qkeys, "q").join(ckeys, "c").select("q", "c", "weight", "qkey", "ckey")
