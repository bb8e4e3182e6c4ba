"""``bench/scale.py --section runs``: synthetic dedup at growing sizes, local and Spark.

Each run is one fresh process (so its peak memory is its own): ``data.make_dedup``
(seed 7, about 2.5 records per product) cut to ``n`` records, deduplicated by
:func:`bem.pipeline.dedup` with the synthetic matcher of ``bench/scale.py`` (its
cascade on), the blocker the pipeline picks by default for the table (``title``
top-3, as ``bench/pipeline.py``'s scale rows), average linkage and 30 explained
pairs. Reported per run: seconds per stage, peak resident memory (the summed
resident memory of the process and its children, the JVM and Spark's Python
workers included, sampled every 0.5 s; pages the processes share are counted
once per process, so for Spark it is an upper bound; ``ru_maxrss`` is no measure here, since a
child started by fork + exec inherits its parent's high-water mark),
candidate pairs, the share the cross-encoder scored, pairs per second, blocking
recall and pairwise F1 of the final entities against the generator's truth.

The matcher trained on ``make_linkage`` products of another seed: no record of
these tables was trained on.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
logger = logging.getLogger("bench.scale")

SIZES = (10_000, 100_000, 1_000_000)
SPARK_SIZES = (10_000, 100_000)
SPARK_MASTER = "local[2]"
GENERATOR_SEED = 7
TOP_K = 3


def _pair_keys(a: pd.Series, b: pd.Series) -> pd.Series:
    a, b = a.astype(str), b.astype(str)
    return a.where(a < b, b) + "\x1f" + b.where(a < b, a)


def _tree_rss_mb(root: int) -> float:
    """Resident memory of ``root`` and all its descendants (from ``/proc``), in MB."""
    parent: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            parent[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue  # a process that ended while being read
    children: dict[int, list[int]] = {}
    for child, up in parent.items():
        children.setdefault(up, []).append(child)
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        tree.add(pid)
        todo += [c for c in children.get(pid, ()) if c not in tree]
    return sum(rss.get(p, 0) for p in tree) / 2**20


class TreePeak(threading.Thread):
    """Samples the resident memory of this process and its children (the JVM and
    the Python workers of Spark) every ``every`` seconds; ``peak_mb`` is the largest sum."""

    def __init__(self, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.every, self.peak_mb = every, 0.0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak_mb = max(self.peak_mb, _tree_rss_mb(os.getpid()))
            self._stop_event.wait(self.every)

    def stop(self) -> float:
        self._stop_event.set()
        self.join()
        return self.peak_mb


def child(engine_name: str, n_records: int) -> dict[str, Any]:
    """One run, in this process: the figures as a dict."""
    from bem.evaluate import evaluate_clusters
    from bem.pipeline import dedup
    from bench.scale import load
    from data import make_dedup

    t0 = time.perf_counter()
    # about 2.5 records per product: 5% more products than that, then cut to n_records
    n_entities = int(n_records / 2.5 * 1.05) + 10
    syn = make_dedup(n_entities=n_entities, seed=GENERATOR_SEED, progress=False)
    if len(syn.records) < n_records:
        raise RuntimeError(f"make_dedup gave {len(syn.records)} records, fewer than {n_records}")
    records = syn.records.iloc[:n_records]
    generate_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    matcher = load("synthetic", allow_training=False)
    if matcher is None:
        raise SystemExit("no cached synthetic matcher: run bench/scale.py with --allow-training")
    load_s = time.perf_counter() - t0
    engine: Any = "local"
    if engine_name == "spark":
        from bem.engines import SparkEngine

        engine = SparkEngine(master=SPARK_MASTER)
    sampler = TreePeak()
    sampler.start()
    t0 = time.perf_counter()
    result = dedup(
        records,
        matcher,
        key=("title",),
        top_k=TOP_K,
        explain_method="occlusion",
        engine=engine,
        progress=False,
    )
    total_s = time.perf_counter() - t0
    tree_peak = sampler.stop()  # before the session stops: the JVM is still counted
    if engine_name == "spark":
        engine.close()
    keep = set(records.index.astype(str))
    truth = syn.matches[syn.matches["ltable_id"].isin(keep) & syn.matches["rtable_id"].isin(keep)]
    metrics = evaluate_clusters(
        result.entities, truth, left_source="records", right_source="records"
    )
    found = set(_pair_keys(result.pairs["ltable_id"], result.pairs["rtable_id"]))
    true_keys = _pair_keys(truth["ltable_id"], truth["rtable_id"])
    recall = float(np.mean([k in found for k in true_keys])) if len(true_keys) else 1.0
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    counts = result.counts
    pairs = int(counts["candidates"])
    return {
        "engine": engine_name,
        "master": SPARK_MASTER if engine_name == "spark" else None,
        "cores": os.cpu_count(),
        "records": len(records),
        "seconds": total_s,
        "peak_mb": tree_peak,
        # not the peak: a child started by fork + exec inherits its parent's high-water
        # mark in ru_maxrss (2.6 GB here, the parent holding a trained matcher)
        "peak_mb_rusage": own,
        "f1": float(metrics.f1),
        "precision": float(metrics.precision),
        "recall": float(metrics.recall),
        "blocking_recall": recall,
        "pairs": pairs,
        "pairs_per_second": pairs / total_s,
        "records_per_second": len(records) / total_s,
        "decided_by_cascade": int(counts.get("decided_by_cascade", 0)),
        "decided_by_cross_encoder": int(counts.get("decided_by_cross_encoder", 0)),
        "stages": {
            "generate": generate_s,
            "load_model": load_s,
            **{k: float(v) for k, v in result.timings.items()},
        },
    }


def run(engine_name: str, n_records: int, *, timeout: float | None = None) -> dict[str, Any]:
    """One run in a fresh process; its figures (``timed_out`` when it ran past ``timeout``
    seconds: the run is stopped and only its size and the limit are reported)."""
    try:
        out = subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "scale.py"),
                "--child",
                engine_name,
                str(n_records),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        logger.warning("run %s %d stopped after %.0f s", engine_name, n_records, timeout)
        return {"engine": engine_name, "records": n_records, "timed_out": True, "seconds": timeout}
    if out.returncode != 0:
        raise RuntimeError(
            f"scale run {engine_name} {n_records} failed ({out.returncode}):\n{out.stderr[-3000:]}"
        )
    row = json.loads(out.stdout.strip().splitlines()[-1])
    logger.info("run %s %d: %s", engine_name, n_records, row)
    return row


def merge(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``old`` runs with those ``new`` repeats (same engine and size) replaced."""
    keys = {(r["engine"], r["records"]) for r in new}
    kept = [r for r in old if (r["engine"], r["records"]) not in keys]
    return sorted(kept + new, key=lambda r: (r["engine"], r["records"]))


