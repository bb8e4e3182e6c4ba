"""Does missing evidence look like a match? Two probes of every benchmark matcher.

- ``p_all_empty``: P(match) of two records whose every attribute is empty, against
  the matcher's threshold (a matcher that trusts missing evidence scores it high).
- On test pairs (up to ``--pairs``, the first of the DeepMatcher test split; for
  the synthetic matcher its validation pairs), each attribute that is non-empty on
  at least one side is blanked on both sides and the pair re-scored:
  ``share_rises`` is the share of pairs where some blanking raises P(match) by more
  than 0.01, ``share_flips_to_match`` the share of non-matches (by the matcher's
  own decision) that some blanking turns into a match.

Blanking an attribute that disagrees rightly raises P(match); blanking one that
agrees should lower it. The all-empty probe has one right answer: no match.

    python bench/evidence.py --tag before     # the matchers of bench/common.py
    python bench/evidence.py --tag after --blank-augment 0.1 --allow-training

``test_f1`` is each matcher's F1 on the whole DeepMatcher test split (the
synthetic matcher: its validation pairs), so the two tags show what the
no-evidence training costs in accuracy.

Writes ``bench/results/evidence.{json,md}`` (one block per tag).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
# the repository first and never bench/ itself (bench/blocking.py would shadow blocking/)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from data import RecordPairs  # noqa: E402

logger = logging.getLogger("bench.evidence")
RESULTS = ROOT / "bench" / "results"
MODELS = ("abt_buy", "amazon_google", "dblp_acm", "synthetic")


def _pairs(name: str, n: int) -> RecordPairs:
    if name == "synthetic":
        _, valid = common.synthetic_splits()
        pairs = valid
    else:
        pairs = common.load_magellan(name).test
    return pairs[np.arange(min(n, len(pairs)))]


def p_all_empty(matcher: Any, pairs: RecordPairs) -> float:
    """P(match) of one all-empty record against another with the same columns."""
    left = pd.DataFrame(
        {c: [np.nan] for c in pairs.left.columns}, index=pd.Index(["empty-l"]), dtype=object
    )
    right = pd.DataFrame(
        {c: [np.nan] for c in pairs.right.columns}, index=pd.Index(["empty-r"]), dtype=object
    )
    frame = pd.DataFrame({"ltable_id": ["empty-l"], "rtable_id": ["empty-r"]})
    return float(matcher.predict_proba(RecordPairs(left, right, frame))[0])


def blanking(matcher: Any, pairs: RecordPairs) -> dict[str, float]:
    """Re-score every pair with each attribute blanked on both sides."""
    base = matcher.predict_proba(pairs)
    attrs = [c for c in pairs.left.columns if c in pairs.right.columns]
    lids = pairs.pairs["ltable_id"].astype(str).tolist()
    rids = pairs.pairs["rtable_id"].astype(str).tolist()
    rows_l, rows_r, owner = [], [], []
    for k, (a, b) in enumerate(zip(lids, rids)):
        left, right = pairs.left.loc[a], pairs.right.loc[b]
        for attr in attrs:
            if pd.isna(left[attr]) and pd.isna(right[attr]):
                continue
            rows_l.append(left.drop(attr).reindex(pairs.left.columns))
            rows_r.append(right.drop(attr).reindex(pairs.right.columns))
            owner.append(k)
    ids = [f"p{i}" for i in range(len(owner))]
    lt = pd.DataFrame(rows_l, index=pd.Index(ids), dtype=object)
    rt = pd.DataFrame(rows_r, index=pd.Index(ids), dtype=object)
    blanked = matcher.predict_proba(
        RecordPairs(lt, rt, pd.DataFrame({"ltable_id": ids, "rtable_id": ids}))
    )
    owner_arr = np.asarray(owner)
    best = np.full(len(base), -np.inf)
    np.maximum.at(best, owner_arr, blanked)
    threshold = matcher.threshold_
    rises = best > base + 0.01
    rejected = base < threshold
    flips = rejected & (best >= threshold)
    return {
        "share_rises": float(rises.mean()),
        "share_flips_to_match": float(flips.sum() / max(int(rejected.sum()), 1)),
        "pairs": len(base),
        "model_calls": len(owner),
    }


def probe(
    name: str, n: int, *, allow_training: bool, overrides: dict[str, Any]
) -> dict[str, Any] | None:
    synthetic = name == "synthetic"
    path = (
        common.synthetic_cache_path(fit_overrides=overrides)
        if synthetic
        else common.magellan_cache_path(name, fit_overrides=overrides)
    )
    if not (path / common.INFO).is_file() and not allow_training:
        logger.warning("no cached %s matcher at %s; skipping", name, path)
        return None
    if synthetic:
        matcher = common.synthetic_matcher(fit_overrides=overrides)
    else:
        matcher = common.magellan_matcher(name, fit_overrides=overrides)
    pairs = _pairs(name, n)
    info = json.loads((path / common.INFO).read_text())
    # test F1 on the whole DeepMatcher test split (validation pairs for synthetic)
    scored = common.synthetic_splits()[1] if synthetic else common.load_magellan(name).test
    return {
        "model": path.name,
        "fit_overrides": overrides,
        "threshold": float(matcher.threshold_),
        "p_all_empty": p_all_empty(matcher, pairs),
        "test_f1": float(matcher.evaluate(scored).f1),
        "train_seconds": info.get("train_seconds"),
        **blanking(matcher, pairs),
    }


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Missing evidence: what the matchers make of it",
        "",
        "Produced by `bench/evidence.py` (see its docstring). `p_all_empty` must be below "
        "the threshold; `flips` is the share of rejected pairs that blanking one attribute "
        "on both sides turns into a match.",
        "",
        "| tag | model | threshold | P(match) all empty | below threshold | share rises "
        "| flips to match | pairs | test F1 | command |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for tag, block in results.items():
        for name, r in block["models"].items():
            lines.append(
                f"| {tag} | {name} (`{r['model']}`) | {r['threshold']:.3f} | "
                f"{r['p_all_empty']:.3f} | {'yes' if r['p_all_empty'] < r['threshold'] else 'NO'}"
                f" | {r['share_rises']:.3f} | {r['share_flips_to_match']:.3f} | {r['pairs']} | "
                f"{100 * r['test_f1']:.1f} | `{r.get('command', block['command'])}` |"
            )
    frozen_file = RESULTS / "matching.json"
    frozen = json.loads(frozen_file.read_text()) if frozen_file.is_file() else {}
    after = results.get("after", {}).get("models", {})
    before = results.get("before", {}).get("models", {})
    was_f1 = {n: r["test_f1"] for n, r in frozen.items() if isinstance(r, dict) and "test_f1" in r}
    was_f1.update({n: r["test_f1"] for n, r in before.items()})  # measured here wins
    compared = [n for n in after if n in was_f1]
    if compared:
        lines += [
            "",
            "Test F1 of the retrained matchers against the frozen recipe's (the `before` "
            "row, else `bench/results/matching.json`; same pairs; target: a drop of at most "
            "0.5):",
            "",
        ]
        for name in compared:
            was, now = 100 * was_f1[name], 100 * after[name]["test_f1"]
            verdict = "met" if now >= was - 0.5 else "NOT met"
            lines.append(f"- {name}: {was:.2f} -> {now:.2f} ({now - was:+.2f}, {verdict})")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", required=True, help="a name for this set of matchers")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--allow-training", action="store_true")
    parser.add_argument(
        "--blank-augment",
        type=float,
        help="train/load the recipe variant with this fit(blank_augment=...) (default: the "
        "frozen recipe, 0.0)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    path = RESULTS / "evidence.json"
    results = json.loads(path.read_text()) if path.is_file() else {}
    command = "python bench/evidence.py " + " ".join(argv if argv is not None else sys.argv[1:])
    block = {
        "command": command.strip(),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "models": {},
    }
    # a tag measured in several runs keeps the models of the earlier ones
    block["models"] = dict(results.get(args.tag, {}).get("models", {}))
    for name in args.models:
        overrides = {} if args.blank_augment is None else {"blank_augment": args.blank_augment}
        row = probe(name, args.pairs, allow_training=args.allow_training, overrides=overrides)
        if row is not None:
            row["command"], row["date"] = block["command"], block["date"]
            block["models"][name] = row
            logger.info("%s: %s", name, row)
        results[args.tag] = block
        path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "evidence.md").write_text(markdown(results), encoding="utf-8")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
