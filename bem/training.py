"""Helpers for training on a user's own labelled pairs."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from data import BemError, RecordPairs
from matcher.metrics import best_threshold

__all__ = [
    "MIN_MATCHES_FOR_BLOCKING",
    "MIN_PER_CLASS_FOR_VALID",
    "FewLabelFit",
    "enough_to_check",
    "few_label_fit",
    "fine_tune_on_labels",
    "is_trained",
    "split_train_valid",
    "tune_blocking",
    "tune_link_threshold",
]

MIN_PER_CLASS_FOR_VALID = 25
"""A fifth of the labels is held out for validation only once each class has this many."""

MIN_MATCHES_FOR_BLOCKING = 10
"""The fewest labelled matches :func:`tune_blocking` tunes a blocker on."""


def few_label_fit(n_train: int) -> dict[str, Any]:
    """The fine-tuning settings for ``n_train`` labelled pairs (one rule for every size).

    About 3,200 pair presentations in all (at least 4 and at most 20 epochs), a
    learning rate half the full-label recipe's (the start is already a matcher:
    the label-free model), no negative sampling (every label is used every
    epoch), swap augmentation. Set a priori, not tuned on the benchmark sets;
    ``bem label`` retrains with it and ``bench/label_efficiency.py`` measures it.
    """
    epochs = int(min(20, max(4, math.ceil(3200 / max(n_train, 1)))))
    return {
        "epochs": epochs,
        "learning_rate": 5e-5,
        "batch_size": 16,
        "warmup_ratio": 0.1,
        "class_weight": "sqrt",
        "augment": ["swap"],
        "augment_prob": 0.5,
        "early_stopping": 3,
    }


@dataclass
class FewLabelFit:
    """What :func:`fine_tune_on_labels` did with the labels, and the matcher it kept.

    ``kept`` is ``"fine-tuned"`` or ``"start"`` (the starting model as it was:
    weights, threshold and cascade);
    ``start_f1`` and ``tuned_f1`` are the two models' F1 on the held-out labels
    at their best thresholds (``None`` where not measured); ``reason`` says why
    in a sentence the CLI prints and the model card keeps.
    """

    matcher: Any
    train: RecordPairs
    valid: RecordPairs | None
    kept: str
    reason: str
    start_f1: float | None = None
    tuned_f1: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The figures, for ``train_info_`` and JSON (no matcher, no pairs)."""
        return {
            "kept": self.kept,
            "reason": self.reason,
            "n_labels": len(self.train) + (0 if self.valid is None else len(self.valid)),
            "n_valid": 0 if self.valid is None else len(self.valid),
            "start_valid_f1": self.start_f1,
            "tuned_valid_f1": self.tuned_f1,
        }


def enough_to_check(counts: np.ndarray) -> bool:
    """Each class has :data:`MIN_PER_CLASS_FOR_VALID` labels (``counts``: no-match, match),
    so a fifth can be held out to check a fine-tune against its start."""
    return bool(np.min(counts) >= MIN_PER_CLASS_FOR_VALID)


def is_trained(matcher: Any) -> bool:
    """``matcher`` was fitted (on labels or without them), not a raw language model."""
    return bool(getattr(matcher, "train_info_", None))


