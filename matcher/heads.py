"""Classification heads over a transformer encoder.

Two poolings of the encoder's last hidden states feed the match logit:

- ``"cls"``: the [CLS] token through the model's own pooler and a linear layer
  (``AutoModelForSequenceClassification``, as Ditto and most BERT fine-tunes do).
- ``"mean"``: the mean of all non-padding token states, then dropout and a
  linear layer. Sentence-embedding models such as all-MiniLM-L6-v2 (the default)
  were trained with mean pooling and never trained their [CLS] state, so a
  mean-pooled head starts from a representation the encoder already produces and
  learns faster (see ``bench/results/matching.md``).

This module imports torch; :mod:`matcher.model` and :mod:`matcher.persistence`
import it only when a model is built, so ``import matcher`` stays light.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from transformers.modeling_outputs import SequenceClassifierOutput

from matcher.constants import POOLINGS

__all__ = ["MeanPoolClassifier", "Pooling", "build_model", "model_from_config"]

Pooling = Literal["mean", "cls"]


def _check(pooling: str) -> None:
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}; got {pooling!r}")


class MeanPoolClassifier(torch.nn.Module):
    """``encoder`` -> masked mean of token states -> dropout -> linear -> one logit.

    Called like a Hugging Face sequence classifier (``logits`` of shape
    ``[B, 1]``, ``attentions`` with ``output_attentions=True``), so scoring,
    training and every explanation method treat both heads alike.
    """

    def __init__(self, encoder: Any) -> None:
        super().__init__()
        self.encoder = encoder
        self.config = encoder.config
        rate = getattr(encoder.config, "hidden_dropout_prob", None)
        self.dropout = torch.nn.Dropout(0.1 if rate is None else rate)
        self.classifier = torch.nn.Linear(encoder.config.hidden_size, 1)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        output_attentions: bool = False,
    ) -> SequenceClassifierOutput:
        kwargs: dict[str, Any] = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "inputs_embeds": inputs_embeds,
            "output_attentions": output_attentions,
        }
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids
        out = self.encoder(**kwargs)
        states = out.last_hidden_state
        if attention_mask is None:
            pooled = states.mean(dim=1)
        else:
            mask = attention_mask.unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        logits = self.classifier(self.dropout(pooled))
        return SequenceClassifierOutput(logits=logits, attentions=out.attentions)

    def get_input_embeddings(self) -> torch.nn.Module:
        return self.encoder.get_input_embeddings()

    def set_attn_implementation(self, implementation: str) -> None:
        self.encoder.set_attn_implementation(implementation)


def build_model(source: str, *, pooling: Pooling = "cls") -> Any:
    """A pretrained encoder from ``source`` with a fresh one-logit match head."""
    from transformers import AutoModel, AutoModelForSequenceClassification

    _check(pooling)
    if pooling == "cls":
        return AutoModelForSequenceClassification.from_pretrained(source, num_labels=1)
    return MeanPoolClassifier(AutoModel.from_pretrained(source))


def model_from_config(config: Any, *, pooling: Pooling = "cls") -> Any:
    """An untrained model of the architecture ``config`` describes (weights come later)."""
    from transformers import AutoModel, AutoModelForSequenceClassification

    _check(pooling)
    if pooling == "cls":
        return AutoModelForSequenceClassification.from_config(config)
    return MeanPoolClassifier(AutoModel.from_config(config))
