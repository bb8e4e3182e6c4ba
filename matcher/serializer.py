"""Serialize a pair of records into the two texts of a sentence pair.

The text follows Ditto (Li et al., VLDB 2021): ``COL <attribute> VAL <value>``
for every attribute, in a fixed order. Alongside the texts the serializer
returns a span map: for every attribute name and every value, its side and its
character span in that side's text. The explanation layer groups tokens by
these spans, so they are exact by construction (the text is built from them,
never searched afterwards).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from matcher.codes import join_codes

__all__ = ["PairSerializer", "SerializedPair", "Span"]

Side = Literal["left", "right"]


@dataclass(frozen=True)
class Span:
    """A character span of one attribute name or value in one side's text.

    Attributes:
        side: ``"left"`` or ``"right"`` text.
        attribute: the attribute the span belongs to.
        kind: ``"name"`` (the attribute name after ``COL``) or ``"value"``.
        start: first character (inclusive) in that side's text.
        end: last character (exclusive); ``start == end`` for an empty value.
    """

    side: Side
    attribute: str
    kind: Literal["name", "value"]
    start: int
    end: int


@dataclass(frozen=True)
class SerializedPair:
    """The two texts of a sentence pair and the span map of their fields."""

    left: str
    right: str
    spans: tuple[Span, ...]

    def text(self, side: Side) -> str:
        """The text of ``side``."""
        return self.left if side == "left" else self.right

    def value_span(self, side: Side, attribute: str) -> Span:
        """The value span of ``attribute`` on ``side``.

        Raises:
            KeyError: the attribute was not serialized on that side.
        """
        for span in self.spans:
            if span.side == side and span.attribute == attribute and span.kind == "value":
                return span
        raise KeyError(f"no value span for ({side!r}, {attribute!r})")


class PairSerializer:
    """Turn two records into Ditto-style texts with an exact span map.

    Args:
        attributes: the attributes to serialize, in this order. ``None`` uses
            every attribute of the left record followed by the right record's
            extra ones, in the records' own order.
        col_token: the marker written before each attribute name.
        val_token: the marker written before each value.
        missing: the text written for a missing (``None``) value.
        include_names: write ``COL <name>`` before each value (Ditto does);
            with ``False`` only ``VAL <value>`` is written.
        join_codes: write model-number-like codes without their inner
            separators (``KDL-40V5100`` -> ``KDL40V5100``, :func:`matcher.codes.join_codes`),
            so that two spellings of one code tokenize alike.
    """

    def __init__(
        self,
        *,
        attributes: Sequence[str] | None = None,
        col_token: str = "COL",
        val_token: str = "VAL",
        missing: str = "",
        include_names: bool = True,
        join_codes: bool = False,
    ) -> None:
        if attributes is not None:
            attributes = list(attributes)
            if not attributes:
                raise ValueError("attributes is empty; pass None to use every attribute")
            if len(set(attributes)) != len(attributes):
                raise ValueError(f"attributes has duplicates: {attributes}")
        if not col_token.strip() or not val_token.strip():
            raise ValueError("col_token and val_token must be non-blank strings")
        self.attributes = attributes
        self.col_token = col_token
        self.val_token = val_token
        self.missing = missing
        self.include_names = include_names
        self.join_codes = bool(join_codes)

    def render(self, value: object) -> str:
        """The text a value is written as (``missing`` for ``None``)."""
        text = self.missing if value is None else str(value)
        return join_codes(text) if self.join_codes else text

    def attribute_order(
        self, left: Mapping[str, str | None], right: Mapping[str, str | None]
    ) -> list[str]:
        """The attributes serialized for this pair, in order."""
        if self.attributes is not None:
            return list(self.attributes)
        order = list(left)
        return order + [a for a in right if a not in left]

    def serialize(
        self,
        left: Mapping[str, str | None],
        right: Mapping[str, str | None],
        *,
        order: Sequence[str] | None = None,
    ) -> SerializedPair:
        """Serialize one pair.

        Args:
            left, right: the records (attribute -> value or ``None``); an
                attribute absent from a record is serialized as missing.
            order: override the attribute order for this pair (used by the
                attribute-shuffle augmentation).
        """
        attrs = list(order) if order is not None else self.attribute_order(left, right)
        spans: list[Span] = []
        texts = []
        for side, record in (("left", left), ("right", right)):
            parts: list[str] = []
            pos = 0

            def add(piece: str, parts: list[str] = parts) -> tuple[int, int]:
                nonlocal pos
                if parts:
                    parts.append(" ")
                    pos += 1
                start = pos
                parts.append(piece)
                pos += len(piece)
                return start, pos

            for attr in attrs:
                value = self.render(record.get(attr))
                if self.include_names:
                    add(self.col_token)
                    start, end = add(str(attr))
                    spans.append(Span(side, attr, "name", start, end))  # type: ignore[arg-type]
                add(self.val_token)
                start, end = add(value)
                spans.append(Span(side, attr, "value", start, end))  # type: ignore[arg-type]
            texts.append("".join(parts))
        return SerializedPair(texts[0], texts[1], tuple(spans))

    def to_dict(self) -> dict:
        """The options, for saving with a model."""
        return {
            "attributes": self.attributes,
            "col_token": self.col_token,
            "val_token": self.val_token,
            "missing": self.missing,
            "include_names": self.include_names,
            "join_codes": self.join_codes,
        }
