"""The ``bem`` command line: the parser and :func:`main`.

Every command turns input problems into one line on stderr and exit code 2;
``-v`` shows debug logging, ``-q`` only warnings. The commands themselves are in
:mod:`bem.commands`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bem import __version__
from data import BemError

__all__ = ["build_parser", "main"]


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
    p.add_argument("--id-column", help=ID_HELP)


ID_HELP = (
    "name of the id column (default: the column 'id' when there is one, else each "
    "record's line number in the file)"
)


def _add_rename_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--rename",
        action="append",
        metavar="ATTRIBUTE=COLUMN",
        help="read the model's ATTRIBUTE from the table's COLUMN, for a table whose columns "
        "are named differently from the model's (repeat for several, e.g. --rename title=name)",
    )


def _add_pipeline_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        help="a model directory written by `bem train` (default: train a label-free model "
        "on the input table(s) first, saved to OUTPUT/model)",
    )
    p.add_argument(
        "--base-model",
        help="without --model: the encoder the label-free model starts from, an HF name or "
        "path (default: the packaged MiniLM)",
    )
    p.add_argument("-o", "--output", required=True, help="output directory")
    p.add_argument(
        "--output-format",
        choices=["csv", "parquet"],
        help="format of entities, pairs and review (default: parquet when the first input "
        "is Parquet, else csv)",
    )
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
    _add_rename_option(p)
    p.add_argument(
        "--engine",
        choices=["local", "spark"],
        default="local",
        help="where blocking, scoring and clustering run: this process (default) or Apache "
        "Spark (pip install 'bem[spark]'; needs Java 17+), with the same outputs",
    )
    p.add_argument(
        "--spark-master",
        metavar="URL",
        help="with --engine spark: the Spark master (default local[*]; e.g. spark://host:7077)",
    )
    p.add_argument(
        "--no-cascade",
        action="store_true",
        help="send every pair to the cross-encoder (default: a model with a cascade lets it "
        "decide the pairs it is sure about first; run.json counts what each stage decided)",
    )


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
    p.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="time budget of the fine-tune: fewer epochs where they do not fit "
        "(default: the demo's budget, so it ends in under 5 minutes; 0: no budget)",
    )
    p.add_argument("--model", help="base model (default: the packaged MiniLM)")
    p.add_argument("--seed", type=int, default=0)

    p = sub.add_parser("block", help="candidate pairs from fuzzy keys")
    p.add_argument("tables", nargs="+", metavar="TABLE", help="one table (dedup) or two (link)")
    _add_key_options(p)
    p.add_argument("-o", "--output", required=True, help="candidates CSV to write")
    p.add_argument("--matches", help="CSV of true pairs: print recall and reduction ratio")

    p = sub.add_parser(
        "train", help="fine-tune a matcher on labelled pairs, or without labels (--self-supervised)"
    )
    p.add_argument(
        "--self-supervised",
        action="store_true",
        help="train without labels on --left [--right]: each record against a noisy copy of "
        "itself (match) and its blocked neighbours (no match); threshold: 90%% of held-out "
        "self-supervised matches reach it",
    )
    p.add_argument(
        "--max-records",
        type=int,
        default=1000,
        help="with --self-supervised: records sampled to make pairs of (default 1000)",
    )
    p.add_argument("--data", help="a DeepMatcher directory (tableA/B.csv, train/valid/test.csv)")
    p.add_argument("--left", help="left table CSV (with --train)")
    p.add_argument("--right", help="right table CSV (omit to train on pairs inside --left)")
    p.add_argument("--train", help="labelled pairs CSV: ltable_id,rtable_id,label")
    p.add_argument(
        "--labels",
        help="a `bem label` session's labels file (with --left [--right]): fine-tunes the "
        "session's starting model (FILE.start-model, else --model, else a label-free model "
        "trained first) with the few-label rule, keeping the fine-tune only where a held-out "
        "fifth of the labels prefers it, and tunes the blocker on the labelled matches",
    )
    p.add_argument(
        "--always-fine-tune",
        action="store_true",
        help="with --labels: fine-tune a trained start and keep the fine-tune even where the "
        "labels cannot check it (fewer than 25 per class) or a held-out fifth of them "
        "prefers the start (the default keeps the start then)",
    )
    p.add_argument("--valid", help="validation pairs CSV (default: 20%% of --train)")
    p.add_argument("--test", help="test pairs CSV, evaluated after training")
    p.add_argument("--id-column", help=ID_HELP)
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
        "--join-codes",
        action="store_true",
        help="write model-number-like codes without separators (KDL-40V5100 -> KDL40V5100) "
        "so that two spellings of one code read alike; stored in the model",
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
    p.add_argument(
        "--epochs",
        type=int,
        help="default 3 (--labels: the few-label rule's; --self-supervised: the label-free "
        "recipe's)",
    )
    p.add_argument("--learning-rate", type=float, help="default 5e-5 (--labels: the rule's)")
    p.add_argument("--batch-size", type=int, help="default 32 (--labels: the rule's)")
    p.add_argument(
        "--max-minutes",
        type=float,
        help="a wall-clock budget for fine-tuning: after the first epoch the epochs are cut to "
        "those that fit (the learning rate still decays to zero); the best validation epoch is "
        "kept. Default: no budget",
    )
    p.add_argument("--seed", type=int, default=0)

    p = sub.add_parser("match", help="score candidate pairs of two tables")
    p.add_argument("--model", required=True, help="a model directory written by `bem train`")
    p.add_argument("--left", required=True)
    p.add_argument("--right", help="right table (omit when the pairs are inside --left)")
    p.add_argument("--pairs", required=True, help="CSV with ltable_id,rtable_id[,label]")
    p.add_argument("--id-column", help=ID_HELP)
    p.add_argument("--threshold", type=float, help="decision threshold (default: the model's)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("-o", "--output", required=True, help="scores CSV to write")
    _add_rename_option(p)

    p = sub.add_parser("explain", help="explain matcher decisions as an HTML report")
    p.add_argument("--model", required=True)
    p.add_argument("--left", required=True)
    p.add_argument("--right", help="right table (omit when the pairs are inside --left)")
    p.add_argument("--pairs", required=True, help="CSV with ltable_id,rtable_id[,label]")
    p.add_argument("--id-column", help=ID_HELP)
    p.add_argument("--method", default="occlusion", help="explanation method (default occlusion)")
    p.add_argument("--threshold", type=float, help="decision threshold (default: the model's)")
    p.add_argument("--limit", type=int, help="explain only the first N pairs")
    p.add_argument("-o", "--output", required=True, help="report.html to write")
    p.add_argument("--json", help="also write explanations as JSON lines here")
    _add_rename_option(p)

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

    from bem.label.command import add_label_parser

    add_label_parser(sub)

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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``bem`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if args.command is None:
        parser.print_help()
        return 0
    from bem.commands import COMMANDS

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
