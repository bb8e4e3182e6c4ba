"""Fixtures for the explainer: a toy matcher whose true attributions are known, and pairs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from data import RecordPairs


class ToyMatcher:
    """A matcher-like object whose probability depends on the ``title`` field only.

    It encodes pairs with the real :class:`matcher.PairEncoder` (MiniLM's
    tokenizer), so token labels, spans and truncation are the real ones, and
    scores ``sigmoid(a * cos(L, R) - b)`` where ``L``/``R`` are the sums of the
    embeddings of the left/right title value tokens. Every other field has a
    true attribution of exactly zero. The forward pass finds the title tokens
    from the ``input_ids`` alone (``col title val ... col``), so it scores
    sequences with removed tokens correctly, and reads the embeddings from
    ``inputs_embeds`` (or its embedding layer), so gradients flow.
    """

    def __init__(self, *, attribute: str = "title", a: float = 10.0, b: float = 5.0) -> None:
        import torch
        from transformers import AutoTokenizer

        from matcher import PairEncoder, PairSerializer, default_model_path

        self.attribute = attribute
        self.a, self.b = a, b
        self.tokenizer_ = AutoTokenizer.from_pretrained(default_model_path())
        self.encoder_ = PairEncoder(self.tokenizer_, PairSerializer(), max_length=96)
        torch.manual_seed(0)
        self.model_ = torch.nn.Embedding(self.tokenizer_.vocab_size, 256)
        self.threshold_ = 0.5
        vocab = self.tokenizer_.get_vocab()
        self._col, self._val = vocab["col"], vocab["val"]
        self._name = self.tokenizer_(attribute, add_special_tokens=False)["input_ids"]
        self._sep = self.tokenizer_.sep_token_id

    def encode(self, pairs: RecordPairs) -> list[Any]:
        return self.encoder_.encode(list(pairs.records()))

    def collate(self, encoded: list[Any]) -> dict[str, Any]:
        import torch

        width = max(len(e.input_ids) for e in encoded)
        ids = torch.zeros((len(encoded), width), dtype=torch.long)
        mask = torch.zeros_like(ids)
        types = torch.zeros_like(ids)
        for i, e in enumerate(encoded):
            n = len(e.input_ids)
            ids[i, :n] = torch.tensor(e.input_ids)
            mask[i, :n] = 1
            types[i, :n] = torch.tensor(e.token_type_ids)
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}

    def embedding_layer(self) -> Any:
        return self.model_

    def _title_positions(self, row: list[int], length: int) -> list[list[int]]:
        """Positions of the title value tokens on each side (split by [SEP])."""
        sides: list[list[int]] = [[], []]
        side, inside, p = 0, False, 0
        while p < length:
            t = row[p]
            if t == self._sep:
                side, inside = side + 1, False
            elif t == self._col:
                name_end = row.index(self._val, p + 1)
                inside = row[p + 1 : name_end] == self._name
                p = name_end
            elif inside and side < 2:
                sides[side].append(p)
            p += 1
        return sides

    def forward_proba(
        self,
        input_ids: Any,
        attention_mask: Any,
        token_type_ids: Any = None,
        *,
        inputs_embeds: Any = None,
    ) -> Any:
        import torch

        emb = self.model_(input_ids) if inputs_embeds is None else inputs_embeds
        out = []
        for i in range(input_ids.shape[0]):
            row = input_ids[i].tolist()
            length = int(attention_mask[i].sum())
            left, right = self._title_positions(row, length)
            lv = emb[i, left].sum(0) if left else emb.new_zeros(emb.shape[-1])
            rv = emb[i, right].sum(0) if right else emb.new_zeros(emb.shape[-1])
            cos = (lv * rv).sum() / (lv.norm() * rv.norm() + 1e-6)
            out.append(torch.sigmoid(self.a * cos - self.b))
        return torch.stack(out)

    def predict_proba(self, pairs: RecordPairs) -> np.ndarray:
        import torch

        with torch.no_grad():
            batch = self.collate(self.encode(pairs))
            return self.forward_proba(**batch).numpy().astype(np.float64)


PRODUCTS = [
    ({"title": "sony bravia 40 inch tv", "brand": "sony", "price": "399"},
     {"title": "sony bravia 40 inch tv", "brand": "Sony Corp", "price": "405.00"}),
    ({"title": "apple ipod nano 8gb", "brand": "apple", "price": "149"},
     {"title": "apple ipod nano 8gb", "brand": "apple", "price": None}),
    ({"title": "canon eos rebel camera", "brand": "canon", "price": "599"},
     {"title": "garmin nuvi gps navigator", "brand": "canon", "price": "599"}),
    ({"title": "logitech wireless mouse", "brand": "logitech", "price": "29"},
     {"title": "samsung galaxy phone case", "brand": "logitech", "price": "29"}),
]  # fmt: skip


@pytest.fixture(scope="session")
def toy_matcher() -> ToyMatcher:
    return ToyMatcher()


@pytest.fixture()
def product_pairs() -> RecordPairs:
    """Two matches (same title) and two non-matches (different title, same brand/price)."""
    return RecordPairs.from_records(PRODUCTS, labels=[1, 1, 0, 0])


@pytest.fixture(scope="session")
def tiny_matcher(tiny_model_dir):
    from matcher import Matcher

    return Matcher(model=tiny_model_dir, max_length=64, batch_size=16)
