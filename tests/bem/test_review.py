"""The report's entity views against a plain per-entity scan of every record and pair."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from bem.review import review_entities
from explain import EntityLink, EntityView


def _views_by_scan(chosen, pairs, entities, left, right, sources):
    """review_entities as first written: one scan of all records and pairs per entity."""
    merged = chosen[chosen["same_entity"] == 1]
    right_source = sources[0] if right is None else sources[1]
    ent = entities.assign(id=entities["id"].astype(str))
    by_left = ent[ent["source"] == sources[0]].set_index("id")["entity_id"]
    by_right = ent[ent["source"] == right_source].set_index("id")["entity_id"]
    wanted = list(dict.fromkeys(by_left.loc[merged["ltable_id"].astype(str)].tolist()))
    pair_entity = by_left.reindex(pairs["ltable_id"].astype(str)).to_numpy()
    inside = pair_entity == by_right.reindex(pairs["rtable_id"].astype(str)).to_numpy()
    views = []
    for entity_id in wanted:
        members = ent[ent["entity_id"] == entity_id]
        lids = members.loc[members["source"] == sources[0], "id"].tolist()
        rids = members.loc[members["source"] == right_source, "id"].tolist()
        records = {i: {k: str(v) for k, v in left.loc[i].items()} for i in lids}
        right_records = (
            None
            if right is None
            else {i: {k: str(v) for k, v in right.loc[i].items()} for i in rids}
        )
        mine = pairs[inside & (pair_entity == entity_id)].sort_values("probability", kind="stable")
        links = [
            EntityLink(str(a), str(b), float(p))
            for a, b, p in zip(mine["ltable_id"], mine["rtable_id"], mine["probability"])
        ]
        views.append(EntityView(entity_id, records, links, right_records))
    return views


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 6),
    entity_of=st.lists(st.integers(0, 3), min_size=12, max_size=12),
    scored=st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 5), st.sampled_from([0.2, 0.5, 0.5, 0.9])),
        max_size=20,
    ),
    reviewed=st.lists(st.integers(0, 19), max_size=6),
    linkage=st.booleans(),
)
def test_entity_views_equal_a_per_entity_scan(n, entity_of, scored, reviewed, linkage):
    # link mode names records "0".."n-1" on both sides: the same ids, different records
    ids = [str(i) for i in range(n)]
    left = pd.DataFrame({"title": [f"left {i}" for i in ids]}, index=pd.Index(ids, name="id"))
    right = pd.DataFrame({"title": [f"right {i}" for i in ids]}, index=left.index)
    sources = ("a", "b") if linkage else ("a", "a")
    rows = [{"id": i, "source": "a", "entity_id": f"e{entity_of[k]}"} for k, i in enumerate(ids)]
    if linkage:
        rows += [
            {"id": i, "source": "b", "entity_id": f"e{entity_of[6 + k]}"} for k, i in enumerate(ids)
        ]
    entities = pd.DataFrame(rows)
    pairs = pd.DataFrame(
        [(str(a % n), str(b % n), p) for a, b, p in scored if linkage or a % n != b % n],
        columns=["ltable_id", "rtable_id", "probability"],
    )
    if not len(pairs):
        return
    ent = entities.set_index(["source", "id"])["entity_id"]
    pairs["same_entity"] = [
        int(ent[(sources[0], a)] == ent[(sources[1], b)])
        for a, b in zip(pairs["ltable_id"], pairs["rtable_id"])
    ]
    chosen = pairs.iloc[[r % len(pairs) for r in reviewed]]
    got = review_entities(
        chosen, pairs, entities, left, right if linkage else None, sources=sources
    )
    want = _views_by_scan(chosen, pairs, entities, left, right if linkage else None, sources)
    assert got == want
