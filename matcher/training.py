"""Fine-tuning: AdamW with warm-up and linear decay, class weighting, augmentation,
threshold selection and early stopping on the validation F1.

:func:`fit_matcher` trains any object with the :class:`Trainable` surface (the
:class:`~matcher.Matcher` has it) and returns a :class:`FitResult`; the matcher
stores what it learned. This module never imports :mod:`matcher.model`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
from tqdm.auto import tqdm

from data import BemError, RecordPairs
from matcher.augmentation import AUGMENTATIONS, BLANK_SOURCES, augment_pair, blank_pairs
from matcher.budget import budgeted_epochs
from matcher.encoding import EncodedPair, PairEncoder, TfidfSummarizer
from matcher.metrics import best_threshold, match_metrics
from matcher.schema import PairsLike, as_records

__all__ = ["AUGMENTATIONS", "FitResult", "Trainable", "augment_pair", "fit_matcher"]

logger = logging.getLogger(__name__)


class Trainable(Protocol):
    """What :func:`fit_matcher` uses of a matcher."""

    model_: Any
    encoder_: PairEncoder
    seed: int
    device: str
    summarize: bool
    max_length: int

    def collate(
        self, encoded: Sequence[EncodedPair], *, pad_to: int | None = None
    ) -> dict[str, Any]: ...

    def logits(self, batch: Mapping[str, Any], *, model: Any = None) -> Any: ...

    def predict_proba(
        self, pairs: PairsLike, *, batch_size: int | None = None, progress: bool = False
    ) -> np.ndarray: ...

    def _invalidate(self) -> None: ...


@dataclass(frozen=True)
class FitResult:
    """What a fit learned besides the weights (those are already in ``model_``).

    Attributes:
        threshold: the validation-tuned decision threshold of the kept epoch
            (``None`` without validation pairs).
        history: one row per epoch (loss, pairs, seconds, validation F1).
        info: the training record saved with the model (sizes, epochs, time,
            hyperparameters, history and ``valid_metrics`` when validated).
        valid_proba: the kept epoch's P(match) of the validation pairs
            (``None`` without them); the cascade's band is tuned on them.
    """

    threshold: float | None
    history: list[dict[str, float]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    valid_proba: np.ndarray | None = None


def _pos_weight(labels: np.ndarray, class_weight: str | float | None) -> float:
    n_pos, n_neg = int(labels.sum()), int(len(labels) - labels.sum())
    if class_weight is None:
        return 1.0
    if isinstance(class_weight, int | float):
        return float(class_weight)
    ratio = n_neg / max(n_pos, 1)
    if class_weight == "balanced":
        return ratio
    if class_weight == "sqrt":
        return math.sqrt(ratio)
    raise ValueError(
        f"class_weight must be None, 'balanced', 'sqrt' or a number, got {class_weight!r}"
    )


def _batches(lengths: np.ndarray, size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar lengths (sorted inside chunks of 50 batches)."""
    perm = rng.permutation(len(lengths))
    chunk = size * 50
    batches = []
    for s in range(0, len(perm), chunk):
        part = perm[s : s + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i : i + size] for i in range(0, len(part), size))
    return [batches[i] for i in rng.permutation(len(batches))]


