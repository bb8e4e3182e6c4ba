"""Study: word pairs in the blocker's index, for tables whose vocabulary stops growing.

``bench/scale.py --section runs`` found the pipeline's default blocker (title
q-grams, top 3) at blocking recall 0.701 on 10^5 synthetic dedup records and
0.137 on 10^6; ``bench/studies/topk_bound.py`` put the exact top-3 at 0.737
and 0.677: the loss is the prefilter's. ``data.make_dedup`` draws titles from
a bounded vocabulary, so every key's postings grow with the table:

    records     median rarest key of a title (postings)
                q-gram     word     adjacent word pair
    100,000     181        151      4
    1,000,000   1,790      1,605    26

At 10^6 the rarest q-gram alone exceeds the per-record budget (2,000
postings), each query reads one key shared by ~1,800 look-alikes and the
IDF ranking of the prefilter is a tie. A word pair stays rare. This study runs
the blocker on the same tables (seed 7, as the scale runs) with and without
word pairs and reports pair recall against the known truth. Measured on
2026-12-02 (2 cores, shared with a training run: compare recalls, not seconds):

    records     word_pairs       max_postings  prefilter_k  recall   candidates  seconds
    100,000     False (= auto)   2,000         40           0.701    215,995     26
    100,000     True             2,000         40           0.684    212,712     24
    100,000     False            8,000         40           0.695    214,401     38
    100,000     False            2,000         120          0.722    212,753     65
    1,000,000   False            2,000         40           0.137    (scale runs)
    1,000,000   True (= auto)    2,000         40           0.490    2,202,243   331-544
    1,000,000   True             2,000         100          0.508    2,174,411   393
    1,000,000   False            20,000        40           stopped: 22 CPU-min, 4x

Conclusions, now in ``blocking.FuzzyBlocker(word_pairs="auto")``: word pairs
are added only when the median record's rarest key has more than a quarter
of the budget's postings (``blocking.index.needs_word_pairs``): off at 10^5,
where they cost 0.017 recall by over-rewarding exact word order, on at 10^6,
where they lift recall from 0.137 to 0.490 at the same cost per record. A
larger budget is no remedy (lower recall at 10^5, quadratic work at 10^6).
The remaining gap to the exact bound at 10^6 (0.490 against 0.677) is the
prefilter's ranking among look-alikes; the target (within 0.02 of 10^5's
0.701) is above the exact bound itself.

    python bench/studies/word_pairs.py 1000000 '{}' '{"word_pairs": false}'
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench" / "studies"]
sys.path.insert(0, str(ROOT))


def table(n: int):
    """The first ``n`` records of the scale runs' table and their true pairs."""
    from data import make_dedup

    syn = make_dedup(n_entities=int(n / 2.5 * 1.05) + 10, seed=7, progress=False)
    records = syn.records.iloc[:n]
    keep = set(records.index.astype(str))
    truth = syn.matches[syn.matches["ltable_id"].isin(keep) & syn.matches["rtable_id"].isin(keep)]
    return records, truth


def run(records, truth, **options) -> dict:
    """Pair recall of the scale runs' blocker (title, top 3) with ``options``."""
    from blocking import FuzzyBlocker

    blocker = FuzzyBlocker(key=("title",), top_k=3, progress=False, **options)
    t0 = time.perf_counter()
    cands = blocker.candidates(records)
    seconds = time.perf_counter() - t0
    a, b = (cands[c].astype(str).to_numpy() for c in ("ltable_id", "rtable_id"))
    found = set(zip(np.minimum(a, b), np.maximum(a, b)))
    ta, tb = (truth[c].astype(str).to_numpy() for c in ("ltable_id", "rtable_id"))
    recall = float(np.mean([k in found for k in zip(np.minimum(ta, tb), np.maximum(ta, tb))]))
    return {"records": len(records), **options, "recall": round(recall, 4),
            "candidates": len(cands), "seconds": round(seconds, 1)}  # fmt: skip


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    records, truth = table(n)
    for spec in sys.argv[2:] or ["{}"]:
        print(json.dumps(run(records, truth, **json.loads(spec))), flush=True)
