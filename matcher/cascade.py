"""A cheap first stage that decides the pairs it is sure about, before the cross-encoder.

:class:`Cascade` is a logistic regression on :class:`~matcher.similarity.SimilarityFeatures`
(standardised), trained on the matcher's training pairs. A band ``[low, high]``
on its probability is tuned on validation pairs (:func:`tune_band`): a pair
with cheap P < ``low`` is decided "no match", one with P > ``high`` that shares
evidence (:func:`~matcher.evidence.shared_evidence_mask`: no evidence, no merge)
is decided "match", and every other pair goes to the cross-encoder. The band is
cross-fitted: the widest (most pairs decided) on each of two halves of the
validation pairs, the more conservative of the two, kept if the combined
decisions keep the validation F1 within ``tolerance`` of the cross-encoder's
alone; when it does not, the cascade decides nothing (:attr:`Cascade.enabled`
is False).

A cascade is saved as ``cascade.json`` (coefficients, intercept, feature names,
standardisation, band; never pickle). :func:`matcher.staged.predict_with_cascade`
scores only the undecided pairs with the cross-encoder, so on them its
decisions are the cross-encoder's own.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from data import BemError, RecordPairs
from matcher.band import Band, tune_band
from matcher.evidence import shared_evidence_mask
from matcher.similarity import SimilarityFeatures

__all__ = [
    "CASCADE_FILE",
    "Band",
    "Cascade",
    "CascadeContributions",
    "CascadeRouting",
    "fit_cascade",
    "tune_band",
]

logger = logging.getLogger(__name__)

CASCADE_FILE = "cascade.json"
FORMAT = 1


class Scorer(Protocol):
    """What the cascade uses of a matcher."""

    @property
    def attributes_(self) -> list[str] | None: ...

    @property
    def threshold_(self) -> float: ...

    def predict_proba(
        self, pairs: Any, *, batch_size: int | None = None, progress: bool = False
    ) -> np.ndarray: ...


@dataclass(frozen=True)
class CascadeRouting:
    """Which pairs the first stage decides, and how.

    Attributes:
        decided: bool per pair: the cascade decides it.
        decision: 1 (match) or 0 (no match) where decided, -1 where not.
        proba: the cheap model's P(match) of every pair.
    """

    decided: np.ndarray
    decision: np.ndarray
    proba: np.ndarray

    @property
    def n_decided(self) -> int:
        return int(self.decided.sum())

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"decided": self.decided, "decision": self.decision, "cheap_proba": self.proba}
        )


@dataclass(frozen=True)
class CascadeContributions:
    """The cheap model's logit of one pair, split exactly over its features.

    ``intercept + contributions.sum() == logit``; a contribution is the
    coefficient times the standardised feature value.
    """

    names: list[str]
    groups: list[str]
    values: np.ndarray
    standardised: np.ndarray
    contributions: np.ndarray
    intercept: float
    logit: float
    probability: float
    decided: bool
    decision: int

    @property
    def by_attribute(self) -> dict[str, float]:
        """Contributions summed per attribute (and ``"(record)"``), in feature order."""
        out: dict[str, float] = {}
        for group, c in zip(self.groups, self.contributions):
            out[group] = out.get(group, 0.0) + float(c)
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per feature: attribute, value, standardised value, contribution."""
        return pd.DataFrame(
            {
                "feature": self.names,
                "attribute": self.groups,
                "value": self.values,
                "standardised": self.standardised,
                "contribution": self.contributions,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": dict(zip(self.names, map(float, self.contributions))),
            "by_attribute": self.by_attribute,
            "intercept": self.intercept,
            "logit": self.logit,
            "probability": self.probability,
            "decided": self.decided,
            "decision": self.decision,
        }


class Cascade:
    """The first stage: logistic regression on similarity features and a decision band.

    Args:
        tolerance: the most validation F1 (absolute) the combined decisions may
            lose against the cross-encoder alone.
        C: inverse L2 regularisation strength of the logistic regression.
        max_iter: solver iterations.
        max_chars: see :class:`~matcher.similarity.SimilarityFeatures`.
        chunk_size: pairs featurised at a time (bounds memory).
    """

    def __init__(
        self,
        *,
        tolerance: float = 0.005,
        C: float = 1.0,
        max_iter: int = 1000,
        max_chars: int = 256,
        chunk_size: int = 50_000,
    ) -> None:
        if not 0.0 <= tolerance <= 1.0:
            raise ValueError(f"tolerance must be in [0, 1] (absolute F1), got {tolerance}")
        if C <= 0:
            raise ValueError(f"C must be positive, got {C}")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        self.tolerance = tolerance
        self.C = C
        self.max_iter = max_iter
        self.max_chars = max_chars
        self.chunk_size = chunk_size

    # -- fitting ---------------------------------------------------------------
    def fit(
        self,
        matcher: Scorer,
        train: RecordPairs,
        valid: RecordPairs,
        *,
        valid_proba: np.ndarray | None = None,
    ) -> Cascade:
        """Fit the regression on ``train`` and tune the band on ``valid``
        against ``matcher``'s decisions at its threshold.

        Args:
            valid_proba: the cross-encoder's P(match) of ``valid`` when already
                computed (the fit has them); else ``matcher.predict_proba(valid)``.

        Raises:
            BemError: ``train`` or ``valid`` is unlabelled, or ``train`` lacks a class.
        """
        from sklearn.linear_model import LogisticRegression

        for name, split in (("train", train), ("valid", valid)):
            if not isinstance(split, RecordPairs) or split.labels is None:
                raise BemError(f"fit_cascade: the {name} pairs need labels (labelled RecordPairs)")
        y = train.labels
        if y.min() == y.max():
            raise BemError("fit_cascade: the train pairs need both matches and non-matches")
        self.features_ = SimilarityFeatures(
            matcher.attributes_ or train.attributes, max_chars=self.max_chars
        )
        x = self.features_.transform(train).astype(np.float64)
        self.mean_ = x.mean(axis=0)
        scale = x.std(axis=0)
        self.scale_ = np.where(scale > 1e-12, scale, 1.0)
        model = LogisticRegression(C=self.C, max_iter=self.max_iter)
        model.fit((x - self.mean_) / self.scale_, y)
        self.coef_ = model.coef_[0].astype(np.float64)
        self.intercept_ = float(model.intercept_[0])
        self.threshold_ = float(matcher.threshold_)
        if valid_proba is None:
            valid_proba = matcher.predict_proba(valid)
        self.band_ = tune_band(
            valid.labels,
            self.predict_proba(valid),
            np.asarray(valid_proba, dtype=float),
            self.threshold_,
            evidence=shared_evidence_mask(valid, self.features_.attributes),
            tolerance=self.tolerance,
        )
        self.train_pairs_ = len(train)
        logger.info("cascade: %s", self.band_.describe())
        return self

    @property
    def enabled(self) -> bool:
        """Whether the band decides anything (False: every pair goes to the cross-encoder)."""
        return self.band_.enabled

    @property
    def low_(self) -> float:
        return self.band_.low

    @property
    def high_(self) -> float:
        return self.band_.high

    # -- scoring ---------------------------------------------------------------
    def _standardised(self, pairs: RecordPairs) -> tuple[np.ndarray, np.ndarray]:
        x = self.features_.transform(pairs).astype(np.float64)
        return x, (x - self.mean_) / self.scale_

    def decision_function(self, pairs: RecordPairs) -> np.ndarray:
        """The cheap model's logit of every pair (featurised ``chunk_size`` at a time)."""
        out = np.zeros(len(pairs), dtype=np.float64)
        for start in range(0, len(pairs), self.chunk_size):
            _, z = self._standardised(pairs[start : start + self.chunk_size])
            out[start : start + len(z)] = self.intercept_ + (z * self.coef_).sum(axis=1)
        return out

    def predict_proba(self, pairs: RecordPairs) -> np.ndarray:
        """The cheap model's P(match) of every pair."""
        return 1.0 / (1.0 + np.exp(-self.decision_function(pairs)))

    def route(self, pairs: RecordPairs) -> CascadeRouting:
        """Which pairs the band decides: P < low is "no match", P > high with
        shared evidence is "match"; the rest are left to the cross-encoder."""
        proba = self.predict_proba(pairs)
        evidence = shared_evidence_mask(pairs, self.features_.attributes)
        decided, decision = self.band_.decide(proba, evidence)
        return CascadeRouting(decided=decided, decision=decision, proba=proba)

    def contributions(self, pairs: RecordPairs, i: int = 0) -> CascadeContributions:
        """The exact split of pair ``i``'s cheap logit over the features."""
        if not 0 <= i < len(pairs):
            raise IndexError(f"pair {i} out of range for {len(pairs)} pairs")
        one = pairs[[i]]
        x, z = self._standardised(one)
        parts = z[0] * self.coef_
        logit = self.intercept_ + float(parts.sum())
        proba = 1.0 / (1.0 + np.exp(-logit))
        decided, decision = self.band_.decide(
            np.array([proba]), shared_evidence_mask(one, self.features_.attributes)
        )
        return CascadeContributions(
            names=self.features_.names,
            groups=self.features_.groups,
            values=x[0],
            standardised=z[0],
            contributions=parts,
            intercept=self.intercept_,
            logit=logit,
            probability=float(proba),
            decided=bool(decided[0]),
            decision=int(decision[0]),
        )

    # -- saving ----------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """What a model records of its cascade (config.json, model card)."""
        return {
            **self.band_.to_dict(),
            "tolerance": self.tolerance,
            "threshold": self.threshold_,
            "train_pairs": self.train_pairs_,
            "features": len(self.features_.names),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "kind": "logistic_regression",
            "hyperparameters": {
                "tolerance": self.tolerance,
                "C": self.C,
                "max_iter": self.max_iter,
                "max_chars": self.max_chars,
            },
            "features": self.features_.to_dict(),
            "mean": self.mean_.tolist(),
            "scale": self.scale_.tolist(),
            "coef": self.coef_.tolist(),
            "intercept": self.intercept_,
            "threshold": self.threshold_,
            "train_pairs": self.train_pairs_,
            "band": self.band_.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cascade:
        """Rebuild from :meth:`to_dict`.

        Raises:
            ValueError: the dictionary is not a cascade this BEM reads.
        """
        if data.get("format") != FORMAT or data.get("kind") != "logistic_regression":
            raise ValueError(
                f"not a cascade of format {FORMAT} (format {data.get('format')!r}, "
                f"kind {data.get('kind')!r})"
            )
        cascade = cls(**data["hyperparameters"])
        cascade.features_ = SimilarityFeatures.from_dict(data["features"])
        width = len(cascade.features_.names)
        for key in ("mean", "scale", "coef"):
            value = np.asarray(data[key], dtype=np.float64)
            if value.shape != (width,):
                raise ValueError(f"cascade {key!r} has {value.size} values for {width} features")
            setattr(cascade, f"{key}_", value)
        cascade.intercept_ = float(data["intercept"])
        cascade.threshold_ = float(data["threshold"])
        cascade.train_pairs_ = int(data.get("train_pairs", 0))
        cascade.band_ = Band.from_dict(data["band"])
        return cascade

    def save(self, path: str | Path) -> Path:
        """Write ``cascade.json`` into the directory ``path``; returns the file."""
        file = Path(path) / CASCADE_FILE
        file.write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")
        return file

    @classmethod
    def load(cls, path: str | Path) -> Cascade:
        """Read ``cascade.json`` from the directory ``path``.

        Raises:
            BemError: the file is missing or damaged.
        """
        file = Path(path) / CASCADE_FILE
        if not file.is_file():
            raise BemError(f"{path} has no {CASCADE_FILE}; fit one with fit_cascade")
        try:
            return cls.from_dict(json.loads(file.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError) as err:
            raise BemError(f"{file} is damaged or from another BEM ({err}); refit it") from err


def fit_cascade(
    matcher: Scorer,
    train: RecordPairs,
    valid: RecordPairs,
    *,
    tolerance: float = 0.005,
    C: float = 1.0,
    max_iter: int = 1000,
    max_chars: int = 256,
    valid_proba: np.ndarray | None = None,
) -> Cascade:
    """A :class:`Cascade` fitted on ``train`` with its band tuned on ``valid``
    (see :meth:`Cascade.fit`)."""
    cascade = Cascade(tolerance=tolerance, C=C, max_iter=max_iter, max_chars=max_chars)
    return cascade.fit(matcher, train, valid, valid_proba=valid_proba)
