"""Study: is the fuzzy blocker's recall at 10^6 records bounded by the data or by its prefilter?

``bench/scale.py --section runs`` found the pipeline's default blocker (title
q-grams, top 3) at blocking recall 0.701 on 10^5 synthetic dedup records and
0.137 on 10^6. This study draws 300 true pairs of the same tables
(``data.make_dedup``, seed 7, as the scale runs) and ranks each pair's partner
among *all* records by the same scorer (rapidfuzz token-set ratio on the
lower-cased title, no prefilter): the share within the top 3 is what an exact
top-3 blocker could reach (one-sided). Measured on 2026-12-02 (2 cores):

    records     exact top-3 (300 pairs)   blocker (all pairs)   seconds
    100,000     0.737                      0.701                 22
    1,000,000   0.677                      0.137                 221

The data costs 0.06 from 10^5 to 10^6 (more look-alike products); the other
0.5 is the prefilter's: each record's query reads its rarest q-grams up to a
fixed postings budget (2,000), and at 10^6 records a title's rarest q-gram alone
has about that many postings, so most queries use one q-gram. Conclusion for the
blocker: the budget (or the index: tokens instead of q-grams) must follow the
table's size.

    python bench/studies/topk_bound.py 1000000
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench" / "studies"]
sys.path.insert(0, str(ROOT))


def main(n: int, *, sample: int = 300, seed: int = 0) -> float:
    from rapidfuzz import fuzz, process

    from data import make_dedup

    syn = make_dedup(n_entities=int(n / 2.5 * 1.05) + 10, seed=7, progress=False)
    records = syn.records.iloc[:n]
    ids = records.index.astype(str).to_numpy()
    position = {k: i for i, k in enumerate(ids)}
    texts = records["title"].fillna("").str.lower().tolist()
    truth = syn.matches[
        syn.matches["ltable_id"].astype(str).isin(position)
        & syn.matches["rtable_id"].astype(str).isin(position)
    ]
    rng = np.random.default_rng(seed)
    drawn = truth.iloc[rng.choice(len(truth), sample, replace=False)]
    t0 = time.perf_counter()
    hits = 0
    for a, b in zip(drawn["ltable_id"].astype(str), drawn["rtable_id"].astype(str)):
        i, j = position[a], position[b]
        scores = process.cdist([texts[i]], texts, scorer=fuzz.token_set_ratio, workers=1)[0]
        scores[i] = -1
        third = -np.partition(-scores, 2)[2]
        hits += bool(scores[j] >= third)  # within the top 3 (ties count)
    share = hits / sample
    print(f"{n} records: exact top-3 recall {share:.3f} ({sample} pairs, "
          f"{time.perf_counter() - t0:.0f} s)")  # fmt: skip
    return share


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