def _ratio_lines(runs: list[dict[str, Any]]) -> list[str]:
    lines = []
    by = {(r["engine"], r["records"]): r for r in runs}
    by = {k: r for k, r in by.items() if not r.get("timed_out")}
    for engine in ("local", "spark"):
        sizes = sorted(n for e, n in by if e == engine)
        for small, big in itertools.pairwise(sizes):
            a, b = by[(engine, small)], by[(engine, big)]
            lines.append(
                f"- {engine}, {small:,} -> {big:,} records ({big / small:.0f}x): time "
                f"x{b['seconds'] / a['seconds']:.2f}, pairs x{b['pairs'] / max(a['pairs'], 1):.2f}"
            )
    if ("local", 100_000) in by and ("local", 1_000_000) in by:
        a = by[("local", 100_000)]["blocking_recall"]
        b = by[("local", 1_000_000)]["blocking_recall"]
        lines.append(
            f"- blocking recall, local, 100,000 -> 1,000,000 records: {a:.3f} -> {b:.3f} "
            f"(target: within 0.02): {'met' if b >= a - 0.02 else 'NOT met'}"
        )
    for (engine, n), r in sorted(by.items()):
        if engine == "spark" and ("local", n) in by:
            local = by[("local", n)]
            lines.append(
                f"- Spark over local at {n:,} records: {r['seconds'] / local['seconds']:.2f}x "
                f"the time (target at 100,000: under 1.5x); entities F1 {100 * r['f1']:.2f} vs "
                f"{100 * local['f1']:.2f}"
            )
    return lines


