"""Entity views for the report: an entity's records and the scored pairs holding it together.

A pipeline that clusters pairs into entities passes one :class:`EntityView`
per entity that has reviewed pairs to :func:`explain.write_html`; the report
shows its records and its links, weakest first, each link pointing at the
pair's explanation when that pair was explained.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from explain.explanation import Explanation

__all__ = ["EntityLink", "EntityView"]

Record = Mapping[str, "str | None"]


@dataclass(frozen=True)
class EntityLink:
    """One scored pair inside an entity.

    Attributes:
        left_id: the pair's ``ltable_id`` (a key of :attr:`EntityView.records`).
        right_id: the pair's ``rtable_id`` (a key of
            :attr:`EntityView.right_records`, or of ``records`` in deduplication).
        probability: the pair's P(match) as the pipeline scored it.
    """

    left_id: str
    right_id: str
    probability: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.probability) and 0.0 <= self.probability <= 1.0):
            raise ValueError(
                f"link {self.left_id!r}-{self.right_id!r}: probability must be in [0, 1], "
                f"got {self.probability}"
            )


@dataclass(frozen=True)
class EntityView:
    """An entity of the final clustering, for the report.

    Attributes:
        entity_id: the entity's id (``entities.csv``'s ``entity_id``).
        records: the entity's records, record id -> record (attribute ->
            value); in linkage, the left table's records.
        links: the scored pairs whose two records are both in the entity.
        right_records: in linkage, the right table's records of the entity
            (their ids may repeat left ids); ``None`` in deduplication.
    """

    entity_id: str
    records: Mapping[str, Record]
    links: Sequence[EntityLink] = field(default_factory=tuple)
    right_records: Mapping[str, Record] | None = None

    def __post_init__(self) -> None:
        right = self.records if self.right_records is None else self.right_records
        for link in self.links:
            if not isinstance(link, EntityLink):
                raise TypeError(
                    f"entity {self.entity_id!r}: links must be EntityLink objects, got "
                    f"{type(link).__name__}"
                )
            if link.left_id not in self.records or link.right_id not in right:
                raise ValueError(
                    f"entity {self.entity_id!r}: link {link.left_id!r}-{link.right_id!r} "
                    "names a record the entity does not hold; pass every linked record in "
                    "records (left ids) and right_records (right ids, linkage only)"
                )


def _attributes(records: Sequence[Record]) -> list[str]:
    seen: dict[str, None] = {}
    for r in records:
        seen.update(dict.fromkeys(r))
    return list(seen)


def entity_views(
    entities: Sequence[EntityView], explanations: Sequence[Explanation]
) -> list[dict[str, Any]]:
    """Template data per entity: record rows and links weakest first, linked to explanations."""
    anchors = {(e.left_id, e.right_id): i for i, e in enumerate(explanations)}
    out = []
    for n, ent in enumerate(entities):
        if not isinstance(ent, EntityView):
            raise TypeError(f"entities must be EntityView objects, got {type(ent).__name__}")
        linkage = ent.right_records is not None
        rows = [("left" if linkage else "", rid, rec) for rid, rec in ent.records.items()]
        rows += [("right", rid, rec) for rid, rec in (ent.right_records or {}).items()]
        attributes = _attributes([rec for _, _, rec in rows])
        links = []
        for link in sorted(ent.links, key=lambda k: (k.probability, k.left_id, k.right_id)):
            i = anchors.get((link.left_id, link.right_id))
            links.append(
                {
                    "left_id": link.left_id,
                    "right_id": link.right_id,
                    "probability": link.probability,
                    "anchor": None if i is None else f"pair-{i}",
                    "reason": None if i is None else explanations[i].review_reason,
                }
            )
        out.append(
            {
                "anchor": f"entity-{n}",
                "entity_id": ent.entity_id,
                "linkage": linkage,
                "attributes": attributes,
                "records": [
                    {"source": s, "id": rid, "cells": [rec.get(a) for a in attributes]}
                    for s, rid, rec in rows
                ],
                "links": links,
            }
        )
    return out