def fit_matcher(
    matcher: Trainable,
    train: RecordPairs,
    valid: RecordPairs | None = None,
    *,
    epochs: int = 3,
    learning_rate: float = 5e-5,
    batch_size: int = 32,
    warmup_ratio: float = 0.1,
    weight_decay: float = 0.01,
    class_weight: Literal["balanced", "sqrt"] | float | None = "sqrt",
    augment: Sequence[str] = (),
    augment_prob: float = 0.5,
    early_stopping: int | None = 2,
    max_grad_norm: float = 1.0,
    negatives_per_positive: float | None = None,
    blank_augment: float = 0.1,
    blank_sources: Literal["all", "non_matches"] = "all",
    max_minutes: float | None = None,
    progress: bool = True,
) -> FitResult:
    """Fine-tune ``matcher`` on labelled pairs; the best epoch's weights stay in it.

    After every epoch the decision threshold is re-tuned on ``valid`` (best
    F1); the epoch with the best validation F1 is kept, and training stops
    after ``early_stopping`` epochs without improvement. Without ``valid`` the
    last epoch is kept with the constructor's threshold.

    Args:
        epochs: passes over ``train``.
        learning_rate: peak AdamW learning rate.
        batch_size: training batch size.
        warmup_ratio: share of the steps with a linear warm-up; linear decay after.
        weight_decay: AdamW weight decay (not on biases and LayerNorm).
        class_weight: weight of the positive class in the loss: ``"balanced"``
            (negatives/positives), ``"sqrt"`` (its square root), a number or None.
        augment: augmentation operators from :data:`AUGMENTATIONS`; each pair is
            replaced by an augmented copy with probability ``augment_prob`` per epoch.
        early_stopping: patience in epochs (None: never stop early).
        negatives_per_positive: train each epoch on every match and a fresh random
            sample of this many non-matches per match (None: all pairs). Cuts the
            cost of an epoch on imbalanced data while every negative is still seen
            over the epochs; the class weight is computed on the sampled ratio.
        blank_augment: add this many pairs per training pair and epoch (rounded
            up; 0 turns it off) drawn by :func:`matcher.augmentation.blank_pairs`:
            all-empty and one-sided pairs as non-matches, and copies with
            attributes blanked on both sides, a match staying a match only while
            another attribute is non-empty on both sides. Teaches the model that
            missing evidence is no evidence of a match.
        blank_sources: the pairs those copies are made of: ``"all"``, or
            ``"non_matches"`` only (every label certain; see
            :mod:`matcher.augmentation`).
        max_minutes: a wall-clock budget for the whole fit (encoding and
            validation included; the cascade fitted after it is not). After the
            first epoch the epochs are cut to those that end within it at that
            epoch's pace, and the learning-rate schedule is shortened to match
            (it still decays to zero); after each later epoch, training stops
            when one more would overrun. The kept epoch is still the best on
            validation. How many epochs run depends on the machine's speed, so
            a budgeted fit is reproducible only where the budget did not bind
            (``info["stopped_by"]`` says). None: no budget.
        progress: show a progress bar with the loss and validation F1.
    """
    import torch

    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if max_minutes is not None and not max_minutes > 0:
        raise ValueError(f"max_minutes must be positive (or None), got {max_minutes}")
    if not 0.0 <= blank_augment <= 1.0:
        raise ValueError(
            f"blank_augment must be in [0, 1] (blanked pairs per training pair), "
            f"got {blank_augment}"
        )
    if blank_sources not in BLANK_SOURCES:
        raise ValueError(f"blank_sources must be one of {BLANK_SOURCES}, got {blank_sources!r}")
    bad = [a for a in augment if a not in AUGMENTATIONS]
    if bad:
        raise ValueError(f"unknown augmentation(s) {bad}; choose from {AUGMENTATIONS}")
    for name, split in (("train", train), ("valid", valid)):
        if split is not None and (not isinstance(split, RecordPairs) or split.labels is None):
            raise BemError(
                f"fit: the {name} pairs need labels (a pair table with a 'label' column, "
                "1 = match); pass labelled RecordPairs"
            )
    labels = train.labels
    if labels is None or len(labels) == 0 or labels.min() == labels.max():
        raise BemError("fit: the train pairs need both matches (label 1) and non-matches (label 0)")
    started = time.perf_counter()
    records = as_records(train, matcher.encoder_.serializer.attributes)
    attributes = matcher.encoder_.serializer.attribute_order(*records[0])
    encoder = matcher.encoder_
    if matcher.summarize:
        values = {v for a, b in records for v in list(a.values()) + list(b.values()) if v}
        encoder.summarizer = TfidfSummarizer().fit(encoder.value_token_ids(sorted(values)))
    matcher._invalidate()
    base = encoder.encode(records)

    torch.manual_seed(matcher.seed)
    rng = np.random.default_rng(matcher.seed)
    model = matcher.model_
    params = list(model.named_parameters())
    no_decay = [p for n, p in params if n.endswith("bias") or "norm" in n.lower()]
    decay = [p for n, p in params if not (n.endswith("bias") or "norm" in n.lower())]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=learning_rate,
    )
    positives, negatives = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    per_epoch = len(base)
    if negatives_per_positive is not None:
        if negatives_per_positive <= 0:
            raise ValueError(
                f"negatives_per_positive must be positive, got {negatives_per_positive}"
            )
        n_neg = min(len(negatives), round(negatives_per_positive * len(positives)))
        per_epoch = len(positives) + n_neg
    n_blank = math.ceil(blank_augment * per_epoch)
    steps_per_epoch = math.ceil((per_epoch + n_blank) / batch_size)
    planned = epochs  # max_minutes may cut it after the first epoch; the schedule follows
    warmup = int(steps_per_epoch * epochs * warmup_ratio)

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        total = steps_per_epoch * planned
        return max(0.0, (total - step) / max(1, total - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    sampled_labels = labels
    if per_epoch < len(base):
        sampled_labels = np.r_[np.ones(len(positives)), np.zeros(per_epoch - len(positives))]
    loss_fn = torch.nn.BCEWithLogitsLoss(
        pos_weight=torch.tensor(_pos_weight(sampled_labels, class_weight), device=matcher.device)
    )
    y_all = torch.tensor(labels, dtype=torch.float32)
    history: list[dict[str, float]] = []
    best: tuple[float, int, dict, float, np.ndarray] | None = None
    stale, stopped_by = 0, None
    bar = tqdm(total=steps_per_epoch * epochs, desc="fit", unit="step", disable=not progress)
    epoch, epochs_started = 0, time.perf_counter()
    while epoch < planned:
        epoch += 1
        t0 = time.perf_counter()
        encoded = list(base)
        if augment:
            chosen = np.flatnonzero(rng.random(len(records)) < augment_prob)
            ops = rng.integers(len(augment), size=len(chosen))
            aug = [
                augment_pair(*records[i], augment[o], attributes, rng) for i, o in zip(chosen, ops)
            ]
            fresh = encoder.encode([(a, b) for a, b, _ in aug], orders=[o for _, _, o in aug])
            for i, e in zip(chosen, fresh):
                encoded[i] = e
        if per_epoch < len(base):
            picked = np.r_[
                positives, rng.choice(negatives, per_epoch - len(positives), replace=False)
            ]
        else:
            picked = np.arange(len(base))
        n_pairs, y_epoch = len(picked), y_all
        if n_blank:
            extra = blank_pairs(
                records, labels, attributes, n=n_blank, rng=rng, sources=blank_sources
            )
            encoded += encoder.encode(extra.records)
            y_epoch = torch.cat([y_all, torch.tensor(extra.labels, dtype=torch.float32)])
            picked = np.r_[picked, len(base) + np.arange(n_blank)]
        lengths = np.array([len(e) for e in encoded])
        model.train()
        losses = []
        for sub in _batches(lengths[picked], batch_size, rng):
            idx = picked[sub]
            batch = matcher.collate([encoded[i] for i in idx])
            loss = loss_fn(matcher.logits(batch), y_epoch[idx].to(matcher.device))
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            bar.update(1)
            bar.set_postfix(epoch=epoch, loss=f"{np.mean(losses[-50:]):.4f}", refresh=False)
        model.eval()
        row = {
            "epoch": epoch,
            "loss": float(np.mean(losses)),
            "pairs": n_pairs,
            "blank_pairs": n_blank,
            "seconds": time.perf_counter() - t0,
        }
        if valid is not None:
            matcher._invalidate()
            proba = matcher.predict_proba(valid)
            threshold, f1 = best_threshold(valid.labels, proba)
            row.update(valid_f1=f1, threshold=threshold)
            bar.set_postfix(epoch=epoch, loss=f"{row['loss']:.4f}", valid_f1=f"{f1:.4f}")
            if best is None or f1 > best[0]:
                state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                best = (f1, epoch, state, threshold, proba)
                stale = 0
            else:
                stale += 1
        history.append(row)
        logger.info("epoch %s: %s", epoch, row)
        if early_stopping is not None and stale >= early_stopping:
            logger.info(
                "early stopping after epoch %s (best epoch %s)", epoch, best[1] if best else None
            )
            stopped_by = "early_stopping"
            break
        if max_minutes is not None:
            fits = budgeted_epochs(planned, 60.0 * max_minutes, started, epochs_started, epoch)
            if fits < planned:
                planned, stopped_by = fits, "time_budget"
                bar.total = steps_per_epoch * planned
                bar.refresh()
    bar.close()
    if best is not None:
        model.load_state_dict(best[2])
    model.eval()
    matcher._invalidate()
    info: dict[str, Any] = {
        "train_pairs": len(train),
        "train_matches": int(labels.sum()),
        "valid_pairs": 0 if valid is None else len(valid),
        "epochs_run": len(history),
        "best_epoch": best[1] if best else len(history),
        "stopped_by": stopped_by,
        "train_seconds": round(time.perf_counter() - started, 1),
        "hyperparameters": {
            "epochs": epochs,
            "learning_rate": learning_rate,
            "batch_size": batch_size,
            "warmup_ratio": warmup_ratio,
            "weight_decay": weight_decay,
            "class_weight": class_weight,
            "augment": list(augment),
            "augment_prob": augment_prob,
            "early_stopping": early_stopping,
            "negatives_per_positive": negatives_per_positive,
            "blank_augment": blank_augment,
            "blank_sources": blank_sources,
            "max_minutes": max_minutes,
            "max_length": matcher.max_length,
            "summarize": matcher.summarize,
            "seed": matcher.seed,
        },
        "history": history,
    }
    if valid is not None and best is not None:
        info["valid_metrics"] = match_metrics(valid.labels, best[4], best[3]).to_dict()
    return FitResult(
        threshold=None if best is None else best[3],
        history=history,
        info=info,
        valid_proba=None if best is None else best[4],
    )
