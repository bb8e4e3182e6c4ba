"""Tokenize serialized pairs, label every token with its field, truncate by budget.

:class:`PairEncoder` tokenizes the two texts of a :class:`SerializedPair` with
the fast tokenizer's offset mapping, so every token gets a :class:`TokenLabel`
from the serializer's span map (never by searching strings). When the pair is
longer than ``max_length`` only value tokens are removed, by a per-attribute
token budget that gives every non-empty value at least one token; the tokens
kept are the first ones, or the most informative ones by TF-IDF when a
:class:`TfidfSummarizer` is given (as Ditto's summarizer does).
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from matcher.serializer import PairSerializer, SerializedPair, Span

__all__ = ["EncodedPair", "PairEncoder", "TfidfSummarizer", "TokenLabel", "allocate_budget"]

Role = Literal["special", "structure", "value"]


@dataclass(frozen=True)
class TokenLabel:
    """What one token of an encoded pair stands for.

    Attributes:
        side: ``"left"``/``"right"``, ``None`` for special tokens ([CLS], [SEP], [PAD]).
        attribute: the attribute of a name or value token; ``None`` for special
            tokens and the COL/VAL markers.
        role: ``"special"``, ``"structure"`` (COL, VAL and attribute-name
            tokens) or ``"value"``.
        start, end: for value tokens, the character span inside the original
            value string; ``-1`` otherwise.
    """

    side: Literal["left", "right"] | None
    attribute: str | None
    role: Role
    start: int = -1
    end: int = -1


SPECIAL = TokenLabel(None, None, "special")


@dataclass(frozen=True)
class EncodedPair:
    """A tokenized pair with a label per token and a record of the truncation.

    ``kept[(side, attribute)] = (value tokens kept, value tokens in full)``.
    """

    input_ids: list[int]
    token_type_ids: list[int]
    tokens: list[str]
    labels: tuple[TokenLabel, ...]
    serialized: SerializedPair
    left: dict[str, str | None]
    right: dict[str, str | None]
    kept: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def truncated(self) -> bool:
        """Whether any value token was removed to fit ``max_length``."""
        return any(k < n for k, n in self.kept.values())


def allocate_budget(lengths: Sequence[int], available: int) -> list[int]:
    """Share ``available`` tokens among values of ``lengths`` tokens (water-filling).

    Every value gets ``min(length, cap)`` tokens for the largest cap that fits;
    the tokens left over go one each to the longest values first (earlier ones
    on ties). Every non-empty value gets at least one token when
    ``available >= number of non-empty values``.
    """
    if sum(lengths) <= available:
        return list(lengths)
    if available <= 0:
        return [0] * len(lengths)
    lo, hi = 0, max(lengths)
    while lo < hi:  # largest cap with sum(min(n, cap)) <= available
        mid = (lo + hi + 1) // 2
        if sum(min(n, mid) for n in lengths) <= available:
            lo = mid
        else:
            hi = mid - 1
    budget = [min(n, lo) for n in lengths]
    left = available - sum(budget)
    for i in sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)):
        if left == 0:
            break
        if budget[i] < lengths[i]:
            budget[i] += 1
            left -= 1
    return budget


class TfidfSummarizer:
    """Keep the most informative tokens of a long value (inverse document frequency).

    Fitted on the values of the training records (one document per value);
    a token's score is its smoothed IDF, unknown tokens scoring highest. The
    kept tokens stay in their original order.
    """

    def __init__(self, idf: Mapping[int, float] | None = None, n_documents: int = 0) -> None:
        self.idf_ = dict(idf or {})
        self.n_documents_ = n_documents

    def fit(self, documents: Iterable[Sequence[int]]) -> TfidfSummarizer:
        """Count in how many documents (token-id sequences) each token appears."""
        df: Counter[int] = Counter()
        n = 0
        for doc in documents:
            df.update(set(doc))
            n += 1
        self.n_documents_ = n
        self.idf_ = {t: math.log((1 + n) / (1 + c)) + 1.0 for t, c in df.items()}
        return self

    def unknown_idf(self) -> float:
        return math.log(1 + self.n_documents_) + 1.0

    def keep(self, token_ids: Sequence[int], k: int) -> list[int]:
        """Positions of the ``k`` highest-IDF tokens, in order (earlier first on ties)."""
        if k >= len(token_ids):
            return list(range(len(token_ids)))
        unknown = self.unknown_idf()
        seen: Counter[int] = Counter()
        scores = []
        for i, t in enumerate(token_ids):
            # a repeated token is worth less the second time (term frequency damping)
            scores.append((-self.idf_.get(t, unknown) / (1 + seen[t]), i))
            seen[t] += 1
        return sorted(i for _, i in sorted(scores)[:k])

    def to_dict(self) -> dict[str, Any]:
        return {"n_documents": self.n_documents_, "idf": {str(k): v for k, v in self.idf_.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TfidfSummarizer:
        return cls({int(k): float(v) for k, v in data["idf"].items()}, int(data["n_documents"]))


@dataclass
class _Piece:
    token_id: int
    label: TokenLabel


class PairEncoder:
    """Serialize, tokenize and truncate pairs into :class:`EncodedPair` objects.

    Args:
        tokenizer: a fast Hugging Face tokenizer (offset mappings are required).
        serializer: the :class:`PairSerializer`.
        max_length: the most tokens per pair, special tokens included.
        summarizer: keep the most informative value tokens when truncating
            (``None`` keeps the first tokens of each value).
    """

    def __init__(
        self,
        tokenizer: Any,
        serializer: PairSerializer,
        *,
        max_length: int = 128,
        summarizer: TfidfSummarizer | None = None,
    ) -> None:
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError(
                f"{type(tokenizer).__name__} is not a fast tokenizer; the matcher needs "
                "offset mappings (load it with AutoTokenizer.from_pretrained(..., use_fast=True))"
            )
        self.tokenizer = tokenizer
        self.serializer = serializer
        self.max_length = int(max_length)
        self.summarizer = summarizer
        probe = tokenizer("a", "b", return_token_type_ids=True)
        seq = probe.sequence_ids(0)
        types = probe.get("token_type_ids") or [0] * len(seq)
        # the template: (special token id, type) or (None, type) for each sequence slot
        self._template = [
            (tid if s is None else None, s, tt)
            for tid, s, tt in zip(probe["input_ids"], seq, types)
        ]
        self.n_special = sum(1 for _, s, _ in self._template if s is None)
        self.uses_token_types = "token_type_ids" in tokenizer.model_input_names
        if self.max_length < self.n_special + 2:
            raise ValueError(f"max_length={max_length} is too small; use at least 16")

    def _side_pieces(self, text: str, spans: list[Span], ids: list[int], offsets) -> list[_Piece]:
        starts = [s.start for s in spans]
        out = []
        for tid, (a, b) in zip(ids, offsets):
            i = bisect.bisect_right(starts, a) - 1
            label = None
            if i >= 0:  # spans never overlap: only the last one starting at or before a can hold it
                sp = spans[i]
                if sp.start <= a < sp.end:
                    if sp.kind == "value":
                        label = TokenLabel(
                            sp.side, sp.attribute, "value", a - sp.start, min(b, sp.end) - sp.start
                        )
                    else:
                        label = TokenLabel(sp.side, sp.attribute, "structure")
            if label is None:
                side = spans[0].side if spans else None
                label = TokenLabel(side, None, "structure")
            out.append(_Piece(tid, label))
        return out

    def value_token_ids(self, values: Iterable[str]) -> list[list[int]]:
        """Token ids of values as the serializer writes them, tokenized alone (for
        fitting the summarizer)."""
        values = [self.serializer.render(v) for v in values if v]
        if not values:
            return []
        return self.tokenizer(values, add_special_tokens=False)["input_ids"]

    def encode(
        self,
        pairs: Sequence[tuple[Mapping[str, str | None], Mapping[str, str | None]]],
        *,
        orders: Sequence[Sequence[str] | None] | None = None,
    ) -> list[EncodedPair]:
        """Encode many pairs (tokenized in one batch call per side)."""
        if not pairs:
            return []
        sers = [
            self.serializer.serialize(a, b, order=None if orders is None else orders[i])
            for i, (a, b) in enumerate(pairs)
        ]
        lt = self.tokenizer(
            [s.left for s in sers], add_special_tokens=False, return_offsets_mapping=True
        )
        rt = self.tokenizer(
            [s.right for s in sers], add_special_tokens=False, return_offsets_mapping=True
        )
        out = []
        for i, (sp, (a, b)) in enumerate(zip(sers, pairs)):
            lspans = sorted((s for s in sp.spans if s.side == "left"), key=lambda s: s.start)
            rspans = sorted((s for s in sp.spans if s.side == "right"), key=lambda s: s.start)
            left = self._side_pieces(sp.left, lspans, lt["input_ids"][i], lt["offset_mapping"][i])
            right = self._side_pieces(sp.right, rspans, rt["input_ids"][i], rt["offset_mapping"][i])
            out.append(self._assemble(sp, dict(a), dict(b), left, right))
        return out

    def _assemble(
        self,
        sp: SerializedPair,
        left_rec: dict[str, str | None],
        right_rec: dict[str, str | None],
        left: list[_Piece],
        right: list[_Piece],
    ) -> EncodedPair:
        groups: dict[tuple[str, str], list[int]] = {}
        for s in sp.spans:
            if s.kind == "value":
                groups.setdefault((s.side, s.attribute), [])
        sides = {"left": left, "right": right}
        for side, pieces in sides.items():
            for j, p in enumerate(pieces):
                if p.label.role == "value":
                    groups[(side, p.label.attribute)].append(j)  # type: ignore[index]
        keys = list(groups)
        lengths = [len(groups[k]) for k in keys]
        n_struct = len(left) + len(right) - sum(lengths)
        available = self.max_length - self.n_special - n_struct
        nonempty = sum(1 for n in lengths if n)
        if sum(lengths) > available and available < nonempty:
            raise ValueError(
                f"max_length={self.max_length} leaves {available} value tokens for "
                f"{nonempty} non-empty values after {n_struct} structure tokens; raise "
                "max_length or serialize fewer attributes (Matcher(attributes=[...]))"
            )
        budget = allocate_budget(lengths, available)
        drop: dict[str, set[int]] = {"left": set(), "right": set()}
        kept = {}
        for k, n, b in zip(keys, lengths, budget):
            kept[k] = (b, n)
            if b < n:
                positions = groups[k]
                pieces = sides[k[0]]
                if self.summarizer is not None:
                    keep = set(self.summarizer.keep([pieces[j].token_id for j in positions], b))
                else:
                    keep = set(range(b))
                drop[k[0]].update(positions[i] for i in range(n) if i not in keep)
        seqs = [
            [p for j, p in enumerate(left) if j not in drop["left"]],
            [p for j, p in enumerate(right) if j not in drop["right"]],
        ]
        ids, types, labels = [], [], []
        for tid, s, tt in self._template:
            if s is None:
                ids.append(tid)
                types.append(tt)
                labels.append(SPECIAL)
            else:
                for p in seqs[s]:
                    ids.append(p.token_id)
                    types.append(tt)
                    labels.append(p.label)
        return EncodedPair(
            input_ids=ids,
            token_type_ids=types,
            tokens=self.tokenizer.convert_ids_to_tokens(ids),
            labels=tuple(labels),
            serialized=sp,
            left=left_rec,
            right=right_rec,
            kept=kept,
        )
