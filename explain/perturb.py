"""Scoring pairs with some value tokens removed.

Every perturbation in this package (the occlusion, Shapley, LIME and KernelSHAP
methods and the faithfulness metrics) "blanks" value tokens by **removing** them
from the encoded sequence: the kept tokens are packed together, so blanking a
whole field gives exactly the sequence of a record whose value is empty
(``COL title VAL COL brand VAL ...``). Special and structure tokens are always
kept. Removal, unlike replacing tokens by ``[MASK]``/``[PAD]``, never shows the
model an input it was not trained on. Every call goes through the pipeline's
scoring path (:func:`explain.scoring.score_batch`: the int8 model of a matcher
built with ``quantize=True``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from explain.fields import PairFields, pair_fields
from explain.scoring import score_batch

__all__ = ["CallCounter", "RemovalScorer", "single_batch"]


def single_batch(matcher: Any, encoded: Any) -> tuple[Any, Any, Any]:
    """``input_ids``, ``attention_mask``, ``token_type_ids`` of one encoded pair (batch of 1)."""
    import torch

    batch = matcher.collate([encoded])
    ids = batch["input_ids"]
    mask = batch.get("attention_mask")
    if mask is None:
        mask = torch.ones_like(ids)
    types = batch.get("token_type_ids")
    if types is None:
        types = torch.zeros_like(ids)
    return ids, mask, types


class CallCounter:
    """Counts the pairs a model scored (a batch of n inputs counts n)."""

    def __init__(self) -> None:
        self.calls = 0

    def add(self, n: int) -> None:
        self.calls += int(n)


def _pad_id(matcher: Any) -> int:
    tok = getattr(matcher, "tokenizer_", None)
    pad = getattr(tok, "pad_token_id", None)
    return 0 if pad is None else int(pad)


class RemovalScorer:
    """Scores encoded pairs with chosen value tokens removed.

    Args:
        matcher: a fitted matcher (``encode``/``forward_proba`` contract).
        encoded: the ``EncodedPair`` objects to perturb.
        batch_size: pairs per forward pass.
        counter: receives the number of pairs scored.
    """

    def __init__(
        self,
        matcher: Any,
        encoded: Sequence[Any],
        *,
        batch_size: int = 32,
        counter: CallCounter | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.matcher = matcher
        self.encoded = list(encoded)
        self.fields = [pair_fields(e) for e in self.encoded]
        self.batch_size = batch_size
        self.counter = counter if counter is not None else CallCounter()
        self.pad_id = _pad_id(matcher)
        self._full: dict[int, float] = {}  # unperturbed P(match) per pair, scored once

    def _sequence(self, i: int, keep: np.ndarray | None) -> tuple[list[int], list[int]]:
        enc = self.encoded[i]
        ids = list(enc.input_ids)
        types = list(enc.token_type_ids) if enc.token_type_ids is not None else [0] * len(ids)
        if keep is None:
            return ids, types
        pf: PairFields = self.fields[i]
        keep = np.asarray(keep)
        if keep.shape != (pf.n_tokens,):
            raise ValueError(f"pair {i}: keep mask needs {pf.n_tokens} entries, got {keep.shape}")
        drop = set(pf.positions[keep < 0.5].tolist())
        kept = [p for p in range(len(ids)) if p not in drop]
        return [ids[p] for p in kept], [types[p] for p in kept]

    def score(self, items: Sequence[tuple[int, np.ndarray | None]]) -> np.ndarray:
        """P(match) of each ``(pair index, keep mask over its value tokens)``.

        A keep mask of ``None`` (or all ones) scores the pair unperturbed; that
        score is computed once per pair and reused. Sequences are batched by
        length to keep padding small.
        """
        out = np.empty(len(items), dtype=np.float64)
        todo: list[int] = []
        for j, (i, keep) in enumerate(items):
            full = keep is None or bool(np.all(np.asarray(keep) >= 0.5))
            if full and i in self._full:
                out[j] = self._full[i]
            else:
                todo.append(j)
        if todo:
            seqs = [self._sequence(*items[j]) for j in todo]
            out[todo] = self._forward(seqs)
            for j in todo:
                i, keep = items[j]
                if keep is None or bool(np.all(np.asarray(keep) >= 0.5)):
                    self._full[i] = float(out[j])
        return out

    def _forward(self, seqs: list[tuple[list[int], list[int]]]) -> np.ndarray:
        import torch

        order = np.argsort([len(s[0]) for s in seqs], kind="stable")
        out = np.empty(len(seqs), dtype=np.float64)
        for b in range(0, len(order), self.batch_size):
            idx = order[b : b + self.batch_size]
            length = max(len(seqs[j][0]) for j in idx)
            ids = torch.full((len(idx), length), self.pad_id, dtype=torch.long)
            types = torch.zeros((len(idx), length), dtype=torch.long)
            mask = torch.zeros((len(idx), length), dtype=torch.long)
            for r, j in enumerate(idx):
                n = len(seqs[j][0])
                ids[r, :n] = torch.tensor(seqs[j][0], dtype=torch.long)
                types[r, :n] = torch.tensor(seqs[j][1], dtype=torch.long)
                mask[r, :n] = 1
            proba = score_batch(self.matcher, ids, mask, types)
            self.counter.add(len(idx))
            out[idx] = proba.numpy().astype(np.float64)
        return out

    def keep_proba(self, i: int, keep: Any) -> Any:
        """Captum forward function: ``[n, n_tokens]`` keep masks of pair ``i`` -> ``[n]``."""
        import torch

        rows = keep.detach().cpu().numpy() if isinstance(keep, torch.Tensor) else np.asarray(keep)
        rows = rows.reshape(-1, self.fields[i].n_tokens)
        proba = self.score([(i, row) for row in rows])
        return torch.as_tensor(proba, dtype=torch.float32)
