"""FuzzyBlocker: the prefilter against brute force, and its options."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from rapidfuzz import fuzz, process

from blocking import FuzzyBlocker, Key
from blocking.index import needs_word_pairs, token_matrix

VOCAB = [f"w{i}" for i in range(15)]


def random_table(n: int, seed: int, prefix: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(VOCAB, size=rng.integers(2, 6), replace=False)) for _ in range(n)]
    return pd.DataFrame({"t": texts}, index=pd.Index([f"{prefix}{i}" for i in range(n)], name="id"))


def brute_force_topk(lt: list[str], rt: list[str], k: int, *, sharing: bool) -> list[list[float]]:
    """Per left record, its k best token_set_ratio scores over all right records."""
    sim = process.cdist(lt, rt, scorer=fuzz.token_set_ratio)
    if sharing:  # only pairs that share a token: what an inverted index can find
        share = np.array([[bool(set(a.split()) & set(b.split())) for b in rt] for a in lt])
        sim = np.where(share, sim, -1)
    return [sorted((s for s in row if s >= 0), reverse=True)[:k] for row in sim]


def topk_by_left(cands: pd.DataFrame, left: pd.DataFrame) -> list[list[float]]:
    groups = cands.groupby("ltable_id")["score"]
    return [
        sorted(groups.get_group(i), reverse=True) if i in groups.groups else [] for i in left.index
    ]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 3, 7])
def test_prefilter_gives_brute_force_topk(seed, k):
    left, right = random_table(60, seed, "a"), random_table(45, seed + 100, "b")
    blocker = FuzzyBlocker(
        Key("t", normalizers=()),
        top_k=k,
        symmetric=False,
        index="tokens",
        max_df=1.0,
        prefilter_k=1000,
        progress=False,
    )
    got = topk_by_left(blocker.candidates(left, right), left)
    expected = brute_force_topk(list(left["t"]), list(right["t"]), k, sharing=True)
    np.testing.assert_allclose(np.concatenate(got), np.concatenate(expected), rtol=1e-5)
    assert [len(g) for g in got] == [len(e) for e in expected]


@pytest.mark.parametrize("seed", [0, 1])
def test_exact_mode_is_full_cdist_and_agrees_with_prefilter(seed):
    left, right = random_table(50, seed, "a"), random_table(50, seed + 7, "b")
    key = Key("t", normalizers=())
    exact = FuzzyBlocker(key, top_k=4, symmetric=False, prefilter=False, progress=False)
    got = topk_by_left(exact.candidates(left, right), left)
    expected = brute_force_topk(list(left["t"]), list(right["t"]), 4, sharing=False)
    np.testing.assert_allclose(np.concatenate(got), np.concatenate(expected), rtol=1e-5)
    # with a vocabulary this small every record shares tokens with many others, so
    # the prefiltered top-4 scores are the exact ones too
    pre = FuzzyBlocker(key, top_k=4, symmetric=False, max_df=1.0, prefilter_k=1000, progress=False)
    np.testing.assert_allclose(
        np.concatenate(topk_by_left(pre.candidates(left, right), left)),
        np.concatenate(expected),
        rtol=1e-5,
    )


def test_small_chunks_give_the_same_pairs():
    left, right = random_table(80, 3, "a"), random_table(70, 4, "b")
    for exact in (False, True):
        big = FuzzyBlocker("t", top_k=5, prefilter=not exact, progress=False)
        small = FuzzyBlocker("t", top_k=5, prefilter=not exact, chunk_pairs=50, progress=False)
        pd.testing.assert_frame_equal(big.candidates(left, right), small.candidates(left, right))
        pd.testing.assert_frame_equal(big.candidates(left), small.candidates(left))


def test_top_k_per_record_and_symmetry():
    left, right = random_table(30, 5, "a"), random_table(20, 6, "b")
    one_sided = FuzzyBlocker("t", top_k=2, symmetric=False, progress=False).candidates(left, right)
    assert one_sided.groupby("ltable_id").size().max() <= 2
    both = FuzzyBlocker("t", top_k=2, progress=False).candidates(left, right)
    assert set(zip(one_sided.ltable_id, one_sided.rtable_id)) < set(
        zip(both.ltable_id, both.rtable_id)
    )
    # every right record got its own top-2 as well
    assert set(both["rtable_id"]) == set(right.index)


def test_score_cutoff():
    left, right = random_table(30, 8, "a"), random_table(30, 9, "b")
    for prefilter in (True, False):
        blocker = FuzzyBlocker("t", top_k=5, score_cutoff=80, prefilter=prefilter, progress=False)
        cands = blocker.candidates(left, right)
        assert len(cands) > 0
        assert (cands["score"] >= 80).all()


def test_qgrams_find_typos_and_split_codes_tokens_find_split_codes():
    left = pd.DataFrame({"name": ["panasonic kxts208w phone", "sony bravia tv"]}, index=["a", "b"])
    right = pd.DataFrame(
        {"name": ["panasonic kx ts208w corded", "sonny bravia", "canon ink"]}, index=["x", "y", "z"]
    )
    for index in ("qgrams", "tokens"):
        cands = FuzzyBlocker("name", top_k=1, index=index, progress=False).candidates(left, right)
        assert ("a", "x") in set(zip(cands.ltable_id, cands.rtable_id)), index


def test_frequent_tokens_are_not_indexed_but_records_keep_their_rarest(caplog):
    texts = [f"common x{i}" for i in range(150)] + ["common", "common x1"]
    table = pd.DataFrame({"t": texts}, index=[str(i) for i in range(len(texts))])
    blocker = FuzzyBlocker("t", top_k=2, index="tokens", max_df=0.5, progress=False)
    with caplog.at_level(logging.INFO, logger="blocking"):
        cands = blocker.candidates(table)
    assert "1 frequent token(s) not indexed (in > 100 records)" in caplog.text
    pairs = set(zip(cands.ltable_id, cands.rtable_id))
    assert ("1", "151") in pairs  # "common x1" found its twin through the rare token
    # "common" alone queries with its (frequent) rarest token and still gets 2 candidates
    assert (cands["ltable_id"].eq("150") | cands["rtable_id"].eq("150")).sum() >= 2
    # and the frequent token is not used by records that have a rarer one: few pairs
    assert len(cands) < 3 * len(table)


def test_max_postings_bounds_the_work_per_record():
    texts = [f"brand{i % 3} line{i % 40} code{i}" for i in range(600)]
    table = pd.DataFrame({"t": texts}, index=[f"r{i}" for i in range(600)])
    # a record reads its rarest tokens first: code (1 posting), then its line (15);
    # with a budget of 5 it stops before the brand (200), so it only meets its line
    tight = FuzzyBlocker("t", top_k=3, index="tokens", max_df=1.0, max_postings=5, progress=False)
    cands = tight.candidates(table)
    assert len(cands) >= 3 * 600 / 2
    assert all(int(a[1:]) % 40 == int(b[1:]) % 40 for a, b in zip(cands.ltable_id, cands.rtable_id))
    # with no budget the brand is read too and some top-3 lists cross lines
    loose = FuzzyBlocker("t", top_k=3, index="tokens", max_df=1.0, progress=False)
    cands = loose.candidates(table)
    assert not all(
        int(a[1:]) % 40 == int(b[1:]) % 40 for a, b in zip(cands.ltable_id, cands.rtable_id)
    )


def _bounded_vocabulary(n_products: int, seed: int = 0) -> tuple[pd.DataFrame, list]:
    """Products named by 4 of 12 words, each listed twice, the copy with a typo:
    every word and q-gram is in thousands of records, as in a large table whose
    vocabulary stopped growing."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(12)]
    rows, truth = [], []
    for e in range(n_products):
        name = list(rng.choice(words, size=4, replace=False))
        copy = name.copy()
        j = rng.integers(4)
        copy[j] = copy[j][:-1] + "x"
        rows += [(f"a{e}", " ".join(name)), (f"b{e}", " ".join(copy))]
        truth.append((f"a{e}", f"b{e}"))
    return pd.DataFrame(rows, columns=["id", "t"]).set_index("id"), truth


