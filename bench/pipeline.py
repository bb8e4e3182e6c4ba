"""End-to-end pipeline benchmark: block, score, cluster on the shared datasets.

Links ``ccer/dblp_acm`` and ``ccer/abt_buy`` with the matchers trained on the
matching Magellan training split, and dedups ``dedup/cora`` with a matcher
trained on pairs from half of its entities (evaluated on the other half). Next
to each run, a rapidfuzz-threshold baseline on the same candidates (its
threshold tuned on the same training pairs). Then the scale run: dedup of
synthetic product tables of 5,000 and 20,000 records, each in a fresh process
so its peak memory is its own.

    python bench/pipeline.py            # everything (writes bench/results/pipeline.{md,json})
    python bench/pipeline.py --scale-only
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATASETS = ROOT.parent / "shared" / "datasets"
RESULTS = ROOT / "bench" / "results"

logger = logging.getLogger("bench.pipeline")

# blocking settings per dataset (from bench/results/blocking.md)
BLOCKING = {
    "dblp_acm": {"key": ("title",), "top_k": 5},
    "abt_buy": {"key": ("name",), "top_k": 10},
    "cora": {"key": ("author", "title", "year"), "top_k": 30},
}


def _rapidfuzz_scores(left, right, lids, rids, key):
    from rapidfuzz import fuzz

    def text(table, i):
        vals = [table.at[i, k] for k in key]
        return " ".join(str(v) for v in vals if isinstance(v, str)).lower()

    return np.array(
        [fuzz.token_set_ratio(text(left, a), text(right, b)) / 100 for a, b in zip(lids, rids)]
    )


def _tune_baseline(pairs, key) -> float:
    """The rapidfuzz threshold with the best F1 on labelled training pairs."""
    s = _rapidfuzz_scores(
        pairs.left, pairs.right, pairs.pairs["ltable_id"], pairs.pairs["rtable_id"], key
    )
    y = pairs.labels
    best, best_t = -1.0, 0.5
    for t in np.unique(s):
        pred = s >= t
        tp = int((pred & (y == 1)).sum())
        p = tp / max(int(pred.sum()), 1)
        r = tp / max(int(y.sum()), 1)
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        if f1 > best:
            best, best_t = f1, float(t)
    return best_t


def _baseline_f1(left, right, cands, key, threshold, matches, *, sources):
    """F1 of the rapidfuzz-threshold baseline over the same candidates."""
    from bem.evaluate import evaluate_clusters
    from bem.pipeline import resolve_entities

    lids = cands["ltable_id"].astype(str).to_numpy()
    rids = cands["rtable_id"].astype(str).to_numpy()
    s = _rapidfuzz_scores(left, right if right is not None else left, lids, rids, key)
    ent, _ = resolve_entities(
        left,
        right,
        lids,
        rids,
        s,
        threshold=threshold,
        method="components",
        one_to_one_links=right is not None,
        sources=sources,
    )
    return evaluate_clusters(ent, matches, left_source=sources[0], right_source=sources[1])


def run_linkage(name: str) -> dict:
    from bem.evaluate import evaluate_clusters
    from bem.pipeline import block, link, resolve_entities
    from bench.common import magellan_matcher
    from blocking import evaluate_blocking
    from data import load_deepmatcher, load_linkage

    ds = load_linkage(DATASETS / "ccer" / name)
    cfg = BLOCKING[name]
    t0 = time.perf_counter()
    matcher = magellan_matcher(name)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    cands = block(ds.left, ds.right, key=cfg["key"], top_k=cfg["top_k"], progress=False)
    block_s = time.perf_counter() - t0
    bm = evaluate_blocking(cands, ds.matches, n_left=len(ds.left), n_right=len(ds.right))
    result = link(
        ds.left,
        ds.right,
        matcher,
        candidates=cands,
        one_to_one=True,
        explain_method=None,
        progress=True,
    )
    m = evaluate_clusters(result.entities, ds.matches)
    avg, _ = resolve_entities(
        ds.left,
        ds.right,
        result.pairs["ltable_id"].to_numpy(),
        result.pairs["rtable_id"].to_numpy(),
        result.pairs["probability"].to_numpy(),
        threshold=result.threshold,
        method="average",
    )
    m_avg = evaluate_clusters(avg, ds.matches)
    train = load_deepmatcher(DATASETS / "magellan" / name).train
    thr = _tune_baseline(train, cfg["key"])
    base = _baseline_f1(
        ds.left,
        ds.right,
        cands,
        cfg["key"],
        thr,
        ds.matches,
        sources=("left", "right"),
    )
    timings = {"load_model": load_s, **result.timings, "block": block_s}
    return {
        "dataset": f"ccer/{name}",
        "mode": "link (one-to-one)",
        "records": len(ds.left) + len(ds.right),
        "blocking": f"fuzzy {'+'.join(cfg['key'])} top-{cfg['top_k']}",
        "blocking_recall": bm.recall,
        "pairs_scored": len(cands),
        "precision": m.precision,
        "recall": m.recall,
        "f1": m.f1,
        "f1_average_linkage": m_avg.f1,
        "baseline_f1": base.f1,
        "baseline_threshold": thr,
        "timings": timings,
        "seconds": sum(timings.values()),
        "pairs_per_second": len(cands) / result.timings["score"],
    }


def _cora_split(seed: int = 0):
    """Records of half of Cora's entities for training, the rest for evaluation."""
    from bem.cluster import connected_components
    from data import load_dedup

    ds = load_dedup(DATASETS / "dedup" / "cora")
    ids = ds.records.index.astype(str)
    pos = pd.Series(np.arange(len(ids)), index=ids)
    ent = connected_components(
        len(ids), pos.loc[ds.matches["ltable_id"]], pos.loc[ds.matches["rtable_id"]]
    )
    rng = np.random.default_rng(seed)
    uniq = np.unique(ent)
    train_ents = set(rng.choice(uniq, size=len(uniq) // 2, replace=False).tolist())
    in_train = np.array([e in train_ents for e in ent])
    return ds, ids, ent, in_train


def _cora_pairs(records, entity, key, *, seed, max_pairs):
    """Labelled pairs over ``records``: blocked candidates plus all-positive samples."""
    from bem.pipeline import block
    from data import RecordPairs

    cands = block(records, None, key=key, top_k=10, progress=False)
    lab = entity.loc[cands["ltable_id"]].to_numpy() == entity.loc[cands["rtable_id"]].to_numpy()
    pairs = cands[["ltable_id", "rtable_id"]].assign(label=lab.astype("int8"))
    rng = np.random.default_rng(seed)
    if len(pairs) > max_pairs:
        pairs = pairs.iloc[np.sort(rng.choice(len(pairs), size=max_pairs, replace=False))]
    return RecordPairs(records, records, pairs.reset_index(drop=True))


def run_cora() -> dict:
    from bem.evaluate import evaluate_clusters
    from bem.pipeline import block, dedup, resolve_entities
    from bem.training import split_train_valid
    from bench.common import cached_matcher
    from blocking import evaluate_blocking

    cfg = BLOCKING["cora"]
    ds, ids, ent, in_train = _cora_split()
    entity = pd.Series(ent, index=ids)
    train_records = ds.records.loc[ids[in_train]]
    test_records = ds.records.loc[ids[~in_train]]
    labelled = _cora_pairs(train_records, entity, cfg["key"], seed=0, max_pairs=1600)
    train, valid = split_train_valid(labelled, seed=0)
    t0 = time.perf_counter()
    matcher, info = cached_matcher(
        "cora-half",
        train=train,
        valid=valid,
        config={
            "model": None,
            "max_length": 96,
            "attributes": ["title", "author", "venue", "year"],
            "pooling": "cls",  # trained before the mean-pooled head was the default
        },
        fit_kwargs={"epochs": 2, "learning_rate": 1e-4, "batch_size": 32},
    )
    train_s = time.perf_counter() - t0
    test_ids = set(test_records.index.astype(str))
    truth = ds.matches[
        ds.matches["ltable_id"].isin(test_ids) & ds.matches["rtable_id"].isin(test_ids)
    ].reset_index(drop=True)
    t0 = time.perf_counter()
    cands = block(test_records, None, key=cfg["key"], top_k=cfg["top_k"], progress=False)
    block_s = time.perf_counter() - t0
    bm = evaluate_blocking(cands, truth, n_left=len(test_records))
    result = dedup(test_records, matcher, candidates=cands, explain_method=None, source="cora")
    m = evaluate_clusters(result.entities, truth, left_source="cora", right_source="cora")
    comp, _ = resolve_entities(
        test_records,
        None,
        result.pairs["ltable_id"].to_numpy(),
        result.pairs["rtable_id"].to_numpy(),
        result.pairs["probability"].to_numpy(),
        threshold=result.threshold,
        method="components",
        sources=("cora", "cora"),
    )
    m_comp = evaluate_clusters(comp, truth, left_source="cora", right_source="cora")
    thr = _tune_baseline(labelled, cfg["key"])
    base = _baseline_f1(
        test_records,
        None,
        cands,
        cfg["key"],
        thr,
        truth,
        sources=("cora", "cora"),
    )
    timings = {"train_or_load": train_s, **result.timings, "block": block_s}
    return {
        "dataset": "dedup/cora (held-out half)",
        "mode": "dedup (average linkage)",
        "records": len(test_records),
        "blocking": f"fuzzy {'+'.join(cfg['key'])} top-{cfg['top_k']}",
        "blocking_recall": bm.recall,
        "pairs_scored": len(cands),
        "precision": m.precision,
        "recall": m.recall,
        "f1": m.f1,
        "f1_components": m_comp.f1,
        "baseline_f1": base.f1,
        "baseline_threshold": thr,
        "train_pairs": len(labelled),
        "train_seconds": info.get("train_seconds"),
        "timings": timings,
        "seconds": sum(timings.values()),
        "pairs_per_second": len(cands) / result.timings["score"],
    }


def scale_child(n_records: int) -> None:
    """One scale run (in its own process): dedup ``n_records`` synthetic products."""
    from bem.evaluate import evaluate_clusters
    from bem.pipeline import dedup
    from bench.common import synthetic_matcher
    from data import make_dedup

    t0 = time.perf_counter()
    # make_dedup makes about 2.5 records per entity on average
    syn = make_dedup(n_entities=max(1, n_records * 2 // 5), seed=7)
    records = syn.records.iloc[:n_records]
    gen_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    matcher = synthetic_matcher()
    load_s = time.perf_counter() - t0
    result = dedup(
        records, matcher, key=("title",), top_k=3, explain_method="occlusion", progress=False
    )
    keep = set(records.index.astype(str))
    truth = syn.matches[syn.matches["ltable_id"].isin(keep) & syn.matches["rtable_id"].isin(keep)]
    m = evaluate_clusters(result.entities, truth, left_source="records", right_source="records")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "records": len(records),
                "pairs_scored": result.counts["candidates"],
                "explained": result.counts["explained"],
                "timings": {"generate": gen_s, "load_model": load_s, **result.timings},
                "peak_memory_mb": peak,
                "f1": m.f1,
            }
        )
    )


def run_scale(sizes=(5_000, 20_000)) -> list[dict]:
    rows = []
    for n in sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--scale-child", str(n)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        logger.info("scale %d: %s", n, rows[-1])
    return rows


def _markdown(rows: list[dict], scale: list[dict], command: str) -> str:
    import torch

    lines = [
        "# End-to-end pipeline benchmark",
        "",
        f"Commands (results merged across runs): {command}  ",
        f"Machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads  ",
        f"Date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        "",
        "In the runs committed here the Abt-Buy and Cora rows ran with one torch thread "
        "(`OMP_NUM_THREADS=1`) beside other benchmarks, with the [CLS]-head matchers of "
        "`bench/common.py`; the DBLP-ACM row was re-run alone with two threads and the "
        "mean-pooled 256-token matcher (test F1 98.5, `bench/results/matching.md`); the "
        "scale rows ran with two threads. Compare rows of one table, not across tables.",
        "",
    ]
    if rows:
        lines += [
            "Pairwise precision / recall / F1 over the final entities against the complete "
            "ground truth. Baseline: rapidfuzz token-set ratio on the blocking key over the same "
            "candidates, threshold tuned for F1 on the same training pairs, clustered the same "
            "way (one-to-one for linkage, components for dedup).",
            "",
            "| dataset | mode | records | blocking | blocking recall | pairs scored | precision "
            "| recall | F1 | baseline F1 | seconds | scoring pairs/s |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            lines.append(
                f"| {r['dataset']} | {r['mode']} | {r['records']} | {r['blocking']} | "
                f"{r['blocking_recall']:.4f} | {r['pairs_scored']} | {r['precision']:.4f} | "
                f"{r['recall']:.4f} | **{r['f1']:.4f}** | {r['baseline_f1']:.4f} | "
                f"{r['seconds']:.0f} | {r['pairs_per_second']:.0f} |"
            )
        lines += ["", "Time per stage (seconds):", ""]
        for r in rows:
            stages = ", ".join(f"{k} {v:.1f}" for k, v in r["timings"].items())
            lines.append(f"- {r['dataset']}: {stages}")
        extra = [r for r in rows if "f1_average_linkage" in r]
        if extra:
            lines += [
                "",
                "Linkage with average-linkage clustering instead of one-to-one (with two "
                "duplicate-free sources and a high threshold, average linkage rarely merges "
                "more than one record per side, so it lands close to the one-to-one "
                "assignment):",
                "",
            ]
            for r in extra:
                lines.append(f"- {r['dataset']}: F1 {r['f1_average_linkage']:.4f}")
        comp = [r for r in rows if "f1_components" in r]
        if comp:
            lines += ["", "Dedup with connected components instead of average linkage:", ""]
            for r in comp:
                lines.append(
                    f"- {r['dataset']}: F1 {r['f1_components']:.4f} (average linkage "
                    f"{r['f1']:.4f}): connected components chain distinct entities together "
                    "through single false links; average linkage does not"
                )
    if scale:
        lines += [
            "",
            "## Scale: dedup of synthetic products (fuzzy title top-3, MiniLM synthetic matcher,",
            "average linkage, 30 explained pairs), each size in a fresh process",
            "",
            "| records | pairs scored | block s | score s | cluster s | explain s | total s "
            "| peak memory MB | F1 |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for s in scale:
            t = s["timings"]
            lines.append(
                f"| {s['records']} | {s['pairs_scored']} | {t['block']:.1f} | {t['score']:.1f} | "
                f"{t['cluster']:.2f} | {t['explain']:.1f} | {sum(t.values()):.1f} | "
                f"{s['peak_memory_mb']:.0f} | {s['f1']:.4f} |"
            )
        if len(scale) >= 2:
            a, b = scale[0], scale[-1]
            ta, tb = sum(a["timings"].values()), sum(b["timings"].values())
            ratio_n = b["records"] / a["records"]
            lines += [
                "",
                f"From {a['records']} to {b['records']} records ({ratio_n:.0f}x): total time "
                f"x{tb / ta:.2f}, pairs scored x{b['pairs_scored'] / a['pairs_scored']:.2f}, "
                f"scoring time x{b['timings']['score'] / a['timings']['score']:.2f}: growth is "
                "linear in the number of records because blocking proposes a fixed number of "
                "candidates per record and scoring dominates.",
            ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale-only", action="store_true")
    parser.add_argument("--no-scale", action="store_true")
    parser.add_argument("--scale-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--render", action="store_true", help="only re-render the results from pipeline-raw.json"
    )
    parser.add_argument("--datasets", nargs="*", default=["dblp_acm", "abt_buy", "cora"])
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.scale_child:
        scale_child(args.scale_child)
        return
    raw_file = RESULTS / "pipeline-raw.json"
    raw = json.loads(raw_file.read_text()) if raw_file.exists() else {"rows": {}, "scale": []}
    commands = raw.get("commands", [])
    if args.render:
        pass
    elif not args.scale_only:
        if not DATASETS.exists():
            sys.exit(f"{DATASETS} not found: the shared datasets are needed")
        for name in args.datasets:
            row = run_cora() if name == "cora" else run_linkage(name)
            row["command"] = "python bench/pipeline.py " + " ".join(sys.argv[1:])
            raw["rows"][name] = row
            logger.info("%s: %s", name, row)
    if not (args.no_scale or args.render):
        raw["scale"] = run_scale()
    if not args.render:
        commands.append("python bench/pipeline.py " + " ".join(sys.argv[1:]))
    raw["commands"] = commands
    RESULTS.mkdir(parents=True, exist_ok=True)
    raw_file.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
    rows = [raw["rows"][k] for k in ("dblp_acm", "abt_buy", "cora") if k in raw["rows"]]
    md = _markdown(rows, raw["scale"], "; ".join(f"`{c.strip()}`" for c in commands))
    print(md)
    (RESULTS / "pipeline.md").write_text(md, encoding="utf-8")
    payload = {
        r["dataset"].split()[0].split("/")[-1]: {
            "blocking_recall": r["blocking_recall"],
            "pairs_scored": r["pairs_scored"],
            "precision": r["precision"],
            "recall": r["recall"],
            "f1": r["f1"],
            "baseline_f1": r["baseline_f1"],
            "seconds": r["seconds"],
        }
        for r in rows
    }
    if raw["scale"]:
        payload["scale"] = raw["scale"]
    (RESULTS / "pipeline.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