def projection(runs: list[dict[str, Any]], *, records: int = 10**8, cores: int = 16) -> list[str]:
    """Projected time for ``records`` on workers of ``cores`` cores, from the largest local
    run's seconds per record per stage (each stage assumed to scale linearly in records
    and in cores, which blocking's joins and clustering's rounds do only roughly)."""
    local = [r for r in runs if r["engine"] == "local" and not r.get("timed_out")]
    if not local:
        return []
    base = max(local, key=lambda r: r["records"])
    used = base.get("cores") or 2  # the run's machine, not the one rendering this
    stages = {
        k: v for k, v in base["stages"].items() if k in ("block", "score", "cluster", "explain")
    }
    per_record_core = {k: v * used / base["records"] for k, v in stages.items()}
    limiting = max(per_record_core, key=per_record_core.get)
    lines = [
        f"Projection for {records:,} records from the {base['records']:,}-record local run "
        f"({used} cores; core-seconds per record: "
        + ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in per_record_core.items())
        + f"); the limiting stage is **{limiting}**:",
        "",
    ]
    spark = {r["records"]: r for r in runs if r["engine"] == "spark" and not r.get("timed_out")}
    same = {n: r for n, r in spark.items() if any(x["records"] == n for x in local)}
    overhead = None
    if same:
        n = max(same)
        overhead = same[n]["seconds"] / next(x for x in local if x["records"] == n)["seconds"]
    for workers in (1, 10, 100):
        total = sum(per_record_core.values()) * records / (workers * cores)
        line = f"- {workers} x {cores}-core workers: {_duration(total)} at the local rates"
        if overhead is not None:
            line += (
                f", {_duration(overhead * total)} with Spark's measured {overhead:.1f}x overhead"
            )
        lines.append(line)
    lines += [
        "",
        f"Linear scaling is assumed. {limiting.capitalize()} sets the time; blocking sets "
        "what is found: at 10^6 records its recall already falls (above), and its joins "
        "and clustering's rounds grow faster than linearly, so these times are a lower bound.",
    ]
    return lines


def _duration(seconds: float) -> str:
    """Hours with one decimal, or minutes below an hour (0.0 h says nothing)."""
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def markdown(runs: list[dict[str, Any]], meta: dict[str, Any]) -> list[str]:
    lines = [
        "## Synthetic dedup as records grow (`--section runs`)",
        "",
        f"Command: `{meta.get('command', '')}`; {meta.get('date', '')}. "
        "Targets: 10^6 records in under 1 hour with peak memory under 8 GB; Spark "
        "(`local[2]`) under 1.5x the local engine's time at 10^5; time linear in records.",
        "",
        "| engine | records | seconds | block s | score s | cluster s | explain s | peak MB "
        "| pairs | to transformer | pairs/s | blocking recall | F1 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        if r.get("timed_out"):
            lines.append(
                f"| {r['engine']} | {r['records']:,} | stopped after {r['seconds']:.0f} s, "
                "unfinished | | | | | | | | | | |"
            )
            continue
        s = r["stages"]
        share = r["decided_by_cross_encoder"] / max(r["pairs"], 1)
        lines.append(
            f"| {r['engine']} | {r['records']:,} | {r['seconds']:.0f} | {s.get('block', 0):.1f} | "
            f"{s.get('score', 0):.1f} | {s.get('cluster', 0):.1f} | {s.get('explain', 0):.1f} | "
            f"{r['peak_mb']:.0f} | {r['pairs']:,} | {share:.3f} | {r['pairs_per_second']:.0f} | "
            f"{r['blocking_recall']:.4f} | {100 * r['f1']:.2f} |"
        )
    lines += ["", *_ratio_lines(runs), "", *projection(runs), ""]
    lines += [f"- {note}" for note in meta.get("notes", [])]
    return lines