def fine_tune_on_labels(
    matcher: Any,
    pairs: RecordPairs,
    *,
    seed: int = 0,
    progress: bool = True,
    fit_kwargs: dict[str, Any] | None = None,
    guard: bool = True,
) -> FewLabelFit:
    """Fine-tune ``matcher`` on a few hundred labelled pairs with :func:`few_label_fit`,
    and keep the fine-tune only where held-out labels say it is better.

    The rule, the same for every number of labels:

    - Once each class has :data:`MIN_PER_CLASS_FOR_VALID` pairs, a fifth of them
      (stratified) is held out. The fine-tune early-stops and picks its threshold
      on it, and it replaces a trained starting model only if its F1 there, at its
      best threshold, beats the start's at the start's best threshold; else (a tie
      too) the start is kept as it was, its threshold and cascade included. The
      check leans towards the fine-tune (it early-stopped on those same labels),
      so a start it keeps was clearly not beaten.
    - With fewer, nothing can check a fine-tune, so a trained starting model (the
      label-free model, a ``--model``) is kept as it is: no unchecked change
      replaces a model that works.
    - An untrained start (a raw language model) is always fine-tuned, on every
      label where there are too few to hold out.

    ``guard=False`` fine-tunes whatever the labels and keeps the fine-tune (not
    compared with the start). ``fit_kwargs`` override the rule's settings. Use the
    result's ``matcher``: the one passed in may have been fine-tuned and then not
    kept.

    Raises:
        BemError: the pairs hold only one class.
    """
    labels = pairs.labels
    if labels is None:
        raise BemError("training pairs need a 'label' column (1 = match, 0 = no match)")
    counts = np.bincount(np.asarray(labels, dtype=int), minlength=2)
    if counts.min() == 0:
        missing = "match" if counts[1] == 0 else "no-match"
        raise BemError(f"the labels hold no {missing} pair; a matcher needs both classes")
    untrained = not is_trained(matcher)
    train, valid = pairs, None
    if enough_to_check(counts):
        train, valid = split_train_valid(pairs, seed=seed)
    elif guard and not untrained:
        reason = (
            f"the starting model's weights and threshold are kept: {counts[1]} match and "
            f"{counts[0]} no-match labels, and checking a fine-tune needs "
            f"{MIN_PER_CLASS_FOR_VALID} of each (--always-fine-tune fine-tunes anyway)"
        )
        return _record(FewLabelFit(matcher, train, None, "start", reason))
    settings = {**few_label_fit(len(train)), **(fit_kwargs or {})}
    if untrained or not guard:
        how = "an untrained start" if untrained else "--always-fine-tune: not compared"
        matcher.fit(train, valid, progress=progress, **settings)
        reason = f"fine-tuned on {len(train)} labels ({how})"
        return _record(FewLabelFit(matcher, train, valid, "fine-tuned", reason))
    _, start_f1 = best_threshold(valid.labels, matcher.predict_proba(valid))
    matcher._invalidate()  # the copy needs no cached encodings
    start = copy.deepcopy(matcher)
    matcher.fit(train, valid, progress=progress, **settings)
    _, tuned_f1 = best_threshold(valid.labels, matcher.predict_proba(valid))
    figures = (
        f"F1 on {len(valid)} held-out labels, each at its best threshold: {tuned_f1:.3f} "
        f"fine-tuned, {start_f1:.3f} the start"
    )
    if tuned_f1 > start_f1:
        reason = f"fine-tuned on {len(train)} labels ({figures})"
        return _record(FewLabelFit(matcher, train, valid, "fine-tuned", reason, start_f1, tuned_f1))
    reason = (
        "the starting model's weights and threshold are kept: the fine-tune did not beat it "
        f"({figures}; --always-fine-tune keeps the fine-tune)"
    )
    return _record(FewLabelFit(start, train, valid, "start", reason, start_f1, tuned_f1))


def _record(fit: FewLabelFit) -> FewLabelFit:
    fit.matcher.train_info_["few_label"] = fit.to_dict()
    return fit


def tune_blocking(
    matcher: Any,
    left: Any,
    right: Any,
    pairs: RecordPairs,
    *,
    target_recall: float = 0.99,
    progress: bool = True,
) -> Any:
    """Tune the blocker on the labelled matches and store it in ``matcher.blocking_``.

    Runs :func:`blocking.tune_blocker` (keys, scorer and ``k`` that reach
    ``target_recall`` of the labelled matches with the fewest candidates) over
    the model's attributes, and records the chosen blocker with what it was
    tuned on (``tuned_on``: matches, recall, candidates per record, met). The
    model directory then carries it and ``bem dedup/link`` block with it. With
    fewer than :data:`MIN_MATCHES_FOR_BLOCKING` matches nothing is tuned and
    ``None`` is returned; else the :class:`blocking.TuningResult`.
    """
    from blocking import blocker_to_config, tune_blocker

    matches = pairs.pairs[np.asarray(pairs.labels) == 1][["ltable_id", "rtable_id"]]
    if len(matches) < MIN_MATCHES_FOR_BLOCKING:
        return None
    columns = set(left.columns) & set((left if right is None else right).columns)
    attributes = [a for a in (matcher.attributes_ or sorted(columns)) if a in columns]
    filled = [a for a in attributes if left[a].notna().mean() >= 0.5]
    keys: list[Any] = [(a,) for a in filled] + ([tuple(filled)] if len(filled) > 1 else [])
    result = tune_blocker(
        left, right, matches, target_recall=target_recall, attributes=keys, progress=progress
    )
    config = blocker_to_config(result.blocker)
    config["tuned_on"] = {
        "matches": len(matches),
        "recall": round(float(result.metrics.recall), 4),
        "candidates_per_record": round(float(result.metrics.candidates_per_record), 2),
        "target_recall": target_recall,
        "met": bool(result.met),
    }
    matcher.blocking_ = config
    return result


