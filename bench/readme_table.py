"""The README's results table, generated from ``bench/results/*.json``.

Every figure in the table is read from a results file a benchmark wrote, and
every row names the command that reproduces it, so the README cannot drift from
the measurements. The table sits between two markers in ``README.md``::

    <!-- results:start -->  ...  <!-- results:end -->

    python bench/readme_table.py           # rewrite the table in README.md
    python bench/readme_table.py --check   # exit 1 when README.md is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# run as bench/readme_table.py: its folder must not shadow the packages (bench/explain.py)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench import explain_tables  # noqa: E402
from bench.label_tables import (  # noqa: E402
    Row,
    active_rows,
    cite,
    label_efficiency_rows,
    label_latency_rows,
    verdict,
)

RESULTS = ROOT / "bench" / "results"
README = ROOT / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"

_LOCK = "flock /tmp/bem-cpu.lock .venv/bin/"  # how benchmarks queue for the CPU here


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def blocking_rows(res: dict[str, Any]) -> list[Row]:
    targets = {"abt_buy": (0.99, 10), "dblp_acm": (0.999, 5)}
    rows: list[Row] = []
    for name, (recall, per_record) in targets.items():
        block = res["datasets"].get(name)
        if not block:
            continue
        label = next(k for k in block if "on half of the true pairs" in k)
        row = block[label]
        held, cpr = row["held_out_recall"], row["candidates_per_record"]
        rows.append(
            (
                f"blocking recall, {name} (tune_blocker on half the true pairs)",
                f"{held:.4f} on the other half, at {cpr:.2f} candidates/record",
                f">= {recall} at <= {per_record}: {verdict(held >= recall and cpr <= per_record)}",
                f"`python bench/blocking.py --datasets {name} --sizes`",
            )
        )
    cora = res["datasets"].get("cora", {}).get("_bounds")
    if cora:
        rows.append(
            (
                "blocking, cora",
                f"recall 0.99 allows a reduction ratio of at most "
                f"{cora['max_reduction_at_target_recall']} (bound from the data)",
                "recall >= 0.99 at RR >= 0.99: impossible on this data",
                "`python bench/blocking.py --datasets cora --sizes`",
            )
        )
    return rows


def matching_rows(res: dict[str, Any]) -> list[Row]:
    sets = [s for s in ("abt_buy", "amazon_google", "dblp_acm") if s in res]
    f1 = ", ".join(f"{s} {100 * res[s]['test_f1']:.1f}" for s in sets)
    dm = " / ".join(f"{100 * res[s]['deepmatcher_f1']:.1f}" for s in sets)
    ditto = " / ".join(f"{100 * res[s]['ditto_f1']:.1f}" for s in sets)
    beats_dm = all(res[s]["test_f1"] > res[s]["deepmatcher_f1"] for s in sets)
    beats_ditto = all(res[s]["test_f1"] >= res[s]["ditto_f1"] for s in sets)
    speed = ", ".join(
        f"{s} {res[s]['speedup']:.2f}x (int8 {res[s]['int8_speedup']:.2f}x, "
        f"F1 {100 * res[s]['int8_f1_change']:+.2f})"
        for s in sets
    )
    fast = [s for s in sets if res[s]["speedup"] >= 3]
    return [
        (
            "matcher test F1 (MiniLM, DeepMatcher test splits)",
            f1,
            f"beat DeepMatcher ({dm}): {verdict(beats_dm)}; "
            f"Ditto ({ditto}): {verdict(beats_ditto)}",
            "`python bench/matching.py`",
        ),
        (
            "scoring, optimized vs naive (same F1)",
            speed,
            f">= 3x at equal F1: met on {', '.join(fast) or 'none'}",
            "`python bench/matching.py`",
        ),
    ]


def pipeline_rows(res: dict[str, Any]) -> list[Row]:
    # only rows measured under the out-of-sample protocol are quoted
    sets = [s for s in ("dblp_acm", "abt_buy", "cora") if "train_overlap_pairs" in res.get(s, {})]
    if not sets:
        return []
    cells = ", ".join(
        f"{s} {res[s]['f1']:.3f} vs {res[s]['baseline_f1']:.3f} ({res[s]['clustering']})"
        for s in sets
    )
    leak = sum(res[s]["train_overlap_pairs"] + res[s]["train_overlap_records"] for s in sets)
    same = all(res[s]["baseline_clustering"] == res[s]["clustering"] for s in sets)
    commands = sorted({res[s]["command"] for s in sets})
    return [
        (
            "end-to-end F1 vs rapidfuzz baseline (out of sample, same clustering)",
            cells,
            f"evaluated pairs/records seen in training: {leak}; baseline clustered as BEM: "
            f"{'yes' if same else 'no'}",
            "; ".join(f"`{c}`" for c in commands),
        )
    ]


def _commands(blocks: Any) -> str:
    """The distinct commands of explain.json blocks (their run, else their own), as code."""
    commands = {
        b.get("command") or b.get("run", {}).get("command", "python bench/explain.py")
        for b in blocks
    }
    return "; ".join(f"`{c.replace(_LOCK, '')}`" for c in sorted(commands))


def explain_rows(res: dict[str, Any]) -> list[Row]:
    models = res["models"]
    rows: list[Row] = []
    medians = {
        n: b["methods"]["occlusion"]["median_seconds_per_pair"]
        for n, b in models.items()
        if "occlusion" in b.get("methods", {})
    }
    if medians:
        rows.append(
            (
                "explanation time, occlusion (default)",
                f"{min(medians.values()):.2f}-{max(medians.values()):.2f} s per pair (median)",
                f"< 1 s: {verdict(max(medians.values()) < 1)}",
                _commands(models.values()),
            )
        )
    summary, met = [], []
    for name, block in models.items():
        methods = block.get("methods", {})
        if block.get("skipped"):
            continue
        measured = explain_tables.bar(methods)
        if measured is None:
            met.append(False)  # a matcher the bar cannot judge is not a pass
            summary.append(f"{name}: LIME and KernelSHAP not both measured")
            continue
        baselines, verdicts = measured
        won = explain_tables.winners(verdicts)
        met.append(bool(won))
        if "occlusion" not in methods:
            summary.append(f"{name}: bar " + (f"met by {', '.join(won)}" if won else "not met"))
            continue
        o = methods["occlusion"]
        best_auc = min(baselines, key=lambda b: methods[b]["field_removal_auc"])
        best_deg = max(baselines, key=lambda b: methods[b]["field_removal_degradation"])
        summary.append(
            f"{name}: occlusion removal AUC {o['field_removal_auc']:.3f} (best baseline "
            f"{best_auc} {methods[best_auc]['field_removal_auc']:.3f}), degradation "
            f"{o['field_removal_degradation']:.3f} ({best_deg} "
            f"{methods[best_deg]['field_removal_degradation']:.3f}); bar "
            + (f"met by {', '.join(won)}" if won else "not met")
        )
    if summary:
        rows.append(
            (
                "field methods vs LIME/KernelSHAP at every sample count measured "
                "(field-removal metrics after CERTA and CREW)",
                "; ".join(summary),
                "a field method wins both metrics with 10x fewer calls on every matcher: "
                + verdict(all(met)),
                _commands(models.values()),
            )
        )
    syn = models.get("synthetic", {}).get("methods", {}).get("occlusion")
    if syn:
        rows.append(
            (
                "planted-cause accuracy (synthetic hard negatives, occlusion)",
                f"{syn['planted_cause_accuracy']:.2f}",
                f">= 0.9: {verdict(syn['planted_cause_accuracy'] >= 0.9)}",
                _commands([models["synthetic"]]),
            )
        )
    return rows


def demo_rows(res: dict[str, Any]) -> list[Row]:
    return [
        (
            "`bem demo` pairwise F1",
            f"{res['f1']:.3f} in {res['seconds']:.0f} s ({res['train_seconds']:.0f} s training)",
            f">= 0.9 in < 5 min: {verdict(res['f1'] >= 0.9 and res['seconds'] < 300)}",
            f"`{res['command']}`",
        )
    ]


def evidence_rows(res: dict[str, Any]) -> list[Row]:
    after = res.get("after", {}).get("models", {})
    if not after:
        return []
    below = all(r["p_all_empty"] < r["threshold"] for r in after.values())
    measured = ", ".join(
        f"{n} {r['p_all_empty']:.3f} (threshold {r['threshold']:.2f})" for n, r in after.items()
    )
    commands = sorted({r.get("command", res["after"]["command"]) for r in after.values()})
    return [
        (
            "P(match) of two all-empty records, matchers retrained with no-evidence copies",
            measured,
            f"below the threshold for every matcher: {verdict(below)} (measured: "
            f"{', '.join(after)})",
            "; ".join(f"`{c}`" for c in commands),
        )
    ]


def counterfactual_rows(res: dict[str, Any]) -> list[Row]:
    models = res["models"]
    blocks = {n: b["counterfactual"] for n, b in models.items() if b.get("counterfactual")}
    if not blocks:
        return []
    measured = ", ".join(
        f"{n} {c['coverage']:.2f} ({c['calls_per_pair']:.1f} calls)" for n, c in blocks.items()
    )
    ok = all(c["coverage"] >= 0.9 and c["calls_per_pair"] <= 30 for c in blocks.values())

    # a block merged from another run names its command; else it is its matcher's run's
    def source(name: str) -> dict[str, Any]:
        return blocks[name] if blocks[name].get("command") else models[name]

    rows = [
        (
            "counterfactuals found within 3 field edits (share of explained pairs)",
            measured,
            f">= 0.9 with <= 30 calls per pair: {verdict(ok)}",
            _commands([source(n) for n in blocks]),
        )
    ]
    syn = blocks.get("synthetic", {})
    # planted_hit is over the rejected hard negatives since planted_hit_all sits beside it;
    # an older block's planted_hit counted every hard negative
    rejected = syn.get("planted_hit_all") is not None
    if syn.get("planted_hit") is not None:
        rows.append(
            (
                "counterfactuals on synthetic hard negatives"
                + (" the matcher rejects" if rejected else " (all, false positives included)")
                + ": the planted attribute edited",
                f"{syn['planted_hit']:.2f} of {syn['planted_pairs']}"
                + (
                    f" ({syn['planted_hit_all']:.2f} of all {syn['planted_pairs_all']} hard "
                    "negatives, false positives included)"
                    if rejected
                    else ""
                ),
                f">= 0.9: {verdict(syn['planted_hit'] >= 0.9)}",
                _commands([source("synthetic")]),
            )
        )
    return rows


def scale_rows(res: dict[str, Any]) -> list[Row]:
    cascade = res.get("cascade")
    if not cascade:
        return []
    measured = ", ".join(
        f"{n} {p['transformer_calls_ratio']:.0f}x at F1 {p['f1_change_points']:+.2f}"
        for n, p in cascade.items()
    )
    ok = all(
        p["transformer_calls_ratio"] >= 5 and p["f1_change_points"] >= -0.5
        for p in cascade.values()
    )
    return [
        (
            "cascade: fewer transformer calls, F1 change (test splits)",
            measured,
            f">= 5x at >= -0.5 points on each set: {verdict(ok)}",
            cite({p["command"] for p in cascade.values()}),
        )
    ]


def scale_run_rows(res: dict[str, Any]) -> list[Row]:
    every = res.get("runs", [])
    runs = [r for r in every if not r.get("timed_out")]
    if not every:
        return []
    default = res["runs_run"]["command"]  # rows from before each row kept its command

    def commands(*of: dict[str, Any]) -> set[str]:
        return {r.get("command", default) for r in of}

    rows = [
        (
            f"synthetic dedup, {r['records']:,} records, {r['engine']} engine",
            f"stopped unfinished after {r['seconds'] / 60:.0f} min",
            f"< 1 hour: {verdict(False)}",
            cite(commands(r)),
        )
        for r in every
        if r.get("timed_out") and r["records"] >= 10**6
    ]
    big = [r for r in runs if r["engine"] == "local" and r["records"] >= 10**6]
    if big:
        r = big[0]
        ok = r["seconds"] < 3600 and r["peak_mb"] < 8192
        target = f"< 1 hour and < 8 GB: {verdict(ok)}"
        before = [x for x in runs if x["engine"] == "local" and x["records"] == r["records"] // 10]
        if before:
            held = r["blocking_recall"] >= before[0]["blocking_recall"] - 0.02
            target += (
                f"; blocking recall within 0.02 of {before[0]['records']:,} records' "
                f"({before[0]['blocking_recall']:.3f}): {verdict(held)}"
            )
        rows.append(
            (
                f"synthetic dedup, {r['records']:,} records, local engine",
                f"{r['seconds'] / 60:.1f} min, peak {r['peak_mb'] / 1024:.1f} GB, F1 "
                f"{100 * r['f1']:.1f}, blocking recall {r['blocking_recall']:.3f}",
                target,
                cite(commands(r, *before[:1])),  # the recall comparison cites both runs
            )
        )
    by = {(r["engine"], r["records"]): r for r in runs}
    if ("spark", 100_000) in by and ("local", 100_000) in by:
        spark, local = by[("spark", 100_000)], by[("local", 100_000)]
        both = commands(spark, local)
        mixed = " (the two runs came from different commands: see bench/results/scale.md)"
        rows.append(
            (
                "Spark (`local[2]`) over the local engine, 100,000 records",
                f"{spark['seconds'] / local['seconds']:.2f}x the time"
                + (mixed if len(both) > 1 else ""),
                f"< 1.5x: {verdict(spark['seconds'] / local['seconds'] < 1.5)}",
                cite(both),
            )
        )
    return rows


SECTIONS: list[tuple[str, Callable[[dict[str, Any]], list[Row]]]] = [
    ("blocking", blocking_rows),
    ("matching", matching_rows),
    ("pipeline", pipeline_rows),
    ("explain", explain_rows),
    ("explain", counterfactual_rows),
    ("evidence", evidence_rows),
    ("scale", scale_rows),
    ("scale", scale_run_rows),
    ("label_efficiency", label_efficiency_rows),
    ("label_efficiency", active_rows),
    ("label_latency", label_latency_rows),
    ("demo", demo_rows),
]


def table() -> str:
    lines = [
        START,
        "<!-- generated by `python bench/readme_table.py` from bench/results/*.json; "
        "do not edit by hand -->",
        "",
        "| what | measured | target | reproduce with |",
        "|---|---|---|---|",
    ]
    for name, rows in SECTIONS:
        res = _load(name)
        if res is None:
            continue
        for row in rows(res):
            lines.append("| " + " | ".join(row) + " |")
    lines.append(END)
    return "\n".join(lines)


def render(readme: str) -> str:
    if START not in readme or END not in readme:
        raise SystemExit(f"{README}: the markers {START} and {END} are missing")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return head + table() + tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if README.md is stale")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    new = render(text)
    if args.check:
        if new != text:
            print("README.md's results table is out of date: run python bench/readme_table.py")
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