def _recall(cands: pd.DataFrame, truth: list) -> float:
    found = set(zip(cands.ltable_id, cands.rtable_id))
    found |= {(b, a) for a, b in found}
    return float(np.mean([p in found for p in truth]))


def test_word_pairs_are_extra_keys_that_no_qgram_or_token_can_equal():
    keys = np.array(["aa bb cc", "a b", ""], dtype=object)
    for index in ("qgrams", "tokens"):
        plain = token_matrix(keys, index=index, q=3)
        paired = token_matrix(keys, index=index, q=3, word_pairs=True)
        # "aa bb", "bb cc" and "a b" (a 3-character pair that equals a q-gram of "a b")
        assert paired.shape[1] == plain.shape[1] + 3
        assert list(np.diff(paired.indptr) - np.diff(plain.indptr)) == [2, 1, 0]


def test_auto_word_pairs_turn_on_when_the_rarest_keys_outgrow_the_budget(caplog):
    table, truth = _bounded_vocabulary(300)
    texts = table["t"].to_numpy(dtype=object)
    tokens = token_matrix(texts, index="qgrams", q=3)
    df = np.asarray(tokens.sum(axis=0)).ravel()
    assert needs_word_pairs(tokens, df, 60)  # rarest q-grams: ~100 postings > 60 / 4
    assert not needs_word_pairs(tokens, df, 2000)
    assert not needs_word_pairs(token_matrix(np.array(["", ""], dtype=object)), df, 60)

    def run(word_pairs):
        blocker = FuzzyBlocker("t", top_k=2, max_postings=60, word_pairs=word_pairs, progress=False)
        return blocker.candidates(table)

    with caplog.at_level(logging.INFO, logger="blocking"):
        auto = run("auto")
    assert "indexing word pairs" in caplog.text
    pd.testing.assert_frame_equal(auto, run(True))
    # the q-grams alone leave each query a near tie of hundreds of look-alikes
    assert _recall(run(False), truth) < 0.3
    assert _recall(auto, truth) > 0.5
    # a budget the q-grams fit: auto leaves the index as it was
    roomy = FuzzyBlocker("t", top_k=2, progress=False)
    pd.testing.assert_frame_equal(
        roomy.candidates(table),
        FuzzyBlocker("t", top_k=2, word_pairs=False, progress=False).candidates(table),
    )
    with pytest.raises(ValueError, match="word_pairs"):
        FuzzyBlocker("t", word_pairs="yes")


def test_multi_attribute_key_and_bad_arguments():
    table = pd.DataFrame(
        {"a": ["sony", "sony", None], "b": ["tv 1", None, "tv 1"]}, index=list("xyz")
    )
    cands = FuzzyBlocker(["a", "b"], top_k=2, progress=False).candidates(table)
    assert len(cands) >= 1
    with pytest.raises(ValueError, match="top_k"):
        FuzzyBlocker("a", top_k=0)
    with pytest.raises(ValueError, match="unknown scorer"):
        FuzzyBlocker("a", scorer="nope")
    with pytest.raises(ValueError, match="index"):
        FuzzyBlocker("a", index="words")
    with pytest.raises(ValueError, match=r"without '\|'"):
        FuzzyBlocker("a", name="a|b")
