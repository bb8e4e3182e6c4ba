from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bem.cluster import average_linkage, cluster, connected_components
from bem.evaluate import evaluate_clusters


def test_components_chain_through_one_weak_link():
    # two tight triangles {0,1,2} and {3,4,5} joined by one link 2-3 above threshold
    u = [0, 0, 1, 3, 3, 4, 2]
    v = [1, 2, 2, 4, 5, 5, 3]
    s = [0.99, 0.98, 0.97, 0.99, 0.98, 0.97, 0.6]
    labels = cluster(6, u, v, s, threshold=0.5, method="components")
    assert len(set(labels)) == 1  # chained: the known weakness


def test_average_linkage_does_not_chain_through_one_weak_link():
    u = [0, 0, 1, 3, 3, 4, 2]
    v = [1, 2, 2, 4, 5, 5, 3]
    s = [0.99, 0.98, 0.97, 0.99, 0.98, 0.97, 0.6]
    labels = cluster(6, u, v, s, threshold=0.5, method="average")
    assert labels[0] == labels[1] == labels[2]
    assert labels[3] == labels[4] == labels[5]
    assert labels[0] != labels[3]


def test_average_linkage_chain_a_b_c_splits_when_a_c_unscored():
    # A-B and B-C are matches, A-C never scored: average {A,B}-C = (0.9 + 0) / 2 < 0.5
    labels = average_linkage(3, [0, 1], [1, 2], [0.95, 0.9], threshold=0.5)
    assert labels[0] == labels[1] != labels[2]


def test_average_linkage_merges_when_all_links_strong():
    labels = average_linkage(3, [0, 1, 0], [1, 2, 2], [0.95, 0.9, 0.8], threshold=0.5)
    assert len(set(labels)) == 1


def test_low_scores_never_merge():
    for method in ("components", "average"):
        labels = cluster(3, [0, 1], [1, 2], [0.1, 0.2], threshold=0.5, method=method)
        assert list(labels) == [0, 1, 2]


def test_threshold_outside_unit_interval_is_rejected():
    with pytest.raises(ValueError, match="threshold must be in"):
        cluster(2, [0], [1], [0.9], threshold=1.5)


def test_labels_are_canonical_and_do_not_depend_on_edge_order():
    u, v, _s = [4, 0, 2], [5, 1, 3], [0.9, 0.9, 0.9]
    a = connected_components(6, u, v)
    b = connected_components(6, u[::-1], v[::-1])
    assert list(a) == list(b) == [0, 0, 1, 1, 2, 2]


edges = st.lists(st.tuples(st.integers(0, 19), st.integers(0, 19), st.floats(0, 1)), max_size=60)


@settings(max_examples=60, deadline=None)
@given(edges=edges, method=st.sampled_from(["components", "average"]))
def test_every_record_in_exactly_one_entity(edges, method):
    n = 20
    u = [a for a, _, _ in edges]
    v = [b for _, b, _ in edges]
    s = [c for _, _, c in edges]
    labels = cluster(n, u, v, s, threshold=0.5, method=method)
    assert labels.shape == (n,)
    assert set(labels) == set(range(labels.max() + 1))  # dense labels, every node labelled
    # no pair merged without a path of scored pairs between its clusters
    comp = connected_components(n, u, v)
    for i in range(n):
        for j in range(n):
            if labels[i] == labels[j]:
                assert comp[i] == comp[j]


@settings(max_examples=40, deadline=None)
@given(
    truth=st.lists(st.integers(0, 5), min_size=2, max_size=12),
    pred=st.lists(st.integers(0, 5), min_size=2, max_size=12),
)
def test_merging_truly_distinct_records_counts_as_error(truth, pred):
    n = min(len(truth), len(pred))
    truth, pred = truth[:n], pred[:n]
    ids = [str(i) for i in range(n)]
    entities = pd.DataFrame({"source": "r", "id": ids, "entity_id": [f"e{p}" for p in pred]})
    matches = pd.DataFrame(
        [(ids[i], ids[j]) for i in range(n) for j in range(i + 1, n) if truth[i] == truth[j]],
        columns=["ltable_id", "rtable_id"],
    )
    m = evaluate_clusters(entities, matches, left_source="r", right_source="r")
    false_merges = sum(
        1 for i in range(n) for j in range(i + 1, n) if pred[i] == pred[j] and truth[i] != truth[j]
    )
    assert m.fp == false_merges
    assert m.tp + m.fn == len(matches)
    if false_merges:
        assert m.precision < 1.0


def test_linkage_evaluation_counts_only_cross_pairs():
    entities = pd.DataFrame(
        {
            "source": ["left", "left", "right"],
            "id": ["1", "2", "1"],
            "entity_id": ["e0", "e0", "e0"],
        }
    )
    matches = pd.DataFrame({"ltable_id": ["1"], "rtable_id": ["1"]})
    m = evaluate_clusters(entities, matches)
    assert (m.tp, m.fp, m.fn) == (1, 1, 0)
    assert m.precision == pytest.approx(0.5)
    assert np.isclose(m.recall, 1.0)


@pytest.mark.parametrize(
    ("u", "v", "s"),
    [
        ([0, 1], [1, 0], [0.3, 0.3]),  # one pair given in both orders
        ([0, 0], [1, 1], [0.3, 0.3]),  # one pair given twice
        ([0, 0, 1], [1, 1, 0], [0.3, 0.2, 0.4]),
    ],
)
def test_average_linkage_counts_a_repeated_pair_once(u, v, s):
    # 0.3 + 0.3 must not add up to 0.6 >= 0.5: components keeps them apart too
    labels = average_linkage(2, u, v, s, threshold=0.5)
    assert labels[0] != labels[1]
    assert (connected_components(2, [], []) == labels).all()


def test_average_linkage_keeps_the_strongest_score_of_a_repeated_pair():
    labels = average_linkage(2, [0, 1], [1, 0], [0.3, 0.7], threshold=0.5)
    assert labels[0] == labels[1]
    # three records: {0,1} strong; 2 linked to 0 twice (0.6, 0.6) and never to 1
    # average {0,1}-2 = max(0.6, 0.6) / 2 = 0.3 < 0.5, not (0.6 + 0.6) / 2 = 0.6
    labels = average_linkage(3, [0, 0, 2], [1, 2, 0], [0.9, 0.6, 0.6], threshold=0.5)
    assert labels[0] == labels[1] != labels[2]
