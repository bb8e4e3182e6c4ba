"""The ``bem`` commands behind the parser of :mod:`bem.cli`.

Each takes the parsed arguments, prints a short summary to stdout (this is the
command line: the library below logs instead) and returns the exit code;
:data:`COMMANDS` maps each command name to its function. Input problems raise
:class:`data.BemError`, which :func:`bem.cli.main` turns into one line on
stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path

from data import BemError

__all__ = ["COMMANDS"]

logger = logging.getLogger("bem")


def _cmd_block(args: argparse.Namespace) -> int:
    from bem.run import load_inputs
    from blocking import FuzzyBlocker, evaluate_blocking
    from data import load_pairs

    if len(args.tables) > 2:
        raise BemError(f"block takes one table (dedup) or two (link), got {len(args.tables)}")
    left, right, key = load_inputs(args.tables, args.id_column, args.key)
    blocker = FuzzyBlocker(key=key, top_k=args.top_k, progress=not args.quiet)
    cands = blocker.candidates(left, right)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    cands.to_csv(args.output, index=False)
    print(f"{len(cands)} candidate pairs -> {args.output}")
    if args.matches:
        matches = load_pairs(
            args.matches, left, right if right is not None else left, labelled=False
        )
        m = evaluate_blocking(
            cands, matches, n_left=len(left), n_right=None if right is None else len(right)
        )
        print(
            f"recall {m.recall:.4f}  reduction ratio {m.reduction_ratio:.4f}  "
            f"candidates/record {m.candidates_per_record:.2f}  missed {len(m.missed)}"
        )
    return 0


def _renames(args: argparse.Namespace) -> dict[str, str] | None:
    from matcher.schema import parse_renames

    return parse_renames(args.rename) if getattr(args, "rename", None) else None


def _pairs_from_args(args: argparse.Namespace, matcher):
    """The pairs of --pairs over --left/--right, renamed and checked against the model."""
    from bem.inputs import apply_schema
    from bem.run import load_input
    from data import RecordPairs, load_pairs

    left = load_input(args.left, args.id_column)
    right = load_input(args.right, args.id_column) if args.right else None
    left, right = apply_schema(matcher, left, right, rename=_renames(args))
    right = left if right is None else right
    pairs = load_pairs(args.pairs, left, right)
    return RecordPairs(left, right, pairs)


def _cmd_match(args: argparse.Namespace) -> int:
    from bem.inputs import check_threshold
    from bem.run import _load_matcher

    check_threshold(args.threshold)
    from matcher import shared_evidence_mask

    matcher = _load_matcher(args.model)
    pairs = _pairs_from_args(args, matcher)
    thr = matcher.threshold_ if args.threshold is None else args.threshold
    proba = matcher.predict_proba(pairs, batch_size=args.batch_size, progress=not args.quiet)
    evidence = shared_evidence_mask(pairs, matcher.attributes_)
    out = pairs.pairs[["ltable_id", "rtable_id"]].copy()
    out["probability"] = proba
    out["decision"] = ((proba >= thr) & evidence).astype(int)  # no evidence, no merge
    out["evidence"] = evidence.astype(int)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(args.output, index=False)
    print(f"{len(out)} pairs scored, {int(out['decision'].sum())} matches -> {args.output}")
    if pairs.labels is not None:
        y = pairs.labels
        pred = out["decision"].to_numpy()
        tp = int(((pred == 1) & (y == 1)).sum())
        p = tp / max(int(pred.sum()), 1)
        r = tp / max(int(y.sum()), 1)
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        print(f"against labels: precision {p:.4f} recall {r:.4f} F1 {f1:.4f}")
    return 0


def _cmd_explain(args: argparse.Namespace) -> int:
    from bem.inputs import check_threshold
    from bem.run import _load_matcher
    from explain import Explainer, write_html, write_jsonl

    check_threshold(args.threshold)
    matcher = _load_matcher(args.model)
    pairs = _pairs_from_args(args, matcher)
    if args.limit is not None:
        pairs = pairs[: args.limit]
    explainer = Explainer(matcher, method=args.method, threshold=args.threshold)
    explanations = explainer.explain(pairs, progress=not args.quiet)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    write_html(explanations, args.output, title=f"BEM explanations ({args.method})")
    print(f"{len(explanations)} explanations -> {args.output}")
    if args.json:
        write_jsonl(explanations, args.json)
        print(f"JSON lines -> {args.json}")
    return 0


def _pipeline_config(args: argparse.Namespace, mode: str):
    from bem.run import PipelineConfig
    from data.parquet import is_parquet

    inputs = (args.records,) if mode == "dedup" else (args.left, args.right)
    n = args.review
    model = args.model
    if model is not None and Path(model).exists():
        model = str(Path(model).resolve())
    fmt = args.output_format or ("parquet" if is_parquet(inputs[0]) else "csv")
    return PipelineConfig(
        mode=mode,
        inputs=tuple(str(Path(p).resolve()) for p in inputs),
        model=model,
        output_format=fmt,
        base_model=args.base_model,
        output=str(Path(args.output).resolve()),
        id_column=args.id_column,
        key=tuple(args.key) if args.key else None,
        top_k=args.top_k,
        threshold=args.threshold,
        clustering=args.clustering,
        one_to_one=getattr(args, "one_to_one", False),
        explain_method=None if args.no_explain else args.explain_method,
        review={"lowest_merges": n, "strongest_rejections": n, "sample": n},
        labels=str(Path(args.labels).resolve()) if args.labels else None,
        rename=_renames(args),
        batch_size=args.batch_size,
        seed=args.seed,
        engine=args.engine,
        spark_master=args.spark_master,
        cascade=not args.no_cascade,
    )


def _report(result, out: Path) -> None:
    from bem.run import LABEL_FREE_MODEL_DIR

    c = result.counts
    print(
        f"{c['records']} records, {c['candidates']} candidate pairs scored, "
        f"{c['match_decisions']} decided a match (threshold {result.threshold:.3f}), "
        f"{c['entities']} entities"
    )
    if c.get("decided_by_cascade"):
        print(
            f"the model's cascade decided {c['decided_by_cascade']} pair(s), the cross-encoder "
            f"{c['decided_by_cross_encoder']} (--no-cascade sends every pair to the cross-encoder)"
        )
    if c.get("no_evidence_above_threshold"):
        print(
            f"{c['no_evidence_above_threshold']} pair(s) above the threshold share no non-empty "
            "attribute: decided no match (no evidence, no merge)"
        )
    if "train_label_free" in result.timings:
        print(
            f"model: label-free (trained on the input without labels), saved to "
            f"{out / LABEL_FREE_MODEL_DIR}; reuse it with --model"
        )
    secs = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    print(f"time: {secs}")
    print(f"outputs in {out}/: {' '.join(result.outputs)}")


def _cmd_pipeline(args: argparse.Namespace, mode: str) -> int:
    from bem.run import run_pipeline

    config = _pipeline_config(args, mode)
    result = run_pipeline(config, progress=not args.quiet)
    _report(result, Path(config.output))
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    import dataclasses

    from bem.run import check_run, run_pipeline

    config = check_run(args.run_json, force=args.force)
    if args.output:
        config = dataclasses.replace(config, output=str(Path(args.output).resolve()))
    result = run_pipeline(config, progress=not args.quiet)
    _report(result, Path(config.output))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from bem.demo import DEMO_TRAIN_MINUTES, run_demo

    if args.max_minutes is not None and not args.max_minutes >= 0:  # nan too
        raise BemError(f"--max-minutes must be 0 (no budget) or more, got {args.max_minutes:g}")
    minutes = DEMO_TRAIN_MINUTES if args.max_minutes is None else args.max_minutes or None
    run_demo(
        Path(args.output),
        n_entities=args.entities,
        epochs=args.epochs,
        max_minutes=minutes,
        model=args.model,
        seed=args.seed,
        progress=not args.quiet,
        echo=print,
    )
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from bem.train_command import cmd_train

    return cmd_train(args)


def _cmd_label(args: argparse.Namespace) -> int:
    from bem.label.command import cmd_label

    return cmd_label(args)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "demo": _cmd_demo,
    "block": _cmd_block,
    "train": _cmd_train,
    "match": _cmd_match,
    "explain": _cmd_explain,
    "dedup": lambda a: _cmd_pipeline(a, "dedup"),
    "link": lambda a: _cmd_pipeline(a, "link"),
    "run": _cmd_run,
    "label": _cmd_label,
}
