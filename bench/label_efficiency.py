"""Label efficiency: test F1 with 0, 50, 100, 200, 500 and 1000 labels.

On the DeepMatcher splits of ``abt_buy``, ``amazon_google`` and ``dblp_acm``
(test F1 comparable with published work):

- **0 labels**: the label-free model (:func:`bem.labelfree.fit_label_free`)
  trained on the two tables alone, never on a pair's label; its threshold is
  chosen on held-out self-supervised pairs.
- **n labels**: n pairs drawn at random (seed 0) from the DeepMatcher train
  split, the pool published active-learning work draws from. BEM fine-tunes the
  label-free model on them with the few-label rule of :func:`few_label_fit`
  (a fifth of the n pairs held out for early stopping and the threshold). Beside
  it, dedupe 3 (``bench`` extra) trained on the same n labels through its
  training-file route, scored on the same test pairs at its 0.5 threshold.
- **active** (``f1``): the labels ``bem label``'s engine asks for instead of a
  random draw, answered by an oracle from the train split (:func:`active_labels`),
  then the same fine-tuning.

Nothing scored was trained on: the test split is never sampled. Models are
cached in ``~/.cache/bem/models`` by data and code hash (``bench/common.py``).

    python bench/label_efficiency.py                         # all sets and budgets
    python bench/label_efficiency.py --datasets dblp_acm --budgets 0 500
    python bench/label_efficiency.py --datasets abt_buy --no-random --no-dedupe  # active only

Writes ``bench/results/label_efficiency.{json,md}``; a partial run keeps the
other points already in the JSON.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import logging
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
# the repository first and never bench/ itself (bench/blocking.py would shadow blocking/)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bem.training import MIN_PER_CLASS_FOR_VALID, few_label_fit  # noqa: E402
from bench.common import (  # noqa: E402
    CACHE,
    code_hash,
    data_hash,
    hash_frames,
    load_magellan,
    load_or_build,
)

logger = logging.getLogger("bench.label_efficiency")

RESULTS = ROOT / "bench" / "results"
SETS = ("abt_buy", "amazon_google", "dblp_acm")
BUDGETS = (0, 50, 100, 200, 500, 1000)
SEED = 0

# The encoder settings of every point: Ditto's 256 tokens with TF-IDF summarization,
# as the full-label benchmark (bench/common.py) uses.
MATCHER_KWARGS: dict[str, Any] = {"max_length": 256, "summarize": True}
LABEL_FREE_RECORDS = 800


def _cached(name: str, payload: dict[str, Any], build) -> tuple[Any, dict[str, Any]]:
    """``build()``'s matcher, cached under ``name`` and a hash of ``payload``."""
    key = hashlib.sha1(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()

    def timed():
        start = time.perf_counter()
        matcher = build()
        return matcher, {"train_seconds": round(time.perf_counter() - start, 1)}

    return load_or_build(CACHE / f"{name}-{key[:10]}", timed)


@functools.cache
def bem_code_hash(*parts: str) -> str:
    """sha256 of the sources these models also depend on, beside
    :func:`bench.common.code_hash` (``matcher/``, ``data/``): e.g. ``bem/labelfree`` (the
    self-supervised pairs, the threshold rule), ``blocking`` (their hard negatives and
    pseudo-pairs), ``bem/training.py`` (the few-label rule and the split). Computed
    once per process, as ``code_hash``: a long run keeps the hash of the code it imported."""
    digest = hashlib.sha256()
    for part in parts:
        path = ROOT / part
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(str(file.relative_to(ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def label_free(dataset: str, ds) -> tuple[Any, dict[str, Any]]:
    from bem.labelfree import fit_label_free

    payload = {
        "tables": hash_frames(ds.left, ds.right),
        "code": code_hash(),
        "bem_code": bem_code_hash(
            "bem/labelfree", "blocking", "bem/training.py", "bem/pipeline.py"
        ),
        "records": LABEL_FREE_RECORDS,
        "matcher": MATCHER_KWARGS,
        "seed": SEED,
    }
    return _cached(
        f"labelfree-{dataset}",
        payload,
        lambda: fit_label_free(
            ds.left,
            ds.right,
            matcher_kwargs=MATCHER_KWARGS,
            max_records=LABEL_FREE_RECORDS,
            seed=SEED,
        ),
    )


def sample_labels(ds, n: int, *, seed: int = SEED):
    """``n`` pairs drawn uniformly at random from the train split (never the test split)."""
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(ds.train), size=min(n, len(ds.train)), replace=False))
    return ds.train[idx]


def bem_point(
    dataset: str, ds, labels, start_dir: str, *, how: str = "random"
) -> tuple[float, float, str]:
    """Test F1 of the label-free model fine-tuned on ``labels`` as ``bem train --labels`` does
    (:func:`bem.training.fine_tune_on_labels`), its training seconds, and which model the
    rule kept (``"fine-tuned"`` or ``"start"``)."""
    from bem.training import fine_tune_on_labels
    from matcher import Matcher

    payload = {
        "labels": data_hash(labels),
        "code": code_hash(),
        # the labels' own hash says which pairs were asked
        "bem_code": bem_code_hash("bem/training.py"),
        "start": start_dir,
        "fit": few_label_fit(len(labels)),
    }

    def build():
        fit = fine_tune_on_labels(
            Matcher.from_pretrained(start_dir), labels, seed=SEED, progress=False
        )
        logger.info("%s, %d labels: %s", dataset, len(labels), fit.reason)
        return fit.matcher

    name = f"fewlabel-{dataset}-n{len(labels)}" + ("" if how == "random" else f"-{how}")
    matcher, info = _cached(name, payload, build)
    kept = matcher.train_info_.get("few_label", {}).get("kept", "fine-tuned")
    return float(matcher.evaluate(ds.test).f1), info["train_seconds"], kept


ACTIVE_RETRAIN_EVERY = 100
"""The active learner retrains after every this-many answers (``bem label`` retrains every
20 by default; rescoring a pool of thousands of train pairs each time is what costs)."""


def train_split_session(ds, start, labels: Path, **options: Any):
    """A ``bem label`` session (not started) whose pool is the train split's pairs."""
    from bem.label import LabelSession

    pairs = ds.train.pairs.reset_index(drop=True)
    return LabelSession(
        ds.left,
        ds.right,
        start,
        labels=labels,
        candidates=pairs[["ltable_id", "rtable_id"]],
        **options,
    )


def active_labels(ds, start, budgets) -> dict[int, Any]:
    """The pairs ``bem label``'s engine asks, answered by an oracle with their train labels.

    The pool is the DeepMatcher train split (at most 4,000 of its pairs, the engine's
    ``pool_size``); audit questions (one in five) are kept, as a user's session has
    them. Returns the labelled pairs (a RecordPairs) at each budget.
    """
    import tempfile

    pairs = ds.train.pairs.reset_index(drop=True)
    keys = list(zip(pairs["ltable_id"].astype(str), pairs["rtable_id"].astype(str)))
    row = {k: i for i, k in enumerate(keys)}
    labels = ds.train.labels
    asked: list[int] = []
    picked: dict[int, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        session = train_split_session(
            ds,
            start,
            Path(tmp) / "labels.csv",
            retrain_every=ACTIVE_RETRAIN_EVERY,
            background=False,
            explain=False,
            prefetch=False,
            seed=SEED,
        ).start()
        try:
            while len(asked) < max(budgets):
                question = session.next_question()
                if question is None:
                    break
                i = row[(str(question.left_id), str(question.right_id))]
                session.answer(int(labels[i]), pair=keys[i])
                asked.append(i)
                if len(asked) in budgets:
                    picked[len(asked)] = ds.train[np.array(sorted(asked))]
        finally:
            session.close()
    return picked


def _dedupe_record(row: pd.Series) -> dict[str, str | None]:
    return {k: (v if isinstance(v, str) and v.strip() else None) for k, v in row.items()}


def dedupe_point(ds, labels) -> float:
    """F1 on the test pairs of dedupe 3 trained on ``labels`` (its 0.5 threshold)."""
    import io

    try:
        import dedupe
        from dedupe import variables
    except ImportError:
        raise ImportError(
            "the dedupe baseline needs: pip install 'dedupe==3.0.3' 'BTrees<6'"
        ) from None
    fields = [variables.String(c, has_missing=True) for c in ds.left.columns]
    data_1 = {f"a{i}": _dedupe_record(r) for i, r in ds.left.iterrows()}
    data_2 = {f"b{i}": _dedupe_record(r) for i, r in ds.right.iterrows()}
    match, distinct = [], []
    for a, b, y in zip(labels.pairs["ltable_id"], labels.pairs["rtable_id"], labels.labels):
        (match if y == 1 else distinct).append([data_1[f"a{a}"], data_2[f"b{b}"]])
    training = io.StringIO(json.dumps({"match": match, "distinct": distinct}))
    linker = dedupe.RecordLink(fields, num_cores=1)
    linker.prepare_training(data_1, data_2, training_file=training, sample_size=1500)
    linker.train(index_predicates=False)
    pairs = [
        ((f"a{a}", data_1[f"a{a}"]), (f"b{b}", data_2[f"b{b}"]))
        for a, b in zip(ds.test.pairs["ltable_id"], ds.test.pairs["rtable_id"])
    ]
    scored = linker.score(pairs)
    score = {tuple(p): float(s) for p, s in zip(scored["pairs"], scored["score"])}
    pred = np.array([score.get((a, b), 0.0) >= 0.5 for (a, _), (b, _) in pairs])
    truth = ds.test.labels == 1
    tp = int((pred & truth).sum())
    return 0.0 if tp == 0 else 2 * tp / (int(pred.sum()) + int(truth.sum()))


def _kept_random(dataset: str, ds, budgets, saved) -> dict[int, dict[str, Any]]:
    """--no-random: the random-draw figures measured before on the same labels, per budget."""
    kept, start = {}, saved.get(dataset, {}).get("0", {})
    for n in (n for n in budgets if n):
        before = saved.get(dataset, {}).get(str(n), {})
        if before.get("labels_hash") != data_hash(sample_labels(ds, n))[:16]:
            raise SystemExit(
                f"--no-random: bench/results/label_efficiency.json has no random-draw figure "
                f"on today's {n} labels of {dataset}; run without --no-random"
            )
        keys = ("random_f1", "positives", "train_seconds", "kept", "labels_hash")
        kept[n] = {k: before[k] for k in keys if k in before}
        kept[n]["random_date"] = before.get("random_date", before["date"])
        kept[n]["random_command"] = before.get("random_command", before["command"])
        # its minutes count the label-free model's: today's replaces the one it was measured on
        kept[n]["train_seconds"] -= start.get("train_seconds", 0.0)
        kept[n]["random_start_f1"] = before.get("random_start_f1", start.get("random_f1"))
    return kept


def run(
    datasets,
    budgets,
    *,
    with_dedupe: bool,
    with_active: bool,
    command: str,
    on_point=None,
    random_from: dict[str, Any] | None = None,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Every point; ``on_point(dataset, budget_key, point)`` is called after each.

    With ``random_from`` (the saved results) the random-draw fine-tunes are not rerun:
    their figures on the same labels are kept, dated (``random_date``).
    """
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for dataset in datasets:
        ds = load_magellan(dataset)
        out[dataset] = {}
        kept_random = _kept_random(dataset, ds, budgets, random_from) if random_from else {}
        start, info = label_free(dataset, ds)
        start_dir = info["path"]
        active = {}
        if with_active and any(budgets):
            t0 = time.perf_counter()
            active = active_labels(ds, start, [n for n in budgets if n])
            logger.info(
                "%s: active session to %d labels in %.0f s",
                dataset,
                max(budgets),
                time.perf_counter() - t0,
            )
        for n in budgets:
            t0 = time.perf_counter()
            if n == 0:
                point = {
                    "random_f1": float(start.evaluate(ds.test).f1),
                    "positives": 0,
                    "train_seconds": info["train_seconds"],
                }
            elif n in kept_random:
                point = dict(kept_random[n])
                point["train_seconds"] += info["train_seconds"]
            else:
                labels = sample_labels(ds, n)
                f1, seconds, kept = bem_point(dataset, ds, labels, start_dir)
                point = {
                    "random_f1": f1,
                    "positives": int(labels.labels.sum()),
                    "train_seconds": seconds + info["train_seconds"],
                    "kept": kept,
                    "labels_hash": data_hash(labels)[:16],
                }
                if with_dedupe:
                    point["dedupe_f1"] = dedupe_point(ds, labels)
            if n in active:
                f1, seconds, kept = bem_point(dataset, ds, active[n], start_dir, how="active")
                point["f1"] = f1
                point["active_kept"] = kept
                point["active_positives"] = int(active[n].labels.sum())
                point["active_train_seconds"] = seconds
            point["seconds"] = round(time.perf_counter() - t0, 1)
            point["command"] = command
            point["date"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
            point["machine"] = f"{os.cpu_count()} cores, {platform.machine()}"
            out[dataset][str(n)] = point
            logger.info("%s @ %d labels: %s", dataset, n, point)
            if on_point is not None:
                on_point(dataset, str(n), point)
    return out


ANCHORS = {
    "0": "ZeroER 52 / 48 / 96; CollaborER 83.2 / 68.6 / 98.6; AutoER 81.9 / 57.8 / 98.4",
    "500": "Battleship (500 active labels) 68.0 / 61.5 / -; CLER 71.3 on amazon_google",
}
TARGETS = {"0": (0.52, 0.48, 0.96), "500": (0.68, 0.615, 0.97)}


def _ablation_lines(results: dict[str, Any]) -> list[str]:
    """Earlier measurements of a variant (``label_efficiency-<name>.json``) beside these."""
    lines = []
    for path in sorted(RESULTS.glob("label_efficiency-*.json")):
        saved = json.loads(path.read_text())
        name = path.stem.split("-", 1)[1]
        rows = []
        for dataset, points in saved["results"].items():
            for n, p in sorted(points.items(), key=lambda kv: int(kv[0])):
                now = results.get(dataset, {}).get(n)
                rows.append(
                    f"{dataset} @ {n}: {100 * p['random_f1']:.1f}"
                    + (f" (now {100 * now['random_f1']:.1f})" if now else "")
                )
        lines += ["", f"Variant `{name}` ({saved['about']}): " + "; ".join(rows) + "."]
    return lines


def markdown(results: dict[str, Any]) -> str:
    points = [p for block in results.values() for p in block.values()]
    commands = sorted({p["command"] for p in points})
    lines = [
        "# Label efficiency (DeepMatcher test splits)",
        "",
        f"Commands: {'; '.join(f'`{c}`' for c in commands)}  ",
        f"Machine: {points[0]['machine'] if points else '-'}; last point "
        f"{max((p['date'] for p in points), default='-')}",
        "",
        "Test F1 at each label budget (labels drawn at random from the train split, seed "
        "0; 0 = the label-free model). BEM fine-tunes the label-free model with "
        "`few_label_fit` and keeps the fine-tune only where a held-out fifth of the labels "
        "prefers it (`fine_tune_on_labels`; with fewer than "
        f"{MIN_PER_CLASS_FOR_VALID} labels of a class it keeps the start): `kept` says "
        "which. dedupe 3 trains on the same labels and scores the same test pairs. Train "
        "minutes include the label-free model's and the fine-tune's where one ran (kept "
        "or not).",
        "",
        "`active F1`: the same fine-tuning on the pairs `bem label`'s engine asked "
        f"(uncertainty with diversity, both classes in turn, one audit pair in five, a "
        f"retrain every {ACTIVE_RETRAIN_EVERY} answers), answered by an oracle with the "
        "train split's labels; its pool is the train split (4,000 of its pairs at most).",
        "",
        "| set | labels | positives | BEM F1 (random) | kept | active F1 (positives) "
        "| dedupe F1 | train min |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for dataset, points in results.items():
        for n, p in sorted(points.items(), key=lambda kv: int(kv[0])):
            dedupe = f"{100 * p['dedupe_f1']:.1f}" if "dedupe_f1" in p else "-"
            active = (
                f"{100 * p['f1']:.1f} ({p['active_positives']}"
                f"{', start kept' if p.get('active_kept') == 'start' else ''})"
                if "f1" in p
                else "-"
            )
            lines.append(
                f"| {dataset} | {n} | {p['positives']} | {100 * p['random_f1']:.1f} | "
                f"{p.get('kept', '-')} | {active} | {dedupe} | {p['train_seconds'] / 60:.1f} |"
            )
    notes = [
        f"- {dataset} @ {n}: {p['note']}"
        for dataset, points in results.items()
        for n, p in points.items()
        if p.get("note")
    ]
    for dataset, points in results.items():
        dated = sorted({p["dedupe_date"] for p in points.values() if p.get("dedupe_date")})
        if dated:
            notes.append(
                f"- {dataset}: the dedupe figures were measured on the same labels on "
                f"{', '.join(dated)} and kept by a run with --no-dedupe"
            )
        kept = [p for p in points.values() if p.get("random_date")]
        if kept and kept[0]["random_start_f1"] is not None and "0" in points:
            notes.append(
                f"- {dataset}: the random-draw figures were measured on the same labels on "
                f"{', '.join(sorted({p['random_date'] for p in kept}))} and kept by a run "
                f"with --no-random; their label-free start scored "
                f"{100 * kept[0]['random_start_f1']:.1f} at 0 labels, today's "
                f"{100 * points['0']['random_f1']:.1f}"
            )
    lines += ["", "Notes:", "", *notes] if notes else []
    lines += _ablation_lines(results)
    lines += ["", "Targets and anchors (abt_buy / amazon_google / dblp_acm):", ""]
    for n, (goal, anchor) in ((n, (TARGETS[n], ANCHORS[n])) for n in TARGETS):
        got = []
        for dataset, target in zip(SETS, goal):
            p = results.get(dataset, {}).get(n)
            if p is None:
                got.append(f"{dataset} not measured")
                continue
            ok = p["random_f1"] >= target
            if n != "0" and "dedupe_f1" in p:
                ok = ok and p["random_f1"] > p["dedupe_f1"]
            got.append(f"{dataset} {100 * p['random_f1']:.1f} ({'met' if ok else 'NOT met'})")
        lines.append(
            f"- {n} labels: target {' / '.join(str(t) for t in goal)}"
            f"{' and above dedupe' if n != '0' else ''}: {', '.join(got)}. Anchors: {anchor}"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(SETS), choices=SETS)
    parser.add_argument("--budgets", nargs="+", type=int, default=list(BUDGETS))
    parser.add_argument(
        "--no-dedupe",
        action="store_true",
        help="skip the dedupe baseline (a figure measured before on the same labels is kept, "
        "with its date as dedupe_date)",
    )
    parser.add_argument(
        "--no-active", action="store_true", help="skip bem label's active learner (`f1`)"
    )
    parser.add_argument(
        "--no-random",
        action="store_true",
        help="skip the random-draw fine-tunes (their figures on the same labels are kept, "
        "with their date as random_date)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    code_hash()
    path = RESULTS / "label_efficiency.json"
    saved = json.loads(path.read_text()) if path.is_file() else {}
    command = "python bench/label_efficiency.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )

    def save(dataset: str, budget: str, point: dict[str, Any]) -> None:
        # written after every point: a stopped run keeps what it measured
        before = saved.get(dataset, {}).get(budget, {})
        # points before labels_hash was kept are matched by their positives
        same = (
            before.get("labels_hash") == point.get("labels_hash")
            if "labels_hash" in before
            else before.get("positives") == point.get("positives")
        )
        if budget != "0" and "dedupe_f1" not in point and "dedupe_f1" in before and same:
            # --no-dedupe: dedupe's figure on the same labels stays, with its date
            point["dedupe_f1"] = before["dedupe_f1"]
            point["dedupe_date"] = before.get("dedupe_date", before["date"])
        saved.setdefault(dataset, {})[budget] = point
        RESULTS.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(saved, indent=2) + "\n", encoding="utf-8")
        (RESULTS / "label_efficiency.md").write_text(markdown(saved), encoding="utf-8")

    run(
        args.datasets,
        args.budgets,
        with_dedupe=not args.no_dedupe,
        with_active=not args.no_active,
        command=command.strip(),
        on_point=save,
        random_from=saved if args.no_random else None,
    )
    print(markdown(saved))
    return 0


if __name__ == "__main__":
    sys.exit(main())
