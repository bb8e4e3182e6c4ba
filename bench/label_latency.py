"""How long a labeller waits for the next question while ``bem label`` retrains.

A ``bem label`` session as the command starts it (retrain every 20 labels in a
child process with one torch thread, the session on the other cores, every
question explained by occlusion, the next one prefetched while the user reads),
over the DeepMatcher train split of one set, starting from the label-free model
of ``bench/label_efficiency.py`` (cached; trained when missing). An oracle answers
each question with the pair's train label after a reading time of ``--think``
seconds. The wait is the time from the answer to the next question being ready
(:meth:`LabelSession.answer` then :meth:`LabelSession.next_question`, explanation
included), which is what the web page and the console wait for.

Reported: p50/p90/max wait over questions asked while a retrain ran and while
none ran (target: p90 under 1 s while a retrain runs), and the seconds of each
retrain (fine-tuning on the labels so far and rescoring the pool).

    flock /tmp/bem-cpu.lock .venv/bin/python bench/label_latency.py            # amazon_google
    flock /tmp/bem-cpu.lock .venv/bin/python bench/label_latency.py --answers 200 --think 1

Writes ``bench/results/label_latency.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# the repository first and never bench/ itself (bench/blocking.py would shadow blocking/)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

logger = logging.getLogger("bench.label_latency")
RESULTS = ROOT / "bench" / "results"
RETRAIN_EVERY = 20  # bem label's default


def _stats(waits: list[float]) -> dict[str, Any]:
    if not waits:
        return {"questions": 0}
    a = np.asarray(waits)
    return {
        "questions": len(a),
        "p50_s": float(np.percentile(a, 50)),
        "p90_s": float(np.percentile(a, 90)),
        "max_s": float(a.max()),
    }


def measure(dataset: str, *, answers: int, think: float, seed: int = 0) -> dict[str, Any]:
    """One oracle session; the waits and retrain times."""
    from bench.common import load_magellan
    from bench.label_efficiency import label_free, train_split_session

    ds = load_magellan(dataset)
    start, _ = label_free(dataset, ds)
    pairs = ds.train.pairs.reset_index(drop=True)
    truth = {
        (str(a), str(b)): int(y)
        for a, b, y in zip(pairs["ltable_id"], pairs["rtable_id"], ds.train.labels)
    }
    retrain_threads = 1
    waits: list[tuple[float, bool]] = []
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        session = train_split_session(
            ds,
            start,
            Path(tmp) / "labels.csv",
            retrain_every=RETRAIN_EVERY,
            retrain_threads=retrain_threads,
            threads=max(1, (os.cpu_count() or 2) - retrain_threads),
            seed=seed,
        ).start()
        start_s = time.perf_counter() - t0
        try:
            question = session.next_question()
            for _ in range(answers):
                if question is None:
                    break
                time.sleep(think)  # the user reads the pair (the next one is prefetched)
                retraining = session.retraining
                t = time.perf_counter()
                session.answer(truth[(str(question.left_id), str(question.right_id))])
                question = session.next_question()
                waits.append((time.perf_counter() - t, retraining or session.retraining))
            session.wait_for_retrain(timeout=600)
            retrains = [float(s) for s in session.retrain_seconds_]
            rounds, pool = int(session.round_), len(session.pool_)
        finally:
            session.close()
    during = [w for w, r in waits if r]
    idle = [w for w, r in waits if not r]
    return {
        "dataset": dataset,
        "answers": len(waits),
        "think_s": think,
        "retrain_every": RETRAIN_EVERY,
        "session_start_s": start_s,
        "pool": pool,
        "during_retrain": _stats(during),
        "no_retrain": _stats(idle),
        "all": _stats([w for w, _ in waits]),
        "retrain_seconds": retrains,
        "rounds_swapped_in": rounds,
    }


def markdown(result: dict[str, Any]) -> str:
    during = result["during_retrain"]
    met = during.get("questions", 0) > 0 and during["p90_s"] < 1.0

    def row(name: str, s: dict[str, Any]) -> str:
        if not s.get("questions"):
            return f"| {name} | 0 | - | - | - |"
        return (
            f"| {name} | {s['questions']} | {s['p50_s']:.3f} | {s['p90_s']:.3f} | "
            f"{s['max_s']:.3f} |"
        )

    retrains = result["retrain_seconds"]
    return "\n".join(
        [
            "# `bem label`: the wait for the next question while the model retrains",
            "",
            "Produced by `bench/label_latency.py` (see its docstring). "
            f"Command: `{result['command']}`; {result['date']}; {result['machine']}.",
            "",
            f"{result['dataset']} train split as the pool ({result['pool']} pairs), the "
            f"label-free model to start, an oracle answering after {result['think_s']} s of "
            f"reading, {result['answers']} answers, a retrain every "
            f"{result['retrain_every']} labels (child process, 1 torch thread). Session "
            f"start (pool scored): {result['session_start_s']:.1f} s.",
            "",
            "| questions asked | n | p50 wait (s) | p90 wait (s) | max (s) |",
            "|---|---|---|---|---|",
            row("while a retrain ran", during),
            row("while none ran", result["no_retrain"]),
            row("all", result["all"]),
            "",
            f"Target: p90 under 1 s while a retrain runs: {'met' if met else 'NOT met'}.",
            "",
            f"Retrains swapped in: {result['rounds_swapped_in']}; seconds each (fine-tune "
            "on the labels so far, then rescore the pool): "
            + (", ".join(f"{s:.0f}" for s in retrains) or "none finished"),
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset", default="amazon_google", choices=["abt_buy", "amazon_google", "dblp_acm"]
    )
    parser.add_argument("--answers", type=int, default=120)
    parser.add_argument("--think", type=float, default=2.0, help="seconds a user reads a pair")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    result = measure(args.dataset, answers=args.answers, think=args.think)
    import torch

    result["command"] = "python bench/label_latency.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    result["command"] = result["command"].strip()
    result["date"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    result["machine"] = f"{os.cpu_count()} cores ({platform.machine()}), torch {torch.__version__}"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "label_latency.json").write_text(json.dumps(result, indent=2) + "\n")
    text = markdown(result)
    (RESULTS / "label_latency.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
