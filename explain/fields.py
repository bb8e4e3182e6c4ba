"""Token-to-field mapping: which (side, attribute) every value token belongs to.

The mapping comes from the encoder's per-token labels (``EncodedPair.labels``,
built from the serializer's span map), never from searching strings. Every
token with role ``"value"`` belongs to exactly one field ``(side, attribute)``;
special and structure tokens (``[CLS]``, ``[SEP]``, ``COL``, ``VAL``, attribute
names) belong to none and are never perturbed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from explain.explanation import FieldScore, TokenScore

__all__ = ["PairFields", "pair_fields", "scores_from_fields", "scores_from_tokens"]

Field = tuple[str, str]
"""A field: ``(side, attribute)`` with side ``"left"`` or ``"right"``."""


@dataclass(frozen=True)
class PairFields:
    """The value tokens of one encoded pair and the field each belongs to.

    Attributes:
        positions: positions (in ``input_ids``) of the value tokens, ascending.
        field_index: for each value token, its index into ``fields``.
        fields: the fields that have at least one value token, in sequence order.
        attributes: every attribute the serialized pair names, in order.
    """

    positions: np.ndarray
    field_index: np.ndarray
    fields: tuple[Field, ...]
    attributes: tuple[str, ...]

    @property
    def n_tokens(self) -> int:
        return len(self.positions)

    @property
    def n_fields(self) -> int:
        return len(self.fields)

    def field_mask(self) -> np.ndarray:
        """Per value token, the id of its field: captum's ``feature_mask`` for fields."""
        return self.field_index.copy()

    def token_mask(self) -> np.ndarray:
        """Per value token, its own id: captum's ``feature_mask`` at token level."""
        return np.arange(self.n_tokens)

    def keep_tokens(self, keep_fields: np.ndarray) -> np.ndarray:
        """Expand a ``[n, n_fields]`` 0/1 field mask to a ``[n, n_tokens]`` token mask."""
        return np.asarray(keep_fields)[:, self.field_index]


def pair_fields(encoded: Any) -> PairFields:
    """Map the value tokens of an ``EncodedPair`` to their fields.

    Raises:
        ValueError: a value token lacks its side or attribute (an encoder bug).
    """
    positions: list[int] = []
    index: list[int] = []
    fields: dict[Field, int] = {}
    attributes: dict[str, None] = {}
    for pos, label in enumerate(encoded.labels):
        if label.attribute is not None:
            attributes.setdefault(label.attribute, None)
        if label.role != "value":
            continue
        if label.side not in ("left", "right") or label.attribute is None:
            raise ValueError(
                f"value token {pos} ({encoded.tokens[pos]!r}) has side={label.side!r}, "
                f"attribute={label.attribute!r}; every value token needs both (encoder bug)"
            )
        key = (label.side, label.attribute)
        index.append(fields.setdefault(key, len(fields)))
        positions.append(pos)
    return PairFields(
        positions=np.asarray(positions, dtype=np.int64),
        field_index=np.asarray(index, dtype=np.int64),
        fields=tuple(fields),
        attributes=tuple(attributes),
    )


def _token_scores(encoded: Any, pf: PairFields, scores: np.ndarray) -> tuple[TokenScore, ...]:
    out = []
    for pos, score in zip(pf.positions, scores):
        label = encoded.labels[pos]
        out.append(
            TokenScore(
                text=str(encoded.tokens[pos]),
                side=label.side,
                attribute=label.attribute,
                start=int(label.start),
                end=int(label.end),
                score=float(score),
            )
        )
    return tuple(out)


def _field_scores(pf: PairFields, per_field: np.ndarray) -> tuple[FieldScore, ...]:
    by_key = {key: float(per_field[i]) for i, key in enumerate(pf.fields)}
    return tuple(
        FieldScore(a, by_key.get(("left", a), 0.0), by_key.get(("right", a), 0.0))
        for a in pf.attributes
    )


def scores_from_tokens(
    encoded: Any, pf: PairFields, token_scores: Sequence[float] | np.ndarray
) -> tuple[tuple[TokenScore, ...], tuple[FieldScore, ...]]:
    """Token scores as given; each field's score is the sum of its tokens' scores."""
    scores = np.asarray(token_scores, dtype=np.float64)
    if scores.shape != (pf.n_tokens,):
        raise ValueError(f"expected {pf.n_tokens} token scores, got shape {scores.shape}")
    per_field = np.bincount(pf.field_index, weights=scores, minlength=pf.n_fields)
    return _token_scores(encoded, pf, scores), _field_scores(pf, per_field)


def scores_from_fields(
    encoded: Any, pf: PairFields, field_scores: Sequence[float] | np.ndarray
) -> tuple[tuple[TokenScore, ...], tuple[FieldScore, ...]]:
    """Field scores as given; each token gets its field's score split evenly."""
    per_field = np.asarray(field_scores, dtype=np.float64)
    if per_field.shape != (pf.n_fields,):
        raise ValueError(f"expected {pf.n_fields} field scores, got shape {per_field.shape}")
    counts = np.bincount(pf.field_index, minlength=pf.n_fields)
    token = per_field[pf.field_index] / np.maximum(counts[pf.field_index], 1)
    return _token_scores(encoded, pf, token), _field_scores(pf, per_field)
