"""Scoring with a set-up matcher: encode, collate, logits, P(match), decisions, metrics.

:class:`ScoringMixin` holds what :class:`~matcher.Matcher` does with pairs once
its model, tokenizer and encoder are in place (set-up, training and
persistence stay in :mod:`matcher.model`). Records are reduced to the model's
attributes before encoding, and encodings are cached for repeated scoring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from data import BemError, RecordPairs
from matcher.backbone import quantize_int8
from matcher.constants import INT8_KEEP_FLOAT
from matcher.encoding import EncodedPair, PairEncoder
from matcher.metrics import MatchMetrics, match_metrics
from matcher.schema import PairsLike, as_records, check_schema

if TYPE_CHECKING:
    import torch

__all__ = ["ScoringMixin"]


class ScoringMixin:
    """Scoring methods of :class:`~matcher.Matcher` (which provides the state below)."""

    model_: Any
    tokenizer_: Any
    encoder_: PairEncoder
    threshold_: float
    attributes_: list[str] | None
    device: str
    batch_size: int
    max_length: int
    quantize: bool
    cache_size: int
    _cache: dict[tuple, EncodedPair]
    _quantized: Any

    def _invalidate(self) -> None:
        """Forget cached encodings and the quantized copy (after training)."""
        self._cache.clear()
        self._quantized = None

    # -- encoding --------------------------------------------------------------
    def encode(self, pairs: PairsLike) -> list[EncodedPair]:
        """Serialize and tokenize pairs, with token labels (cached).

        Records are reduced to the model's attributes (:attr:`attributes_`), in
        its order, first: other columns are never serialized.

        Raises:
            BemError: ``pairs`` is RecordPairs whose left or right table has none
                of the model's attributes.
        """
        attributes = self.attributes_
        if isinstance(pairs, RecordPairs) and attributes is not None:
            check_schema(pairs.left, attributes, name="left", warn=False)
            if pairs.right is not pairs.left:
                check_schema(pairs.right, attributes, name="right", warn=False)
        records = as_records(pairs, attributes)
        encoder = self.encoder_
        keys = [(tuple(a.items()), tuple(b.items())) for a, b in records]
        missing = {k: i for i, k in enumerate(keys) if k not in self._cache}
        if missing:
            todo = [records[i] for i in missing.values()]
            fresh = encoder.encode(todo)
            if len(self._cache) + len(fresh) > self.cache_size:
                self._cache.clear()
            new = dict(zip(missing, fresh))
            if len(new) <= self.cache_size:
                self._cache.update(new)
            return [self._cache.get(k) or new[k] for k in keys]
        return [self._cache[k] for k in keys]

    def collate(
        self, encoded: Sequence[EncodedPair], *, pad_to: int | None = None
    ) -> dict[str, torch.Tensor]:
        """Pad encoded pairs into ``input_ids``, ``attention_mask``, ``token_type_ids``.

        Pads to the longest pair (dynamic padding) or to ``pad_to``.
        """
        import torch

        width = max(len(e) for e in encoded) if pad_to is None else pad_to
        pad = self.tokenizer_.pad_token_id or 0
        ids = torch.full((len(encoded), width), pad, dtype=torch.long)
        mask = torch.zeros((len(encoded), width), dtype=torch.long)
        types = torch.zeros((len(encoded), width), dtype=torch.long)
        for i, e in enumerate(encoded):
            n = len(e)
            ids[i, :n] = torch.tensor(e.input_ids)
            mask[i, :n] = 1
            types[i, :n] = torch.tensor(e.token_type_ids)
        dev = self.device
        return {
            "input_ids": ids.to(dev),
            "attention_mask": mask.to(dev),
            "token_type_ids": types.to(dev),
        }

    # -- scoring ---------------------------------------------------------------
    def logits(self, batch: Mapping[str, Any], *, model: Any = None) -> torch.Tensor:
        """Raw match logits ``[B]`` of a collated batch."""
        model = self.model_ if model is None else model
        kwargs = dict(batch)
        if not self.encoder_.uses_token_types:
            kwargs.pop("token_type_ids", None)
        return model(**kwargs).logits[:, 0]

    def forward_proba(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        *,
        inputs_embeds: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Differentiable P(match), shape ``[B]`` (for attribution methods)."""
        import torch

        batch = {"attention_mask": attention_mask, "token_type_ids": token_type_ids}
        if inputs_embeds is not None:
            batch["inputs_embeds"] = inputs_embeds
        else:
            batch["input_ids"] = input_ids
        if token_type_ids is None:
            batch.pop("token_type_ids")
        return torch.sigmoid(self.logits(batch))

    def embedding_layer(self) -> torch.nn.Module:
        """The word-embedding layer (for captum's LayerIntegratedGradients)."""
        return self.model_.get_input_embeddings()

    def scoring_model(self) -> Any:
        """The module used for scoring: the model, or its int8 copy with ``quantize``."""
        if not self.quantize:
            return self.model_
        if self._quantized is None:
            self._quantized = quantize_int8(self.model_, keep_float=INT8_KEEP_FLOAT)
        return self._quantized

    def predict_proba(
        self, pairs: PairsLike, *, batch_size: int | None = None, progress: bool = False
    ) -> np.ndarray:
        """P(match) for every pair: length-sorted batches, dynamic padding, inference mode."""
        import torch

        encoded = self.encode(pairs)
        out = np.zeros(len(encoded), dtype=np.float64)
        if not encoded:
            return out
        size = batch_size or self.batch_size
        order = np.argsort([len(e) for e in encoded], kind="stable")
        model = self.scoring_model()
        was_training = self.model_.training
        self.model_.eval()
        try:
            with torch.inference_mode():
                starts = range(0, len(order), size)
                for s in tqdm(starts, desc="scoring", unit="batch", disable=not progress):
                    idx = order[s : s + size]
                    batch = self.collate([encoded[i] for i in idx])
                    if model is not self.model_:
                        batch = {k: v.cpu() for k, v in batch.items()}
                    out[idx] = torch.sigmoid(self.logits(batch, model=model).float()).cpu().numpy()
        finally:
            self.model_.train(was_training)
        return out

    def score_naive(self, pairs: PairsLike, *, batch_size: int | None = None) -> np.ndarray:
        """The reference scoring path for benchmarks: input order, padding to
        ``max_length``, no encoding cache. Same scores as :meth:`predict_proba`."""
        import torch

        records = as_records(pairs)
        size = batch_size or self.batch_size
        out = np.zeros(len(records), dtype=np.float64)
        self.model_.eval()
        with torch.no_grad():
            for s in range(0, len(records), size):
                encoded = self.encoder_.encode(records[s : s + size])
                batch = self.collate(encoded, pad_to=self.max_length)
                out[s : s + size] = torch.sigmoid(self.logits(batch)).cpu().numpy()
        return out

    def predict(self, pairs: PairsLike, *, threshold: float | None = None) -> np.ndarray:
        """0/1 decisions: ``predict_proba >= threshold`` (default: the tuned ``threshold_``)."""
        t = self.threshold_ if threshold is None else threshold
        return (self.predict_proba(pairs) >= t).astype(np.int8)

    def evaluate(self, pairs: RecordPairs, *, threshold: float | None = None) -> MatchMetrics:
        """Precision, recall, F1, PR-AUC and confusion counts on labelled pairs."""
        if not isinstance(pairs, RecordPairs) or pairs.labels is None:
            raise BemError(
                "evaluate needs labelled RecordPairs (a pair table with a 'label' column, "
                "1 = match); got pairs without labels"
            )
        t = self.threshold_ if threshold is None else threshold
        return match_metrics(pairs.labels, self.predict_proba(pairs), t)
