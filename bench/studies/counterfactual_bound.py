"""Study: how many explained pairs have any counterfactual within 3 field edits at all.

Issue 14 asks for a counterfactual (blank a field on one side or both, or give
a side the other record's value) within 3 edits for >= 0.9 of explained pairs,
in <= 30 model calls. ``bench/explain.py`` measures what the search in
:mod:`explain.counterfactual` finds within that budget. This study asks the
question beneath it: for the pairs the search leaves without one, does any set
of up to 3 edits (on different attributes) flip the decision? Every such set
is scored (no budget), on the same test pairs and the same cached matcher as
``bench/explain.py --blank-augment 0.1 --pairs N``. So:

- coverage of the search: what ``bench/explain.py`` reports;
- the bound: the share of pairs with some flip within 3 edits, whatever the
  budget; the search cannot exceed it;
- for the pairs that have a flip the search missed: how many of the exhaustive
  candidates flip (``flips``; a superset of a flipping set often flips too, so this
  over-counts the distinct ways), which says what a 30-call search can hope for.

Run (the matcher must be cached: ``bench/explain.py --allow-training`` trains it):

    python bench/studies/counterfactual_bound.py --model dblp_acm --pairs 100

Prints a JSON line and writes ``bench/results/counterfactual_bound-<model>.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench import explain as bench_explain  # noqa: E402
from explain import Explainer  # noqa: E402
from explain.counterfactual import candidate_edits  # noqa: E402
from explain.explainer import COUNTERFACTUAL_BATCH  # noqa: E402
from explain.perturb import CallCounter  # noqa: E402
from explain.scoring import score_records  # noqa: E402
from matcher.evidence import is_empty  # noqa: E402

logger = logging.getLogger("bench.studies.counterfactual_bound")


def exhaustive(explanation, matcher, *, max_edits: int = 3) -> dict:
    """Every set of up to ``max_edits`` single edits on different attributes, scored."""
    left, right = dict(explanation.left), dict(explanation.right)
    singles = [e for e, _ in candidate_edits(left, right, explanation.fields)]
    target = 1 - explanation.decision
    counter = CallCounter()
    out = {"candidates": 0, "flips": 0, "smallest": None}
    for size in range(1, max_edits + 1):
        combos = [
            c
            for c in itertools.combinations(singles, size)
            if len({e.attribute for e in c}) == size
        ]
        if not combos:
            continue
        records = []
        for combo in combos:
            a, b = dict(left), dict(right)
            for edit in combo:
                edit.apply(a, b)
            records.append((a, b))
        # the search's batch size: padding within a batch may move P(match) in the last digits
        proba = score_records(matcher, records, batch_size=COUNTERFACTUAL_BATCH, counter=counter)
        flips = int(np.sum((proba >= explanation.threshold).astype(int) == target))
        out["candidates"] += len(combos)
        out["flips"] += flips
        if flips and out["smallest"] is None:
            out["smallest"] = size
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="dblp_acm")
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--blank-augment", type=float, default=0.1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    pairs, _ = bench_explain.test_pairs(args.model, args.pairs)
    loaded = bench_explain.load_matcher(
        args.model, allow_training=False, fit_overrides={"blank_augment": args.blank_augment}
    )
    if loaded is None:
        parser.error(f"no cached {args.model} matcher: run bench/explain.py --allow-training first")
    matcher, described = loaded
    explanations = Explainer(matcher, method="occlusion").explain(pairs)
    missed = [e for e in explanations if e.counterfactual is None]
    rows = []
    for e in missed:
        found = exhaustive(e, matcher)
        rows.append(
            {
                "pair": [str(e.left_id), str(e.right_id)],
                "label": e.label,
                "probability": round(float(e.probability), 4),
                "decision": int(e.decision),
                "filled_fields": sum(
                    not is_empty(e.left.get(f.attribute)) and not is_empty(e.right.get(f.attribute))
                    for f in e.fields
                ),
                **found,
            }
        )
        logger.info("%s", rows[-1])
    n = len(explanations)
    reachable = n - sum(r["smallest"] is None for r in rows)
    result = {
        "model": args.model,
        "matcher": described,
        "pairs": n,
        "search_coverage": (n - len(missed)) / n,
        "bound_within_3_edits": reachable / n,
        "missed_by_search": len(missed),
        "missed_with_a_flip": sum(r["smallest"] is not None for r in rows),
        "missed_matches": sum(r["decision"] == 1 for r in rows),
        "rows": rows,
        "command": "python bench/studies/counterfactual_bound.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    path = ROOT / "bench" / "results" / f"counterfactual_bound-{args.model}.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
