"""The ``bem train`` command: from labelled pairs, a labelling session, or no labels.

Three routes, chosen by the flags (:func:`cmd_train`):

- ``--data DIR`` or ``--left A.csv [--right B.csv] --train P.csv``: labelled
  pairs (``ltable_id,rtable_id,label``) fine-tune a base model;
- ``--labels FILE --left A.csv [--right B.csv]``: the answers of a ``bem label``
  session fine-tune the session's starting model with the few-label rule
  (:func:`bem.training.few_label_fit`); the fine-tune replaces a trained start
  only where a held-out fifth of the labels prefers it
  (:func:`bem.training.fine_tune_on_labels`; ``--always-fine-tune`` keeps it
  anyway), and the labelled matches tune the blocker stored in the model
  (:func:`bem.training.tune_blocking`);
- ``--self-supervised --left A.csv [--right B.csv]``: no labels at all
  (:func:`bem.labelfree.fit_label_free`).

Like the other commands it prints a short summary and raises
:class:`data.BemError` on bad input.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from data import BemError

__all__ = ["cmd_train"]

logger = logging.getLogger("bem")

DEFAULT_FIT = {"epochs": 3, "learning_rate": 5e-5, "batch_size": 32}
"""The fine-tuning defaults of the labelled-pairs route (``--train``, ``--data``)."""


FIT_FLAGS = (*DEFAULT_FIT, "max_minutes")
"""The ``bem train`` flags passed to ``fit`` when given (``--max-minutes``: no default)."""


def _explicit_fit(args: argparse.Namespace) -> dict[str, Any]:
    return {k: getattr(args, k) for k in FIT_FLAGS if getattr(args, k, None) is not None}


def _load_labelled(args: argparse.Namespace):
    from bem.run import load_input
    from data import RecordPairs, load_deepmatcher, load_pairs

    if args.data:
        ds = load_deepmatcher(args.data)
        return ds.train, ds.valid, ds.test
    if not (args.left and args.train):
        raise BemError(
            "bem train needs --data DIR, or --left A.csv [--right B.csv] --train P.csv, "
            "or --left A.csv [--right B.csv] --labels LABELS.csv (a bem label session), "
            "or --self-supervised --left A.csv [--right B.csv] (no labels)"
        )
    left = load_input(args.left, args.id_column)
    right = load_input(args.right, args.id_column) if args.right else left

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


def _print_metrics(matcher: Any, valid: Any, test: Any) -> None:
    for name, pairs in (("valid:", valid), ("test: ", test)):
        if pairs is not None and pairs.labels is not None:
            m = matcher.evaluate(pairs)
            print(f"{name} precision {m.precision:.4f} recall {m.recall:.4f} F1 {m.f1:.4f}")


def _train_labelled(args: argparse.Namespace, out: Path) -> int:
    from matcher import Matcher

    train, valid, test = _load_labelled(args)
    matcher = Matcher(
        args.model,
        max_length=args.max_length,
        summarize=args.summarize,
        pooling=args.pooling,
        join_codes=args.join_codes,
        seed=args.seed,
    )
    matcher.fit(
        train,
        valid,
        augment=args.augment or (),
        progress=not args.quiet,
        **{**DEFAULT_FIT, **_explicit_fit(args)},
    )
    _print_metrics(matcher, valid, test)
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


def _is_matcher_dir(path: Path) -> bool:
    import json

    from matcher.constants import MODEL_TYPE

    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return config.get("model_type") == MODEL_TYPE


def _start_model(args: argparse.Namespace, left: Any, right: Any) -> Any:
    """The model a session's labels fine-tune: --model, FILE.start-model, else label-free."""
    from bem.run import _load_matcher

    saved = Path(f"{args.labels}.start-model")
    if args.model:
        if _is_matcher_dir(Path(args.model)):
            print(f"starting model: {args.model}")
            return _kept_serializer(args, _load_matcher(args.model))
        from matcher import Matcher

        print(f"starting model: {args.model} (a base model, not a matcher: trained from scratch)")
        return Matcher(
            args.model, max_length=args.max_length, join_codes=args.join_codes, seed=args.seed
        )
    if saved.is_dir():
        print(f"starting model: the session's, {saved}")
        return _kept_serializer(args, _load_matcher(str(saved)))
    from bem.labelfree import fit_label_free

    print(f"no {saved} and no --model: training the label-free model first (no labels)")
    return fit_label_free(
        left,
        right,
        max_length=args.max_length,
        matcher_kwargs={"join_codes": args.join_codes},
        seed=args.seed,
        progress=not args.quiet,
    )


def _kept_serializer(args: argparse.Namespace, matcher: Any) -> Any:
    """A trained start model keeps the serialization it learned; say so if asked otherwise."""
    if args.join_codes and not matcher.join_codes:
        print(
            "note: --join-codes is ignored: the starting model was trained without it, and "
            "fine-tuning keeps its serialization (train from a base model to change it)"
        )
    return matcher


