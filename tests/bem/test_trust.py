"""Trust: no evidence no merge, schema checks, reports that agree with the pipeline."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from bem.decide import NO_EVIDENCE_RULE, decision_rules
from bem.pipeline import dedup, link
from data import BemError, RecordPairs


class AlwaysMatch:
    """A stand-in matcher that scores every pair 1.0 over two attributes."""

    threshold_ = 0.5
    attributes_ = ("title", "price")

    def predict_proba(self, pairs: RecordPairs, *, batch_size=None, progress=False):
        return np.ones(len(pairs))


def _all_pairs(table):
    ids = list(table.index)
    rows = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :]]
    return pd.DataFrame(rows, columns=["ltable_id", "rtable_id"])


EVIDENCE_TABLE = pd.DataFrame(
    {
        "title": [None, "ipod nano", None, "ipod nano 8gb", " "],
        "price": ["", None, "149", None, None],
    },
    index=pd.Index(["empty", "title_only", "price_only", "title_too", "blank"], name="id"),
)


@pytest.mark.parametrize("clustering", ["average", "components"])
def test_a_pair_without_shared_evidence_is_never_merged(clustering):
    result = dedup(
        EVIDENCE_TABLE,
        AlwaysMatch(),
        candidates=_all_pairs(EVIDENCE_TABLE),
        clustering=clustering,
        explain_method=None,
    )
    ent = result.entities.set_index("id")["entity_id"]
    # only the two records with a title share evidence
    assert ent["title_only"] == ent["title_too"]
    assert ent.drop(["title_only", "title_too"]).nunique() == 3
    assert ent["empty"] != ent["title_only"] and ent["price_only"] != ent["title_only"]
    pairs = result.pairs
    no_evidence = pairs["evidence"] == 0
    assert no_evidence.sum() == 9  # all 10 pairs but title_only-title_too
    assert (pairs.loc[no_evidence, "decision"] == 0).all()
    assert (pairs.loc[no_evidence, "same_entity"] == 0).all()
    assert (pairs.loc[no_evidence, "probability"] == 1.0).all()  # the score is kept
    assert result.counts["no_evidence_pairs"] == 9
    assert result.counts["no_evidence_above_threshold"] == 9


def test_no_evidence_in_linkage_and_one_to_one():
    left = EVIDENCE_TABLE.loc[["empty", "title_only"]]
    right = EVIDENCE_TABLE.loc[["price_only", "title_too"]]
    cands = pd.DataFrame(
        [(a, b) for a in left.index for b in right.index], columns=["ltable_id", "rtable_id"]
    )
    for one in (False, True):
        result = link(
            left, right, AlwaysMatch(), candidates=cands, one_to_one=one, explain_method=None
        )
        merged = result.pairs[result.pairs["same_entity"] == 1]
        assert merged[["ltable_id", "rtable_id"]].values.tolist() == [["title_only", "title_too"]]


def test_decision_rules_say_why():
    pairs = pd.DataFrame(
        {
            "probability": [0.9, 0.2, 0.9, 0.9],
            "same_entity": [1, 1, 0, 0],
            "evidence": [1, 1, 1, 0],
        }
    )
    rules = decision_rules(pairs, threshold=0.5, clustering="average", one_to_one=False)
    assert rules[0] == "average-linkage clustering at threshold 0.500"
    assert "merged through other links" in rules[1]
    assert "kept apart" in rules[2]
    assert rules[3] == NO_EVIDENCE_RULE
    one = decision_rules(pairs, threshold=0.03, clustering="average", one_to_one=True)
    assert one[0] == "one-to-one linkage at threshold 0.030"
    assert "better partner" in one[2]


class Attributed:
    """A stand-in with a recorded schema, scoring by title equality."""

    threshold_ = 0.5
    attributes_ = ("title", "brand")

    def predict_proba(self, pairs: RecordPairs, *, batch_size=None, progress=False):
        same = [a.get("title") == b.get("title") for a, b in pairs.records()]
        return np.where(same, 0.9, 0.1)


PEOPLE = pd.DataFrame(
    {"name": ["John Smith", "Jon Smith", "Mary Jones"], "city": ["Boston", "Boston", "NYC"]},
    index=pd.Index(["1", "2", "3"], name="id"),
)


def test_a_table_without_the_models_attributes_is_refused():
    with pytest.raises(BemError, match=r"none of the model's attributes \['title', 'brand'\]"):
        dedup(PEOPLE, Attributed(), explain_method=None, progress=False)


def test_rename_maps_columns_and_warns_about_the_rest(caplog):
    with caplog.at_level(logging.WARNING):
        result = dedup(
            PEOPLE, Attributed(), rename={"title": "name"}, explain_method=None, progress=False
        )
    assert "brand" in caplog.text
    assert result.entities["entity_id"].nunique() == 3
    with pytest.raises(BemError, match="no column 'surname'"):
        dedup(PEOPLE, Attributed(), rename={"title": "surname"}, explain_method=None)


def test_review_reports_the_pipelines_decisions(tiny_matcher):
    table = pd.DataFrame(
        {"title": [f"item {i % 4}" for i in range(8)], "brand": ["acme"] * 8},
        index=pd.Index([f"r{i}" for i in range(8)], name="id"),
    )
    for threshold in (None, 0.0, 1.0):
        result = dedup(
            table,
            tiny_matcher,
            candidates=_all_pairs(table),
            threshold=threshold,
            review={"lowest_merges": 3, "strongest_rejections": 3, "sample": 3},
            progress=False,
        )
        pairs = result.pairs.set_index(["ltable_id", "rtable_id"])
        assert result.explanations
        for e, (_, row) in zip(result.explanations, result.review.iterrows()):
            assert e.decision == pairs.loc[(e.left_id, e.right_id), "same_entity"]
            assert e.threshold == pytest.approx(result.threshold)
            assert e.review_reason == row["review_reason"]
            assert e.decision_rule == row["decision_rule"]
        assert result.entity_views or not result.pairs["same_entity"].any()
