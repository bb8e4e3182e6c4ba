"""Faithfulness, cost and speed of every explanation method, side by side (issue 5).

For each matcher (trained on the synthetic products, on Amazon-Google and on
DBLP-ACM; see ``bench/common.py``) the script explains the same 200 test pairs
with every method and measures ERASER comprehensiveness/sufficiency, CERTA
attribute faithfulness, CREW degradation, planted-cause accuracy (synthetic
only), model calls per pair and seconds per pair. It prints a Markdown table and
writes ``bench/results/explain.md`` and ``bench/results/explain.json``.

Test pairs (fixed seeds):
- synthetic: ``make_linkage`` with another seed than the training data; 100
  hard negatives (siblings with a planted differing attribute) and 100 other
  pairs drawn at random.
- Amazon-Google, DBLP-ACM: 100 matches and 100 non-matches drawn at random from
  the DeepMatcher ``test.csv``.

Run (it trains nothing unless ``--allow-training``; the matchers come from the
cache that ``bench/common.py`` fills)::

    flock /tmp/bem-cpu.lock .venv/bin/python bench/explain.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# this script is bench/explain.py: its folder must not shadow the explain package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from data import RecordPairs  # noqa: E402
from explain import (  # noqa: E402
    DEFAULT_METHOD,
    METHODS,
    Explainer,
    evaluate_faithfulness,
    planted_cause_accuracy,
)

logger = logging.getLogger("bench.explain")

MODELS = ("synthetic", "amazon_google", "dblp_acm")
RESULTS = ROOT / "bench" / "results"

# Sample counts: LIME and KernelSHAP get 100 samples (10x the calls of occlusion
# on DBLP-ACM's 8 fields, 12x on Amazon-Google's 6), Shapley is exact up to 6
# fields (64 calls) and uses 2 permutations beyond, integrated gradients 8
# steps (its convergence delta is reported). The metrics add about 25 scored
# pairs per pair and method. On this shared 2-core machine (about 30 scored
# pairs per second with one torch thread while other jobs run) that is roughly
# 10 minutes per 100 test pairs and matcher.
METHOD_SETTINGS: dict[str, dict[str, Any]] = {
    "occlusion": {},
    "shapley": {"max_exact_fields": 6, "n_samples": 2},
    "integrated_gradients": {"n_steps": 8, "internal_batch_size": 16, "baseline": "pad"},
    "gradient_x_input": {},
    "attention": {},
    "lime": {"n_samples": 100},
    "kernel_shap": {"n_samples": 100},
}


def _describe(path: Path, matcher: Any) -> str:
    info_file = path / common.INFO
    text = f"{path.name} (threshold {matcher.threshold_:.3f}"
    if info_file.is_file():
        valid = json.loads(info_file.read_text(encoding="utf-8")).get("valid_metrics", {})
        if "f1" in valid:
            text += f", validation F1 {valid['f1']:.3f}"
    return text + ")"


def load_matcher(
    name: str, *, allow_training: bool, path: Path | None = None
) -> tuple[Any, str] | None:
    """The cached benchmark matcher and a description, or None when it is not trained yet."""
    from matcher import Matcher

    if path is None:
        if name == "synthetic":
            path = common.synthetic_cache_path()
        else:
            path = common.magellan_cache_path(name)
        if not (path / common.INFO).is_file():
            if not allow_training:
                logger.warning("no cached %s matcher at %s; skipping", name, path)
                return None
            if name == "synthetic":
                common.synthetic_matcher()
            else:
                common.magellan_matcher(name)
    matcher = Matcher.from_pretrained(path)
    return matcher, _describe(path, matcher)


def test_pairs(name: str, n: int, seed: int = 0) -> tuple[RecordPairs, list[str] | None]:
    """The ``n`` test pairs of a benchmark and, for synthetic data, the planted attributes."""
    rng = np.random.default_rng(seed)
    if name == "synthetic":
        from data import make_linkage

        gen = dict(common.SYNTHETIC["make_linkage"])
        gen["seed"] = gen["seed"] + 1000  # unseen products
        syn = make_linkage(**gen)
        pairs = RecordPairs(syn.left, syn.right, syn.pairs.reset_index(drop=True))
        hard = np.flatnonzero(pairs.pairs["planted"].astype(str).to_numpy() != "")
        other = np.setdiff1d(np.arange(len(pairs)), hard)
        half = min(n // 2, len(hard))
        pick = np.concatenate(
            [rng.choice(hard, half, replace=False), rng.choice(other, n - half, replace=False)]
        )
        sub = pairs[np.sort(pick)]
        return sub, sub.pairs["planted"].astype(str).tolist()
    test = common.load_magellan(name).test
    labels = test.labels
    pos, neg = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    k = min(n // 2, len(pos))
    pick = np.concatenate(
        [rng.choice(pos, k, replace=False), rng.choice(neg, n - k, replace=False)]
    )
    return test[np.sort(pick)], None


def pairs_note(pairs: RecordPairs, planted: list[str] | None) -> str:
    if planted is not None:
        hard = sum(bool(p) for p in planted)
        return (
            f"{hard} hard negatives with a planted attribute + {len(pairs) - hard} other "
            "pairs drawn at random, products unseen in training"
        )
    pos = int(pairs.labels.sum())
    return f"{pos} matches + {len(pairs) - pos} non-matches drawn at random from test.csv"


def run_model(
    name: str, matcher: Any, pairs: RecordPairs, planted: list[str] | None, methods: list[str]
) -> dict[str, dict[str, Any]]:
    out = {}
    # warm-up (allocator, kernels, lazy imports), so the first method's first pair
    # is not charged for it
    Explainer(matcher, method="occlusion").explain(pairs[:2], progress=False)
    for method in methods:
        explainer = Explainer(matcher, method=method, **METHOD_SETTINGS[method])
        t0 = time.perf_counter()
        explanations = explainer.explain(pairs, progress=False)
        explain_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        scores = evaluate_faithfulness(matcher, pairs, explanations, planted=planted)
        metric_s = time.perf_counter() - t0
        row = scores.to_dict()
        if planted is None:
            row.pop("planted_cause_accuracy")
            row.pop("planted_token_accuracy")
        seconds = np.array([e.seconds for e in explanations])
        row["median_seconds_per_pair"] = float(np.median(seconds))
        row["p90_seconds_per_pair"] = float(np.percentile(seconds, 90))
        row["settings"] = {**METHOD_SETTINGS[method]}
        if planted is not None:
            rejected = [i for i, e in enumerate(explanations) if e.decision == 0]
            row["planted_cause_accuracy_rejected"] = planted_cause_accuracy(
                [explanations[i] for i in rejected], [planted[i] for i in rejected]
            )
            row["hard_negatives_rejected"] = sum(bool(planted[i]) for i in rejected)
        if method == "integrated_gradients":
            row["mean_abs_delta"] = float(np.mean([abs(e.delta) for e in explanations]))
        out[method] = row
        logger.info(
            "%s %s: explained in %.0f s, metrics in %.0f s: %s",
            name,
            method,
            explain_s,
            metric_s,
            {k: v for k, v in row.items() if isinstance(v, float)},
        )
    return out


COLUMNS = [
    ("field_removal_auc", "removal AUC, after CERTA (lower better)", "{:.3f}"),
    ("field_removal_degradation", "removal degradation, after CREW (higher better)", "{:.3f}"),
    ("comprehensiveness", "ERASER comp. (higher better)", "{:.3f}"),
    ("sufficiency", "ERASER suff. (lower better)", "{:.3f}"),
    ("planted_cause_accuracy", "planted field acc.", "{:.2f}"),
    ("planted_cause_accuracy_rejected", "planted field acc. (rejected)", "{:.2f}"),
    ("planted_token_accuracy", "planted token top-3", "{:.2f}"),
    ("model_calls_per_pair", "model calls / pair", "{:.1f}"),
    ("seconds_per_pair", "s / pair (mean)", "{:.3f}"),
    ("median_seconds_per_pair", "s / pair (median)", "{:.3f}"),
]


def _fmt(row: dict[str, Any], key: str, fmt: str) -> str:
    value = row.get(key)
    return "" if value is None else fmt.format(value)


def checks(results: dict[str, Any]) -> list[str]:
    """The issue's done-when criteria, evaluated on the measured numbers."""
    lines = []
    models = results["models"]
    for name in ("amazon_google", "dblp_acm"):
        methods = models.get(name, {}).get("methods")
        if not methods or not {"lime", "kernel_shap"} <= set(methods):
            lines.append(f"- {name}: not measured")
            continue
        for field_method in ("occlusion", "shapley"):
            if field_method not in methods:
                continue
            f = methods[field_method]
            verdicts = []
            for base in ("lime", "kernel_shap"):
                b = methods[base]
                ratio = b["model_calls_per_pair"] / f["model_calls_per_pair"]
                certa = f["field_removal_auc"] < b["field_removal_auc"]
                crew = f["field_removal_degradation"] > b["field_removal_degradation"]
                verdicts.append(
                    f"vs {base}: CERTA {'better' if certa else 'NOT better'}, "
                    f"CREW {'better' if crew else 'NOT better'}, {ratio:.1f}x fewer calls"
                )
            lines.append(f"- {name}, {field_method}: " + "; ".join(verdicts))
    syn = models.get("synthetic", {}).get("methods", {}).get(DEFAULT_METHOD)
    if syn:
        lines.append(
            f"- synthetic, default method ({DEFAULT_METHOD}): planted-cause accuracy "
            f"{syn['planted_cause_accuracy']:.2f} on all hard negatives, "
            f"{syn.get('planted_cause_accuracy_rejected', float('nan')):.2f} on those the "
            "matcher rejects (target 0.9)"
        )
    for name, block in models.items():
        row = block.get("methods", {}).get(DEFAULT_METHOD)
        if row:
            lines.append(
                f"- {name}, default method: median {row['median_seconds_per_pair']:.2f} s per "
                f"pair, 90th percentile {row['p90_seconds_per_pair']:.2f} s (target < 1 s)"
            )
    return lines


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Explanation methods: faithfulness, cost and speed",
        "",
        "Produced by `bench/explain.py` (see its docstring for the test pairs and the",
        "definitions in `explain/faithfulness.py`). Scores attribute P(match); removal",
        "of value tokens is the perturbation everywhere.",
        "",
        "The two removal metrics are field-level variants named after the papers they "
        "follow, not those papers' released scorers, so their figures are not comparable "
        "with the numbers CERTA or CREW publish (none is quoted here): the removal AUC "
        "follows CERTA's attribute faithfulness but counts a pair's non-empty (side, "
        "attribute) fields where CERTA's code counts all attribute columns; the removal "
        "degradation follows CREW's degradation score but removes whole fields at the "
        "fractions 0.1/0.3/0.5/0.7/0.9 where CREW's code removes words at 0.1-1.0. Below, "
        "'CERTA' and 'CREW' are short for these variants.",
        "",
        f"- default method: `{DEFAULT_METHOD}`",
        "- method settings: "
        + "; ".join(f"{m} {json.dumps(s)}" if s else m for m, s in METHOD_SETTINGS.items()),
        "",
        "## Done-when checks (computed from the tables below)",
        "",
        *checks(results),
        "",
    ]
    for name, block in results["models"].items():
        lines += [f"## {name}", ""]
        run = block.get("run", {})
        lines += [
            f"- test pairs: {block['n_pairs']} ({block['pairs_note']})",
            f"- matcher: {block.get('matcher', '')}",
            f"- command: `{run.get('command', '')}`",
            f"- machine: {run.get('machine', '')}",
            f"- date: {run.get('date', '')}, {run.get('seconds', 0) / 60:.1f} min for this matcher",
            "",
        ]
        if block.get("skipped"):
            lines += [f"Skipped: {block['skipped']}", ""]
            continue
        cols = [c for c in COLUMNS if any(c[0] in r for r in block["methods"].values())]
        lines.append("| method | " + " | ".join(c[1] for c in cols) + " |")
        lines.append("|---|" + "---:|" * len(cols))
        for method, row in block["methods"].items():
            cells = [_fmt(row, key, fmt) for key, _, fmt in cols]
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"