def tune_link_threshold(matcher: Any, valid: RecordPairs) -> tuple[float, float]:
    """Tune ``matcher``'s one-to-one linkage threshold on labelled validation pairs.

    Scores ``valid``, picks the threshold with
    :func:`bem.pipeline.tune_one_to_one_threshold` and stores it in
    ``matcher.link_threshold_`` (saved with the model; ``bem link --one-to-one``
    uses it). Returns ``(threshold, validation F1 of the one-to-one linkage)``.
    """
    from bem.pipeline import tune_one_to_one_threshold

    ids = valid.pairs
    threshold, f1 = tune_one_to_one_threshold(
        ids["ltable_id"].astype(str).tolist(),
        ids["rtable_id"].astype(str).tolist(),
        matcher.predict_proba(valid),
        valid.labels,
    )
    matcher.link_threshold_ = threshold
    return threshold, f1


def split_train_valid(
    pairs: RecordPairs,
    *,
    valid_fraction: float = 0.2,
    seed: int = 0,
    group: str | None = None,
) -> tuple[RecordPairs, RecordPairs]:
    """Split labelled pairs into train and validation parts, stratified by label.

    With ``group`` (``"ltable_id"`` or ``"rtable_id"``) all pairs of one record
    on that side land in the same part: no record is seen in training and again
    in validation, and the validation part keeps each record's competing
    candidates together (what :func:`bem.pipeline.tune_one_to_one_threshold`
    needs). Groups that hold a match are stratified apart from those that do not.
    Deterministic given ``seed``; every pair lands in exactly one part.
    """
    if not 0.0 < valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must be in (0, 1), got {valid_fraction}")
    labels = pairs.labels
    if labels is None:
        raise BemError("training pairs need a 'label' column (1 = match, 0 = no match)")
    if group is not None:
        return _split_groups(pairs, labels, group, valid_fraction, seed)
    rng = np.random.default_rng(seed)
    valid_idx: list[int] = []
    for value in (0, 1):
        idx = np.flatnonzero(labels == value)
        if len(idx) == 0:
            name = "matching" if value else "non-matching"
            raise BemError(f"training pairs hold no {name} pair; a matcher needs both labels")
        rng.shuffle(idx)
        n = max(1, round(len(idx) * valid_fraction)) if len(idx) > 1 else 0
        valid_idx.extend(idx[:n].tolist())
    mask = np.zeros(len(pairs), dtype=bool)
    mask[valid_idx] = True
    return pairs[np.flatnonzero(~mask)], pairs[np.flatnonzero(mask)]


def _split_groups(
    pairs: RecordPairs, labels: np.ndarray, group: str, valid_fraction: float, seed: int
) -> tuple[RecordPairs, RecordPairs]:
    if group not in ("ltable_id", "rtable_id"):
        raise ValueError(f"group must be 'ltable_id' or 'rtable_id', got {group!r}")
    keys = pairs.pairs[group].astype(str).to_numpy()
    has_match = {k for k, y in zip(keys, labels) if y == 1}
    rng = np.random.default_rng(seed)
    valid_keys: set[str] = set()
    for holds_match in (False, True):
        groups = np.array(sorted({k for k in keys if (k in has_match) == holds_match}))
        rng.shuffle(groups)
        n = max(1, round(len(groups) * valid_fraction)) if len(groups) > 1 else 0
        valid_keys.update(groups[:n].tolist())
    mask = np.array([k in valid_keys for k in keys], dtype=bool)
    for part, name in ((~mask, "training"), (mask, "validation")):
        if len(set(labels[part].tolist())) < 2:
            raise BemError(
                f"splitting by {group} left the {name} part with one label only; "
                "label more pairs or split without group"
            )
    return pairs[np.flatnonzero(~mask)], pairs[np.flatnonzero(mask)]
