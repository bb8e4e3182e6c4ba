"""Matcher ablation: each recipe ingredient on its own, chosen on validation F1 (issue 18).

For each DeepMatcher set (abt_buy, amazon_google, dblp_acm) and each variant of
:data:`VARIANTS` (the benchmark recipe of ``bench/common.py`` with some matcher
and fit settings changed), the matcher is trained on the train split (cached in
``~/.cache/bem/models`` by settings, data and code), and reported with:

- validation F1 (the threshold tuned there): **the only figure an ingredient is
  chosen by**;
- test F1 (reported, never used to choose);
- training minutes (the issue's budget: 30 per set) and scoring pairs per second
  on the test split (cold encodings, this process).

An ingredient *helps* when its validation F1 is at least the base variant's on
every set and higher on average; only such ingredients may ship on by default.

    flock /tmp/bem-cpu.lock .venv/bin/python bench/ablation.py --variants base join_codes
    flock /tmp/bem-cpu.lock .venv/bin/python bench/ablation.py --render

Writes ``bench/results/ablation.{json,md}`` (points of earlier runs are kept).
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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# the repository first and never bench/ itself (bench/blocking.py would shadow blocking/)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402

logger = logging.getLogger("bench.ablation")
RESULTS = ROOT / "bench" / "results"
SETS = ("abt_buy", "amazon_google", "dblp_acm")
BUDGET_MINUTES = 30.0

VARIANTS: dict[str, dict[str, Any]] = {
    "base": {
        "about": "the benchmark recipe with fit's default no-evidence copies (blank_augment=0.1)",
        "config": {},
        "fit": {"blank_augment": 0.1},
    },
    "no_blank": {
        "about": "the frozen recipe: no no-evidence copies (blank_augment=0)",
        "config": {},
        "fit": {"blank_augment": 0.0},
    },
    "blank_non_matches": {
        "about": "no-evidence copies of non-matches only (blank_sources='non_matches'): "
        "every augmented label certain",
        "config": {},
        "fit": {"blank_augment": 0.1, "blank_sources": "non_matches"},
    },
    "join_codes": {
        "about": "codes serialized without separators (Matcher(join_codes=True))",
        "config": {"join_codes": True},
        "fit": {"blank_augment": 0.1},
    },
    "budget": {
        "about": "base within the 30-minute budget: fit(max_minutes=28) cuts the epochs to "
        "those that end in time at the first epoch's pace (2 minutes left for the cascade)",
        "config": {},
        "fit": {"blank_augment": 0.1, "max_minutes": BUDGET_MINUTES - 2},
    },
}
"""Each variant: matcher settings and fit settings over the set's recipe."""


def point(dataset: str, variant: str) -> dict[str, Any]:
    """Train (or load) one variant on one set; its figures."""
    spec = VARIANTS[variant]
    ds = common.load_magellan(dataset)
    recipe = common.MAGELLAN[dataset]
    config = {**recipe["config"], **spec["config"]}
    fit = {**recipe["fit"], **spec["fit"]}
    matcher, info = common.cached_matcher(
        dataset, train=ds.train, valid=ds.valid, config=config, fit_kwargs=fit
    )
    matcher._invalidate()  # cold encodings: the scoring time includes tokenization
    t0 = time.perf_counter()
    proba = matcher.predict_proba(ds.test)
    seconds = time.perf_counter() - t0
    from matcher import match_metrics

    test = match_metrics(ds.test.labels, proba, matcher.threshold_)
    valid_f1 = info.get("valid_metrics", {}).get("f1")
    if valid_f1 is None:
        valid_f1 = float(matcher.evaluate(ds.valid).f1)
    return {
        "valid_f1": float(valid_f1),
        "test_f1": float(test.f1),
        "train_minutes": float(info["train_seconds"]) / 60,
        "pairs_per_second": len(ds.test) / seconds,
        "best_epoch": info.get("best_epoch"),
        "model": Path(info["path"]).name if "path" in info else None,
        "config": config,
        "fit": fit,
    }


def verdicts(results: dict[str, dict[str, dict[str, Any]]]) -> dict[str, str]:
    """Per non-base variant: whether it helps on validation (every set measured for both)."""
    out = {}
    variants = sorted({v for block in results.values() for v in block} - {"base"})
    for variant in variants:
        deltas = [
            block[variant]["valid_f1"] - block["base"]["valid_f1"]
            for block in results.values()
            if variant in block and "base" in block
        ]
        missing = [s for s, block in results.items() if variant not in block or "base" not in block]
        if not deltas:
            out[variant] = "not measured beside base"
            continue
        helps = all(d >= 0 for d in deltas) and sum(deltas) > 0
        text = ", ".join(f"{100 * d:+.2f}" for d in deltas)
        out[variant] = (
            f"{'helps' if helps else 'does not help'} on validation (F1 change {text} points)"
            + (f"; not measured on {', '.join(missing)}" if missing else "")
        )
    return out


def markdown(results: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [
        "# Matcher ablation (DeepMatcher splits)",
        "",
        "Produced by `bench/ablation.py` (see its docstring). Ingredients are chosen on "
        "validation F1 only; test F1 is reported, never used to choose. Budget: "
        f"{BUDGET_MINUTES:.0f} training minutes per set.",
        "",
        f"Last command: `{meta.get('command', '')}`; {meta.get('date', '')}; "
        f"{meta.get('machine', '')}.",
        "",
        "| set | variant | valid F1 | test F1 | train min | within budget | pairs/s | best epoch |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for dataset, block in results.items():
        for variant, p in block.items():
            lines.append(
                f"| {dataset} | {variant} | {100 * p['valid_f1']:.2f} | {100 * p['test_f1']:.2f} "
                f"| {p['train_minutes']:.1f} | "
                f"{'yes' if p['train_minutes'] <= BUDGET_MINUTES else 'NO'} | "
                f"{p['pairs_per_second']:.1f} | {p['best_epoch']} |"
            )
    lines += ["", "Each point's run:", ""]
    lines += [
        f"- {dataset} / {variant}: `{p['command']}`, {p['date']}"
        for dataset, block in results.items()
        for variant, p in block.items()
        if "command" in p
    ]
    lines += ["", "Variants:", ""]
    lines += [f"- `{name}`: {spec['about']}" for name, spec in VARIANTS.items()]
    lines += ["", "Verdicts (against `base`):", ""]
    lines += [f"- `{v}`: {text}" for v, text in verdicts(results).items()] or ["- none yet"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(SETS), choices=SETS)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--render", action="store_true", help="only rewrite ablation.md")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    path = RESULTS / "ablation.json"
    saved = json.loads(path.read_text()) if path.is_file() else {}
    meta = saved.pop("meta", {})
    if not args.render:
        import torch

        meta = {
            "command": "python bench/ablation.py "
            + " ".join(argv if argv is not None else sys.argv[1:]),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{os.cpu_count()} cores ({platform.machine()}), torch {torch.__version__}",
        }
        for dataset in args.datasets:
            for variant in args.variants:
                saved.setdefault(dataset, {})[variant] = {
                    **point(dataset, variant),
                    "command": meta["command"],
                    "date": meta["date"],
                }
                logger.info("%s / %s: %s", dataset, variant, saved[dataset][variant])
                RESULTS.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps({"meta": meta, **saved}, indent=2) + "\n")
                (RESULTS / "ablation.md").write_text(markdown(saved, meta), encoding="utf-8")
    text = markdown(saved, meta)
    (RESULTS / "ablation.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