def write_report(path: Path | None, n: int, matcher_dir: str | None) -> None:
    """An HTML report of the default method on the first ``n`` synthetic test pairs."""
    from explain import write_html

    if path is None:
        raise SystemExit("--report-only needs --report PATH")
    loaded = load_matcher(
        "synthetic", allow_training=False, path=None if matcher_dir is None else Path(matcher_dir)
    )
    if loaded is None:
        raise SystemExit("no cached synthetic matcher: run bench/common.py synthetic first")
    matcher = loaded[0]
    pairs, _ = test_pairs("synthetic", 200)
    explanations = Explainer(matcher).explain(pairs[:n], progress=False)
    write_html(explanations, path, title="BEM explanations: synthetic products")
    logger.info("wrote %s", path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=200, help="test pairs per matcher")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--allow-training", action="store_true", help="train missing matchers")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    parser.add_argument("--report", type=Path, help="also write an HTML report of synthetic pairs")
    parser.add_argument(
        "--report-only",
        type=int,
        metavar="N",
        help="only write the --report of the first N synthetic test pairs (default method)",
    )
    parser.add_argument(
        "--matcher",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="use the matcher saved in DIR for NAME instead of the benchmark cache",
    )
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument(
        "--merge", action="store_true", help="keep the other matchers' results in explain.json"
    )
    parser.add_argument(
        "--render", action="store_true", help="only rewrite explain.md from explain.json"
    )
    args = parser.parse_args(argv)
    if args.render:
        results = json.loads((args.out / "explain.json").read_text(encoding="utf-8"))
        (args.out / "explain.md").write_text(markdown(results), encoding="utf-8")
        return
    overrides = dict(item.split("=", 1) for item in args.matcher)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.report_only:
        write_report(args.report, args.report_only, overrides.get("synthetic"))
        return
    command = "flock /tmp/bem-cpu.lock .venv/bin/python bench/explain.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    machine = (
        f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), "
        f"torch {torch.__version__}, {torch.get_num_threads()} torch threads, "
        f"load average {os.getloadavg()[0]:.1f} at the start"
    )
    json_path = args.out / "explain.json"
    results: dict[str, Any] = {"models": {}}
    if args.merge and json_path.is_file():
        results = json.loads(json_path.read_text(encoding="utf-8"))
    for name in args.models:
        start = time.perf_counter()
        pairs, planted = test_pairs(name, args.pairs)
        block: dict[str, Any] = {"n_pairs": len(pairs), "pairs_note": pairs_note(pairs, planted)}
        override = Path(overrides[name]) if name in overrides else None
        loaded = load_matcher(name, allow_training=args.allow_training, path=override)
        if loaded is None:
            block["skipped"] = "the trained matcher is not in the cache (bench/common.py)"
        else:
            matcher, block["matcher"] = loaded
            block["methods"] = run_model(name, matcher, pairs, planted, args.methods)
            if args.report and name == "synthetic":
                write_report(args.report, 40, overrides.get("synthetic"))
        block["run"] = {
            "command": command,
            "machine": machine,
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "seconds": time.perf_counter() - start,
        }
        results["models"][name] = block
        results["meta"] = {"method_settings": METHOD_SETTINGS, "default_method": DEFAULT_METHOD}
        table = markdown(results)  # written after every matcher: a cut run keeps its results
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "explain.md").write_text(table, encoding="utf-8")
        json_path.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(markdown(results))


if __name__ == "__main__":
    main()
