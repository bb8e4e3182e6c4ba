"""Scale: what the cascade saves, and how the pipeline grows with records (issue 17).

**Cascade** (``--section cascade``): for each benchmark matcher (the recipe of
``bench/common.py`` trained with missing-evidence copies, ``blank_augment=0.1``,
the matchers of ``bench/evidence.py --tag after``; ``Matcher.fit`` fits their
cascade, its band tuned on the validation pairs within F1 tolerance 0.005), the
pairs are scored twice in one process: every pair by the cross-encoder, then
the cascade first and the cross-encoder on the rest
(:func:`matcher.predict_with_cascade`). Encodings are not cached between the
two runs. Reported: the share of pairs sent to the transformer, F1 of both,
pairs per second of both (end to end: features, the cheap model and the
transformer), and the speed-up as a ratio measured in the same run.

Pairs: the DeepMatcher test splits of abt_buy, amazon_google and dblp_acm (the
band was tuned on the validation split: nothing scored here was trained or
tuned on); for the synthetic matcher, every pair of a ``make_linkage`` draw
with another seed than its training data (unseen products, as in
``bench/explain.py``).

    flock /tmp/bem-cpu.lock .venv/bin/python bench/scale.py --section cascade

**Runs** (``--section runs``): synthetic dedup at 10^4, 10^5 and 10^6 records on the
local engine and at 10^4 and 10^5 on Spark ``local[2]``, each in a fresh process
(``bench/scale_runs.py`` says what is run and measured), then the projection to
10^8 records.

    flock /tmp/bem-cpu.lock .venv/bin/python bench/scale.py --section runs --allow-training

Writes ``bench/results/scale.{json,md}`` (other sections already there are kept).
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# the repository first and never bench/ itself (bench/blocking.py would shadow blocking/)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench import common, scale_runs  # noqa: E402
from data import RecordPairs  # noqa: E402

logger = logging.getLogger("bench.scale")

RESULTS = ROOT / "bench" / "results"
SETS = ("abt_buy", "amazon_google", "dblp_acm", "synthetic")
FIT_OVERRIDES = {"blank_augment": 0.1}


def _f1(decision: np.ndarray, labels: np.ndarray) -> float:
    pred, truth = np.asarray(decision) == 1, np.asarray(labels) == 1
    tp = int((pred & truth).sum())
    return 0.0 if tp == 0 else 2 * tp / (int(pred.sum()) + int(truth.sum()))


def scored_pairs(name: str) -> RecordPairs:
    """The pairs scored for ``name``: its test split, or unseen synthetic products."""
    if name == "synthetic":
        from data import make_linkage

        gen = dict(common.SYNTHETIC["make_linkage"])
        gen["seed"] += 1000  # products unseen in training
        syn = make_linkage(**gen)
        return RecordPairs(syn.left, syn.right, syn.pairs.reset_index(drop=True))
    return common.load_magellan(name).test


def load(name: str, *, allow_training: bool) -> Any | None:
    path = (
        common.synthetic_cache_path(fit_overrides=FIT_OVERRIDES)
        if name == "synthetic"
        else common.magellan_cache_path(name, fit_overrides=FIT_OVERRIDES)
    )
    if not (path / common.INFO).is_file() and not allow_training:
        logger.warning("no cached %s matcher at %s; skipping (--allow-training)", name, path)
        return None
    if name == "synthetic":
        return common.synthetic_matcher(fit_overrides=FIT_OVERRIDES)
    return common.magellan_matcher(name, fit_overrides=FIT_OVERRIDES)


def cascade_point(matcher: Any, pairs: RecordPairs) -> dict[str, Any]:
    """Both ways of scoring ``pairs``, timed in this process."""
    from matcher import predict_with_cascade

    matcher.predict_proba(pairs[np.arange(min(32, len(pairs)))])  # warm-up: kernels, lazy imports
    matcher._invalidate()  # forget cached encodings: both runs encode their pairs
    t0 = time.perf_counter()
    proba = matcher.predict_proba(pairs, progress=False)
    plain_s = time.perf_counter() - t0
    matcher._invalidate()
    t0 = time.perf_counter()
    staged = predict_with_cascade(matcher, matcher.cascade_, pairs)
    cascade_s = time.perf_counter() - t0
    labels, n = pairs.labels, len(pairs)
    alone = (proba >= matcher.threshold_).astype(int)
    to_transformer = staged.stage == "cross_encoder"
    sent = int(to_transformer.sum())
    f1, f1_alone = _f1(staged.decision, labels), _f1(alone, labels)
    cascade = matcher.cascade_
    band = None if cascade is None else cascade.band_
    return {
        "pairs": n,
        "cascade_enabled": bool(cascade is not None and cascade.enabled),
        "band": None if cascade is None else [float(cascade.low_), float(cascade.high_)],
        "transformer_share": sent / max(n, 1),
        "transformer_calls_ratio": n / max(sent, 1),
        "f1": f1,
        "f1_no_cascade": f1_alone,
        "f1_change_points": 100 * (f1 - f1_alone),
        # the band was tuned on the validation split: what it kept there, to set beside the test
        "valid_f1_change_points": None if band is None else 100 * (band.f1 - band.f1_cross_encoder),
        "valid_decided_share": None if band is None else band.decided_share,
        "pairs_per_second": n / cascade_s,
        "pairs_per_second_no_cascade": n / plain_s,
        "speedup": plain_s / cascade_s,
        # the cascade never changes what the cross-encoder decides on the pairs it leaves
        "decisions_changed_on_transformer_pairs": int(
            (staged.decision[to_transformer] != alone[to_transformer]).sum()
        ),
    }


def run_cascade(sets: list[str], *, allow_training: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in sets:
        matcher = load(name, allow_training=allow_training)
        if matcher is None:
            continue
        point = cascade_point(matcher, scored_pairs(name))
        out[name] = point
        logger.info("%s: %s", name, point)
    return out


def _cascade_commands(cascade: dict[str, Any]) -> list[str]:
    """Which command measured which rows, oldest first."""
    runs: dict[tuple[str, str], list[str]] = {}
    for name, p in cascade.items():
        runs.setdefault((p["command"], p["date"]), []).append(name)
    return [
        f"Command: `{command}`; {date} ({', '.join(names)})."
        for (command, date), names in sorted(runs.items(), key=lambda kv: kv[0][1])
    ]


def markdown(results: dict[str, Any]) -> str:
    meta = results.get("meta", {})
    lines = [
        "# Scale: the cascade, and the pipeline as records grow",
        "",
        f"Produced by `bench/scale.py` (see its docstring). Machine: {meta.get('machine', '-')}.",
        "",
    ]
    cascade = results.get("cascade")
    if cascade:
        lines += [
            "## The cascade (first stage on similarity features, cross-encoder on the rest)",
            "",
            *_cascade_commands(cascade),
            "Target: >= 5x fewer transformer calls at an F1 loss of at most 0.5 points. "
            "`valid change`: the F1 change on the validation split the band was tuned on "
            "('-' where the row predates this column).",
            "",
            "| set | pairs | band | to transformer | fewer calls | F1 cascade | F1 alone "
            "| change (points) | valid change | pairs/s cascade | pairs/s alone | speed-up "
            "| target |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, p in cascade.items():
            met = p["transformer_calls_ratio"] >= 5 and p["f1_change_points"] >= -0.5
            band = "-" if not p["band"] else f"[{p['band'][0]:.3f}, {p['band'][1]:.3f}]"
            valid = p.get("valid_f1_change_points")
            valid = "-" if valid is None else f"{valid:+.2f}"
            lines.append(
                f"| {name} | {p['pairs']} | {band} | {p['transformer_share']:.3f} | "
                f"{p['transformer_calls_ratio']:.1f}x | {100 * p['f1']:.1f} | "
                f"{100 * p['f1_no_cascade']:.1f} | {p['f1_change_points']:+.2f} | {valid} | "
                f"{p['pairs_per_second']:.0f} | {p['pairs_per_second_no_cascade']:.0f} | "
                f"{p['speedup']:.1f}x | {'met' if met else 'NOT met'} |"
            )
        lines.append("")
        notes = results.get("cascade_run", {}).get("notes", [])
        lines += [f"- {note}" for note in notes] + ([""] if notes else [])
    if results.get("runs"):
        lines += scale_runs.markdown(results["runs"], results.get("runs_run", {}))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", choices=["cascade", "runs"], default="cascade")
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    parser.add_argument(
        "--sizes", nargs="+", type=int, default=list(scale_runs.SIZES), help="runs: local sizes"
    )
    parser.add_argument(
        "--spark-sizes",
        nargs="*",
        type=int,
        default=list(scale_runs.SPARK_SIZES),
        help="runs: Spark (local[2]) sizes",
    )
    parser.add_argument("--allow-training", action="store_true")
    parser.add_argument(
        "--run-timeout",
        type=float,
        default=3600.0,
        help="runs: stop a run after this many seconds (the 10^6 target is 1 hour)",
    )
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "RECORDS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.child:
        print(json.dumps(scale_runs.child(args.child[0], int(args.child[1]))))
        return 0
    path = RESULTS / "scale.json"
    results = json.loads(path.read_text()) if path.is_file() else {}
    command = "python bench/scale.py " + " ".join(argv if argv is not None else sys.argv[1:])
    import torch

    results["meta"] = {
        "machine": f"{os.cpu_count()} cores ({platform.machine()}), torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    }
    if args.section == "cascade":
        measured = run_cascade(args.sets, allow_training=args.allow_training)
        date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        for point in measured.values():  # each set's row keeps the command that measured it
            point.update(command=command.strip(), date=date)
        results.setdefault("cascade", {}).update(measured)
        results["cascade_run"] = _run_record(results.get("cascade_run", {}), command, date)
    else:
        load("synthetic", allow_training=args.allow_training)  # trained once, before the runs
        todo = [("local", n) for n in args.sizes] + [("spark", n) for n in args.spark_sizes]
        for engine, n in todo:  # saved after each run: a stopped pass keeps what it measured
            row = scale_runs.run(engine, n, timeout=args.run_timeout)
            row["command"] = command.strip()  # each row keeps the command that made it
            results["runs"] = scale_runs.merge(results.get("runs", []), [row])
            date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
            results["runs_run"] = _run_record(results.get("runs_run", {}), command, date)
            _save(results)
    _save(results)
    print(markdown(results))
    return 0


def _run_record(before: dict[str, Any], command: str, date: str) -> dict[str, Any]:
    """A section's latest command and date; the notes on its rows stay (edit them where a
    re-run outdates one)."""
    kept = {k: v for k, v in before.items() if k in ("note", "notes")}
    return {"command": command.strip(), "date": date, "fit_overrides": FIT_OVERRIDES, **kept}


def _save(results: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "scale.md").write_text(markdown(results), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
