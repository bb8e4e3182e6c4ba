"""Study: the floor under Spark's blocking time, against the 1.5x target of issue 17.

The Spark blocker (:mod:`bem.engines.spark.blocking`) is fuzzy-key blocking as
distributed joins, the design issue 17 asks for: every record's query keys are
joined with every other record's keys, and the pairs are ranked by their summed
IDF. Locally the same step is one sparse-matrix product in C
(:mod:`blocking.index`). This study times, on the synthetic dedup table of
``bench/scale_runs.py`` (title key, top-3, ``local[2]``), in one process:

1. the local blocker, end to end (``FuzzyBlocker.candidates``);
2. on Spark, the steps the design cannot skip: the keys and postings (persisted),
   then the hits join alone, counted (no ranking, no rescoring);
3. the hits summed per (record, candidate) pair, order-free (``groupBy`` + ``sum``):
   the least any design that ranks pairs after a shuffle must do;
4. the Spark blocker end to end (``SparkBlocker.candidates``; ``--no-end-to-end`` skips it).

If (2), or (2) with (3), exceeds 1.5x the local engine's whole pipeline at the same size
(bench/results/scale.json), no ranking or clustering trick inside this design
meets the target on this machine. Run:

    python bench/studies/spark_floor.py --records 100000

Prints a JSON line and writes ``bench/results/spark_floor.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench.scale_runs import GENERATOR_SEED, SPARK_MASTER, TOP_K  # noqa: E402

logger = logging.getLogger("bench.studies.spark_floor")


def records_table(n_records: int):
    """The first ``n_records`` of the synthetic dedup draw ``bench/scale_runs.py`` runs on."""
    from data import make_dedup

    n_entities = int(n_records / 2.5 * 1.05) + 10
    return make_dedup(n_entities=n_entities, seed=GENERATOR_SEED, progress=False).records.iloc[
        :n_records
    ]


def measure(n_records: int, *, end_to_end: bool = True) -> dict:
    from pyspark.sql import functions as F

    from bem.engines.spark.blocking import SparkBlocker
    from bem.engines.spark.session import start_session
    from blocking import FuzzyBlocker

    records = records_table(n_records)
    out: dict = {"records": n_records, "key": "title", "top_k": TOP_K, "master": SPARK_MASTER}
    t0 = time.perf_counter()
    local = FuzzyBlocker(("title",), top_k=TOP_K, progress=False).candidates(records)
    out["local_block_s"] = round(time.perf_counter() - t0, 1)
    out["local_pairs"] = len(local)

    spark = start_session(SPARK_MASTER)
    blocker = SparkBlocker(spark, ("title",), top_k=TOP_K)
    cfg = blocker.local
    t0 = time.perf_counter()
    keys = blocker._keys(records, None).persist()
    postings = blocker._postings(keys, n_records, word_pairs=cfg.word_pairs is True)
    word_pairs = cfg.word_pairs == "auto" and blocker._needs_word_pairs(postings)
    if word_pairs:
        postings.unpersist()
        postings = blocker._postings(keys, n_records, word_pairs=True)
    out["postings"] = postings.count()
    out["spark_postings_s"] = round(time.perf_counter() - t0, 1)
    out["word_pairs"] = bool(word_pairs)
    queries = blocker._queries(postings, n_records)
    t0 = time.perf_counter()
    hits = queries.join(postings.select(F.col("g").alias("c"), "code"), "code")
    hits = hits.where(F.col("q") != F.col("c")).persist()  # the sums below must not redo it
    out["hits"] = hits.count()
    out["spark_hits_join_s"] = round(time.perf_counter() - t0, 1)
    # the least a shuffle design must do after the join: one weight per (record, candidate)
    # pair, here an order-free double sum (the blocker adds float32 in scipy's order)
    t0 = time.perf_counter()
    summed = hits.groupBy("q", "c").agg(F.sum("idf").alias("w"))
    out["pairs_with_a_hit"] = summed.count()
    out["spark_pair_sums_s"] = round(time.perf_counter() - t0, 1)
    hits.unpersist()
    keys.unpersist()
    postings.unpersist()
    if end_to_end:
        t0 = time.perf_counter()
        pairs = blocker.candidates(records)
        out["spark_block_s"] = round(time.perf_counter() - t0, 1)
        out["spark_pairs"] = len(pairs)
    spark.stop()
    out["hits_per_record"] = round(out["hits"] / n_records, 1)
    out["floor_over_local_block"] = round(
        (out["spark_postings_s"] + out["spark_hits_join_s"]) / max(out["local_block_s"], 0.1), 1
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument(
        "--no-end-to-end", action="store_true", help="skip the whole Spark blocker (minutes)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    row = measure(args.records, end_to_end=not args.no_end_to_end)
    scale = ROOT / "bench" / "results" / "scale.json"
    runs = json.loads(scale.read_text()).get("runs", []) if scale.is_file() else []
    local_run = next(
        (r for r in runs if r["engine"] == "local" and r["records"] == args.records), None
    )
    if local_run is not None:
        budget = 1.5 * local_run["seconds"]
        floor = row["spark_postings_s"] + row["spark_hits_join_s"]
        row["floor_with_pair_sums_s"] = round(floor + row["spark_pair_sums_s"], 1)
        row["floor_with_pair_sums_over_target"] = round(row["floor_with_pair_sums_s"] / budget, 2)
        row["local_pipeline_s"] = local_run["seconds"]
        row["target_s"] = round(budget, 1)
        row["floor_s"] = round(floor, 1)
        row["floor_over_target"] = round(floor / budget, 2)
    row["command"] = "python bench/studies/spark_floor.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    row["date"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    row["machine"] = f"{os.cpu_count()} cores, {platform.machine()}"
    path = ROOT / "bench" / "results" / "spark_floor.json"
    path.write_text(json.dumps(row, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
