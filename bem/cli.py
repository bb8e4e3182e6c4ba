"""The ``bem`` command line.

Every command turns input problems into one line on stderr and exit code 2;
``-v`` shows debug logging, ``-q`` only warnings.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bem import __version__
from data import BemError

__all__ = ["build_parser", "main"]

logger = logging.getLogger("bem")

CSV_SAFETY = (
    "Spreadsheet safety: in the CSV files bem dedup and bem link write (entities.csv, "
    "pairs.csv, review.csv), a text cell that starts with =, +, -, @, a tab or a carriage "
    "return gets a leading single quote (OWASP's rule against formula injection), so an "
    "id such as =HYPERLINK(...) is written '=HYPERLINK(...); plain numbers such as -5 or "
    "-0.3 are left as they are."
)


def _add_key_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--key",
        action="append",
        metavar="COLUMN",
        help="blocking key attribute (repeat for several; default: a name-like column)",
    )
    p.add_argument("--top-k", type=int, default=10, help="candidates per record (default 10)")
    p.add_argument("--id-column", default="id", help="name of the id column (default: id)")


def _add_pipeline_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="a model directory written by `bem train`")
    p.add_argument("-o", "--output", required=True, help="output directory")
    _add_key_options(p)
    p.add_argument("--threshold", type=float, help="decision threshold (default: the model's)")
    p.add_argument(
        "--clustering",
        choices=["average", "components"],
        default="average",
        help="average linkage (default; no chaining through one weak link) or connected components",
    )
    p.add_argument("--explain-method", default="occlusion", help="method for the review report")
    p.add_argument("--no-explain", action="store_true", help="skip explanations and report.html")
    p.add_argument("--review", type=int, default=10, help="pairs per review group (default 10)")
    p.add_argument("--labels", help="optional CSV of ltable_id,rtable_id,label shown in the report")
    p.add_argument("--batch-size", type=int, help="scoring batch size")
    p.add_argument("--seed", type=int, default=0)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bem`` command."""
    parser = argparse.ArgumentParser(
        prog="bem",
        description="BEM: entity matching you can explain (block, match, cluster, explain).",
        epilog=CSV_SAFETY,
    )
    parser.add_argument("--version", action="version", version=f"bem {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings only, no progress")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("demo", help="train on built-in synthetic products, link, report")
    p.add_argument("-o", "--output", default="bem-demo", help="output directory (default bem-demo)")
    p.add_argument("--entities", type=int, default=None, help="synthetic entities for training")
    p.add_argument("--epochs", type=int, default=None, help="training epochs")
    p.add_argument("--model", help="base model (default: the packaged MiniLM)")
    p.add_argument("--seed", type=int, default=0)

    p = sub.add_parser("block", help="candidate pairs from fuzzy keys")
    p.add_argument("tables", nargs="+", metavar="TABLE", help="one table (dedup) or two (link)")
    _add_key_options(p)
    p.add_argument("-o", "--output", required=True, help="candidates CSV to write")
    p.add_argument("--matches", help="CSV of true pairs: print recall and reduction ratio")

    p = sub.add_parser("train", help="fine-tune a matcher on labelled pairs")
    p.add_argument("--data", help="a DeepMatcher directory (tableA/B.csv, train/valid/test.csv)")
    p.add_argument("--left", help="left table CSV (with --train)")
    p.add_argument("--right", help="right table CSV (omit to train on pairs inside --left)")
    p.add_argument("--train", help="labelled pairs CSV: ltable_id,rtable_id,label")
    p.add_argument("--valid", help="validation pairs CSV (default: 20%% of --train)")
    p.add_argument("--test", help="test pairs CSV, evaluated after training")
    p.add_argument("--id-column", default="id")
    p.add_argument("--model", help="base model: HF name or path (default: packaged MiniLM)")
    p.add_argument("-o", "--output", required=True, help="directory to save the model in")
    p.add_argument("--overwrite", action="store_true", help="replace an existing model directory")
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument(
        "--pooling",
        choices=["mean", "cls"],
        default="mean",
        help="what the match head reads: the mean of all token states (default; the "
        "packaged MiniLM is a mean-pooled encoder) or the [CLS] state",
    )
    p.add_argument(
        "--summarize",
        action="store_true",
        help="when a pair is too long, keep each value's most informative tokens (TF-IDF)",
    )
    p.add_argument(
        "--augment",
        action="append",
        choices=["swap", "shuffle", "span_del", "attr_del"],
        help="training augmentation (repeat for several)",
    )
    p.add_argument(
        "--one-to-one",
        action="store_true",
        help="also tune a threshold for one-to-one linkage on the validation pairs and store "
        "it in the model (`bem link --one-to-one` uses it)",
    )
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--learning-rate", type=float, default=5e-5)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)

    p = sub.add_parser("match", help="score candidate pairs of two tables")
    p.add_argument("--model", required=True, help="a model directory written by `bem train`")
    p.add_argument("--left", required=True)
    p.add_argument("--right", help="right table (omit when the pairs are inside --left)")
    p.add_argument("--pairs", required=True, help="CSV with ltable_id,rtable_id[,label]")
    p.add_argument("--id-column", default="id")
    p.add_argument("--threshold", type=float, help="decision threshold (default: the model's)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("-o", "--output", required=True, help="scores CSV to write")

    p = sub.add_parser("explain", help="explain matcher decisions as an HTML report")
    p.add_argument("--model", required=True)
    p.add_argument("--left", required=True)
    p.add_argument("--right", help="right table (omit when the pairs are inside --left)")
    p.add_argument("--pairs", required=True, help="CSV with ltable_id,rtable_id[,label]")
    p.add_argument("--id-column", default="id")
    p.add_argument("--method", default="occlusion", help="explanation method (default occlusion)")
    p.add_argument("--limit", type=int, help="explain only the first N pairs")
    p.add_argument("-o", "--output", required=True, help="report.html to write")
    p.add_argument("--json", help="also write explanations as JSON lines here")

    p = sub.add_parser("dedup", help="find duplicates inside one table", epilog=CSV_SAFETY)
    p.add_argument("records", help="the table CSV")
    _add_pipeline_options(p)

    p = sub.add_parser("link", help="link the records of two tables", epilog=CSV_SAFETY)
    p.add_argument("left")
    p.add_argument("right")
    _add_pipeline_options(p)
    p.add_argument(
        "--one-to-one",
        action="store_true",
        help="match each record at most once (threshold: the model's one-to-one linkage "
        "threshold when `bem train --one-to-one` stored one)",
    )

    p = sub.add_parser(
        "run",
        help="repeat a pipeline run from its run.json (stops if an input changed)",
    )
    p.add_argument("run_json")
    p.add_argument("-o", "--output", help="write to this directory instead of the original")
    p.add_argument(
        "--force",
        action="store_true",
        help="run even if an input, the label file or a model file changed since the "
        "recorded run (their sha256 are in run.json); a warning names them",
    )
    return parser


def _cmd_block(args: argparse.Namespace) -> int:
    from blocking import FuzzyBlocker, evaluate_blocking
    from data import load_pairs, load_table

    if len(args.tables) > 2:
        raise BemError(f"block takes one table (dedup) or two (link), got {len(args.tables)}")
    tables = [load_table(t, id_column=args.id_column) for t in args.tables]
    left = tables[0]
    right = tables[1] if len(tables) == 2 else None
    from bem.inputs import check_table, default_key

    key = args.key or default_key(left)
    for name, table in zip(args.tables, tables):
        check_table(table, name, key)
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


def _load_labelled(args: argparse.Namespace):
    from data import RecordPairs, load_deepmatcher, load_pairs, load_table

    if args.data:
        ds = load_deepmatcher(args.data)
        return ds.train, ds.valid, ds.test
    if not (args.left and args.train):
        raise BemError("bem train needs --data DIR, or --left A.csv [--right B.csv] --train P.csv")
    left = load_table(args.left, id_column=args.id_column)
    right = load_table(args.right, id_column=args.id_column) if args.right else left

    def labelled(path: str | None) -> RecordPairs | None:
        if not path:
            return None
        return RecordPairs(left, right, load_pairs(path, left, right, labelled=True))

    train, valid, test = labelled(args.train), labelled(args.valid), labelled(args.test)
    if valid is None:
        from bem.training import split_train_valid

        # one-to-one tuning needs each record's competing candidates together
        group = "ltable_id" if args.one_to_one else None
        train, valid = split_train_valid(train, seed=args.seed, group=group)
        logger.info("no --valid given: holding out %d of the training pairs", len(valid))
    return train, valid, test


def _cmd_train(args: argparse.Namespace) -> int:
    from matcher import Matcher

    out = Path(args.output)
    if out.exists() and any(out.iterdir()) and not args.overwrite:
        raise BemError(f"{out}: directory exists and is not empty; pass --overwrite to replace it")
    train, valid, test = _load_labelled(args)
    matcher = Matcher(
        args.model,
        max_length=args.max_length,
        summarize=args.summarize,
        pooling=args.pooling,
        seed=args.seed,
    )
    matcher.fit(
        train,
        valid,
        augment=args.augment or (),
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        progress=not args.quiet,
    )
    if valid is not None:
        m = matcher.evaluate(valid)
        print(f"valid: precision {m.precision:.4f} recall {m.recall:.4f} F1 {m.f1:.4f}")
    if test is not None:
        m = matcher.evaluate(test)
        print(f"test:  precision {m.precision:.4f} recall {m.recall:.4f} F1 {m.f1:.4f}")
    if args.one_to_one:
        from bem.training import tune_link_threshold

        if valid is None or valid.labels is None or not valid.labels.any():
            raise BemError("--one-to-one needs validation pairs with at least one match")
        link, link_f1 = tune_link_threshold(matcher, valid)
        print(f"one-to-one linkage: threshold {link:.3f}, validation F1 {link_f1:.4f}")
    matcher.train_info_["data"] = args.data or args.train
    matcher.save_pretrained(out, overwrite=args.overwrite)
    print(f"model saved to {out} (threshold {matcher.threshold_:.3f})")
    return 0


def _pairs_from_args(args: argparse.Namespace):
    from data import RecordPairs, load_pairs, load_table

    left = load_table(args.left, id_column=args.id_column)
    right = load_table(args.right, id_column=args.id_column) if args.right else left
    pairs = load_pairs(args.pairs, left, right)
    return RecordPairs(left, right, pairs)


def _cmd_match(args: argparse.Namespace) -> int:
    from bem.inputs import check_threshold
    from bem.run import _load_matcher

    check_threshold(args.threshold)
    matcher = _load_matcher(args.model)
    pairs = _pairs_from_args(args)
    thr = matcher.threshold_ if args.threshold is None else args.threshold
    proba = matcher.predict_proba(pairs, batch_size=args.batch_size, progress=not args.quiet)
    out = pairs.pairs[["ltable_id", "rtable_id"]].copy()
    out["probability"] = proba
    out["decision"] = (proba >= thr).astype(int)
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
    from bem.run import _load_matcher
    from explain import Explainer, write_html, write_jsonl

    matcher = _load_matcher(args.model)
    pairs = _pairs_from_args(args)
    if args.limit is not None:
        pairs = pairs[: args.limit]
    explanations = Explainer(matcher, method=args.method).explain(pairs, progress=not args.quiet)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    write_html(explanations, args.output, title=f"BEM explanations ({args.method})")
    print(f"{len(explanations)} explanations -> {args.output}")
    if args.json:
        write_jsonl(explanations, args.json)
        print(f"JSON lines -> {args.json}")
    return 0


def _pipeline_config(args: argparse.Namespace, mode: str):
    from bem.run import PipelineConfig

    inputs = (args.records,) if mode == "dedup" else (args.left, args.right)
    n = args.review
    return PipelineConfig(
        mode=mode,
        inputs=tuple(str(Path(p).resolve()) for p in inputs),
        model=str(Path(args.model).resolve()) if Path(args.model).exists() else args.model,
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
        batch_size=args.batch_size,
        seed=args.seed,
    )


def _report(result, out: Path) -> None:
    c = result.counts
    print(
        f"{c['records']} records, {c['candidates']} candidate pairs scored, "
        f"{c['match_decisions']} above threshold {result.threshold:.3f}, {c['entities']} entities"
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
    from bem.demo import run_demo

    run_demo(
        Path(args.output),
        n_entities=args.entities,
        epochs=args.epochs,
        model=args.model,
        seed=args.seed,
        progress=not args.quiet,
        echo=print,
    )
    return 0


COMMANDS = {
    "demo": _cmd_demo,
    "block": _cmd_block,
    "train": _cmd_train,
    "match": _cmd_match,
    "explain": _cmd_explain,
    "dedup": lambda a: _cmd_pipeline(a, "dedup"),
    "link": lambda a: _cmd_pipeline(a, "link"),
    "run": _cmd_run,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``bem`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return COMMANDS[args.command](args)
    except BemError as exc:
        print(f"bem {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"bem {args.command}: error: {exc.filename or exc}: {exc.strerror}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"bem {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"bem {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