def _train_from_labels(args: argparse.Namespace, out: Path) -> int:
    from bem.label import labels_to_training
    from bem.run import load_input
    from bem.training import MIN_MATCHES_FOR_BLOCKING, fine_tune_on_labels, tune_blocking

    if not args.left:
        raise BemError(
            "bem train --labels needs the session's tables: --left A.csv [--right B.csv]"
        )
    given = [f for f in ("data", "train", "valid") if getattr(args, f)]
    if given:
        flags = ", ".join("--" + f for f in given)
        raise BemError(f"--labels trains on the session's answers; drop {flags}")
    left = load_input(args.left, args.id_column)
    right = load_input(args.right, args.id_column) if args.right else None
    pairs = labels_to_training(args.labels, left, right)
    n_match = int(pairs.labels.sum())
    print(f"{args.labels}: {n_match} match and {len(pairs) - n_match} no-match labels")
    matcher = _start_model(args, left, right)
    fit = fine_tune_on_labels(
        matcher,
        pairs,
        seed=args.seed,
        progress=not args.quiet,
        fit_kwargs=_explicit_fit(args),
        guard=not args.always_fine_tune,
    )
    matcher, valid = fit.matcher, fit.valid
    print(fit.reason)
    if valid is None and fit.kept == "fine-tuned":
        print(
            f"all {len(fit.train)} labels trained (too few per class to hold out validation "
            "pairs: the threshold stays the starting model's)"
        )
    _print_metrics(matcher, valid, None)
    test = None
    if args.test:
        from data import RecordPairs, load_pairs

        table = left if right is None else right
        test = RecordPairs(left, table, load_pairs(args.test, left, table, labelled=True))
        _print_metrics(matcher, None, test)
    tuned = tune_blocking(matcher, left, right, pairs, progress=not args.quiet)
    if tuned is None:
        print(
            f"blocker not tuned: {n_match} labelled matches, {MIN_MATCHES_FOR_BLOCKING} "
            "needed; bem dedup/link block with the default key"
        )
    else:
        from blocking import describe_config

        info = matcher.blocking_["tuned_on"]
        print(
            f"blocker tuned on {n_match} labelled matches: {describe_config(matcher.blocking_)} "
            f"(recall {info['recall']:.3f} at {info['candidates_per_record']:.1f} candidates "
            "per record); stored in the model"
        )
    if fit.kept == "fine-tuned":
        matcher.train_info_["data"] = f"{len(pairs)} pairs labelled in a bem label session"
    matcher.train_info_["labels_file"] = str(args.labels)
    matcher.save_pretrained(out, overwrite=args.overwrite)
    print(f"model saved to {out} (threshold {matcher.threshold_:.3f})")
    return 0


def _train_self_supervised(args: argparse.Namespace, out: Path) -> int:
    from bem.labelfree import fit_label_free
    from bem.run import load_input

    if not args.left:
        raise BemError("bem train --self-supervised needs --left A.csv [--right B.csv]")
    given = [f for f in ("data", "train", "valid", "test", "labels") if getattr(args, f)]
    if given:
        flags = ", ".join("--" + f for f in given)
        raise BemError(f"bem train --self-supervised trains without labels; drop {flags}")
    if args.max_records < 10:
        raise BemError(f"--max-records must be at least 10, got {args.max_records}")
    left = load_input(args.left, args.id_column)
    right = load_input(args.right, args.id_column) if args.right else None
    matcher = fit_label_free(
        left,
        right,
        model=args.model,
        max_length=args.max_length,
        max_records=args.max_records,
        matcher_kwargs={"join_codes": args.join_codes},
        seed=args.seed,
        fit_kwargs=_explicit_fit(args),  # --epochs, --max-minutes...: over the label-free recipe
        progress=not args.quiet,
    )
    matcher.save_pretrained(out, overwrite=args.overwrite)
    print(
        f"label-free model saved to {out} (threshold {matcher.threshold_:.3f}: 90% of the "
        "held-out self-supervised positives reach it; no labels used)"
    )
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Run ``bem train`` (see the module docstring for its three routes)."""
    out = Path(args.output)
    if out.exists() and any(out.iterdir()) and not args.overwrite:
        raise BemError(f"{out}: directory exists and is not empty; pass --overwrite to replace it")
    if args.always_fine_tune and not args.labels:
        raise BemError("--always-fine-tune applies to --labels training only")
    if args.self_supervised:
        return _train_self_supervised(args, out)
    if args.max_records != 1000:
        raise BemError("--max-records applies to --self-supervised training only")
    if args.labels:
        return _train_from_labels(args, out)
    return _train_labelled(args, out)
