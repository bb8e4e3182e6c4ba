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
from bench.explain_tables import markdown  # noqa: E402
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
CHOICES = (*MODELS, "abt_buy")
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
    name: str,
    *,
    allow_training: bool,
    path: Path | None = None,
    fit_overrides: dict[str, Any] | None = None,
) -> tuple[Any, str] | None:
    """The cached benchmark matcher and a description, or None when it is not trained yet.

    ``fit_overrides`` picks a recipe variant (e.g. ``{"blank_augment": 0.1}``,
    the matchers retrained for missing evidence; see ``bench/evidence.py``).
    """
    from matcher import Matcher

    if path is None:
        if name == "synthetic":
            path = common.synthetic_cache_path(fit_overrides=fit_overrides)
        else:
            path = common.magellan_cache_path(name, fit_overrides=fit_overrides)
        if not (path / common.INFO).is_file():
            if not allow_training:
                logger.warning("no cached %s matcher at %s; skipping", name, path)
                return None
            if name == "synthetic":
                common.synthetic_matcher(fit_overrides=fit_overrides)
            else:
                common.magellan_matcher(name, fit_overrides=fit_overrides)
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


def counterfactual_block(explanations: list[Any], planted: list[str] | None) -> dict[str, Any]:
    """How the counterfactual search of the default method did on these pairs.

    ``coverage``: share of pairs with a flip found within the search's edit limit
    (3 field edits) and call budget; ``mean_edits``: fields edited per flip
    found; ``calls_per_pair``: model calls the search made per pair (found or
    not); ``planted_hit`` (synthetic only): share of the hard negatives the
    matcher rejects whose counterfactual edits the planted attribute (of those
    with one found): there the planted difference can be the cause of the
    decision. A hard negative the matcher accepts is a false positive: the
    model missed the planted difference, and no edit of that attribute (making
    it agree, or removing it) can argue for "no match", so its counterfactual
    names what the model did rely on. ``planted_hit_all`` counts every hard
    negative with a counterfactual, accepted ones included.
    """
    found = [e.counterfactual for e in explanations if e.counterfactual is not None]
    row: dict[str, Any] = {
        "pairs": len(explanations),
        "coverage": len(found) / max(len(explanations), 1),
        "mean_edits": float(np.mean([len(c.edits) for c in found])) if found else None,
        "calls_per_pair": float(np.mean([e.counterfactual_calls for e in explanations])),
    }
    if planted is not None:
        hard = [
            (e, p)
            for e, p in zip(explanations, planted, strict=True)
            if p and e.counterfactual is not None
        ]
        hits = [any(ed.attribute == p for ed in e.counterfactual.edits) for e, p in hard]
        rejected = [h for h, (e, _) in zip(hits, hard, strict=True) if e.decision == 0]
        row["planted_hit"] = float(np.mean(rejected)) if rejected else None
        row["planted_pairs"] = len(rejected)
        row["planted_hit_all"] = float(np.mean(hits)) if hits else None
        row["planted_pairs_all"] = len(hard)
        row["hard_negatives"] = sum(bool(p) for p in planted)
    return row


def _settings(method: str) -> tuple[str, dict[str, Any]]:
    """``lime@500`` is LIME with 500 samples; a plain name takes METHOD_SETTINGS."""
    base, _, samples = method.partition("@")
    settings = dict(METHOD_SETTINGS[base])
    if samples:
        settings["n_samples"] = int(samples)
    return base, settings


def run_model(
    name: str, matcher: Any, pairs: RecordPairs, planted: list[str] | None, methods: list[str]
) -> dict[str, dict[str, Any]]:
    out = {}
    # warm-up (allocator, kernels, lazy imports), so the first method's first pair
    # is not charged for it
    Explainer(matcher, method="occlusion").explain(pairs[:2], progress=False)
    for method in methods:
        base, settings = _settings(method)
        explainer = Explainer(matcher, method=base, **settings)
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
        row["settings"] = settings
        if method == DEFAULT_METHOD:
            row["counterfactual"] = counterfactual_block(explanations, planted)
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
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=CHOICES)
    parser.add_argument(
        "--methods",
        nargs="+",
        default=list(METHODS),
        help=f"methods from {', '.join(METHODS)}; METHOD@N sets n_samples (lime@500)",
    )
    parser.add_argument(
        "--blank-augment",
        type=float,
        help="the recipe variant trained with fit(blank_augment=...) (bench/evidence.py's "
        "'after' matchers); default the frozen recipe",
    )
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
        "--merge",
        action="store_true",
        help="keep the other matchers' results in explain.json, and on the same matcher the "
        "methods not re-run",
    )
    parser.add_argument(
        "--render", action="store_true", help="only rewrite explain.md from explain.json"
    )
    args = parser.parse_args(argv)
    if args.render:
        results = json.loads((args.out / "explain.json").read_text(encoding="utf-8"))
        (args.out / "explain.md").write_text(markdown(results), encoding="utf-8")
        return
    for method in args.methods:
        if method.partition("@")[0] not in METHODS:
            parser.error(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    fit_overrides = None if args.blank_augment is None else {"blank_augment": args.blank_augment}
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
        loaded = load_matcher(
            name, allow_training=args.allow_training, path=override, fit_overrides=fit_overrides
        )
        if loaded is None:
            block["skipped"] = "the trained matcher is not in the cache (bench/common.py)"
        else:
            matcher, block["matcher"] = loaded
            block["methods"] = run_model(name, matcher, pairs, planted, args.methods)
            block["counterfactual"] = (
                block["methods"].get(DEFAULT_METHOD, {}).pop("counterfactual", None)
            )
            if args.report and name == "synthetic":
                write_report(args.report, 40, overrides.get("synthetic"))
        block["run"] = {
            "command": command,
            "machine": machine,
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "seconds": time.perf_counter() - start,
        }
        before = results["models"].get(name, {})
        if args.merge and before.get("matcher") == block.get("matcher") and "methods" in block:
            # the same matcher: the methods not re-run keep their figures
            block["methods"] = {**before.get("methods", {}), **block["methods"]}
            block["earlier_runs"] = [*before.get("earlier_runs", []), before.get("run")]
        results["models"][name] = block
        results["meta"] = {"method_settings": METHOD_SETTINGS, "default_method": DEFAULT_METHOD}
        table = markdown(results)  # written after every matcher: a cut run keeps its results
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "explain.md").write_text(table, encoding="utf-8")
        json_path.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(markdown(results))


if __name__ == "__main__":
    main()
