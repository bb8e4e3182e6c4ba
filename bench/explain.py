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
from explain import DEFAULT_METHOD, METHODS, Explainer, evaluate_faithfulness  # noqa: E402

logger = logging.getLogger("bench.explain")

MODELS = ("synthetic", "amazon_google", "dblp_acm")
RESULTS = ROOT / "bench" / "results"

# Sample counts chosen so that the whole run (3 matchers x 200 pairs x 7 methods,
# plus the metrics' own perturbations: about 25 per pair and method) stays near
# 25 minutes on 2 cores: LIME and KernelSHAP get 100 samples (10x the calls of
# occlusion on DBLP-ACM's 8 fields, 12x on Amazon-Google's 6), Shapley is exact
# up to 6 fields (64 calls) and uses 4 permutations beyond, integrated gradients
# 16 steps.
METHOD_SETTINGS: dict[str, dict[str, Any]] = {
    "occlusion": {},
    "shapley": {"max_exact_fields": 6, "n_samples": 4},
    "integrated_gradients": {"n_steps": 16, "internal_batch_size": 16, "baseline": "pad"},
    "gradient_x_input": {},
    "attention": {},
    "lime": {"n_samples": 100},
    "kernel_shap": {"n_samples": 100},
}


def _cache_path(name: str, config: dict[str, Any], fit: dict[str, Any]) -> Path:
    return common.CACHE / f"{name}-{common._settings_hash(config, fit)}"


def load_matcher(name: str, *, allow_training: bool, path: Path | None = None) -> Any | None:
    """The cached benchmark matcher, or None when it is not trained yet."""
    if path is not None:
        from matcher import Matcher

        return Matcher.from_pretrained(path)
    if name == "synthetic":
        gen = common.SYNTHETIC["make_linkage"]
        key = f"synthetic-n{gen['n_entities']}-s{gen['seed']}"
        path = _cache_path(key, common.SYNTHETIC["config"], common.SYNTHETIC["fit"])
        if not (path / common.INFO).is_file() and not allow_training:
            logger.warning("no cached synthetic matcher at %s; skipping", path)
            return None
        return common.synthetic_matcher(progress=False)
    settings = common.MAGELLAN[name]
    path = _cache_path(name, settings["config"], settings["fit"])
    if not (path / common.INFO).is_file() and not allow_training:
        logger.warning("no cached %s matcher at %s; skipping", name, path)
        return None
    return common.magellan_matcher(name, progress=False)


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


def run_model(
    name: str, matcher: Any, pairs: RecordPairs, planted: list[str] | None, methods: list[str]
) -> dict[str, dict[str, Any]]:
    out = {}
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
    ("certa_faithfulness", "CERTA AUC (lower better)", "{:.3f}"),
    ("crew_degradation", "CREW degradation (higher better)", "{:.3f}"),
    ("comprehensiveness", "ERASER comp. (higher better)", "{:.3f}"),
    ("sufficiency", "ERASER suff. (lower better)", "{:.3f}"),
    ("planted_cause_accuracy", "planted field acc.", "{:.2f}"),
    ("planted_token_accuracy", "planted token top-3", "{:.2f}"),
    ("model_calls_per_pair", "model calls / pair", "{:.1f}"),
    ("seconds_per_pair", "s / pair (mean)", "{:.3f}"),
    ("median_seconds_per_pair", "s / pair (median)", "{:.3f}"),
]


def markdown(results: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [
        "# Explanation methods: faithfulness, cost and speed",
        "",
        f"- command: `{meta['command']}`",
        f"- machine: {meta['machine']}",
        f"- date: {meta['date']}",
        f"- total time: {meta['total_seconds'] / 60:.1f} min",
        f"- default method: `{DEFAULT_METHOD}`",
        "- settings: "
        + "; ".join(f"{m} {json.dumps(s)}" if s else m for m, s in METHOD_SETTINGS.items()),
        "",
    ]
    for name, block in results["models"].items():
        lines += [f"## {name} ({block['n_pairs']} test pairs; {block['pairs_note']})", ""]
        if block.get("skipped"):
            lines += [f"Skipped: {block['skipped']}", ""]
            continue
        cols = [c for c in COLUMNS if any(c[0] in r for r in block["methods"].values())]
        lines.append("| method | " + " | ".join(c[1] for c in cols) + " |")
        lines.append("|---|" + "---:|" * len(cols))
        for method, row in block["methods"].items():
            cells = [
                fmt.format(row[key]) if row.get(key) is not None else "" for key, _, fmt in cols
            ]
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"


def write_report(path: Path | None, n: int, matcher_dir: str | None) -> None:
    """An HTML report of the default method on the first ``n`` synthetic test pairs."""
    from explain import write_html

    if path is None:
        raise SystemExit("--report-only needs --report PATH")
    matcher = load_matcher(
        "synthetic", allow_training=False, path=None if matcher_dir is None else Path(matcher_dir)
    )
    if matcher is None:
        raise SystemExit("no cached synthetic matcher: run bench/common.py synthetic first")
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
    args = parser.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.matcher)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.report_only:
        write_report(args.report, args.report_only, overrides.get("synthetic"))
        return
    start = time.perf_counter()
    results: dict[str, Any] = {"models": {}}
    for name in args.models:
        pairs, planted = test_pairs(name, args.pairs)
        note = (
            "100 hard negatives with a planted attribute + 100 other pairs, unseen products"
            if name == "synthetic"
            else "100 matches + 100 non-matches from test.csv"
        )
        if args.pairs != 200:
            note = f"{len(pairs)} pairs, drawn as for 200: " + note
        block: dict[str, Any] = {"n_pairs": len(pairs), "pairs_note": note}
        override = Path(overrides[name]) if name in overrides else None
        matcher = load_matcher(name, allow_training=args.allow_training, path=override)
        if override is not None:
            block["matcher"] = str(override)
        if matcher is None:
            block["skipped"] = "the trained matcher is not in the cache (bench/common.py)"
        else:
            block["matcher_threshold"] = matcher.threshold_
            block["methods"] = run_model(name, matcher, pairs, planted, args.methods)
            if args.report and name == "synthetic":
                write_report(args.report, 40, overrides.get("synthetic"))
        results["models"][name] = block
    meta = {
        "command": "flock /tmp/bem-cpu.lock .venv/bin/python bench/explain.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), "
        f"torch {torch.__version__}, {torch.get_num_threads()} torch threads, shared with "
        "other jobs",
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "total_seconds": time.perf_counter() - start,
    }
    results["meta"] = {**meta, "method_settings": METHOD_SETTINGS, "default_method": DEFAULT_METHOD}
    table = markdown(results, meta)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "explain.md").write_text(table, encoding="utf-8")
    (args.out / "explain.json").write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
