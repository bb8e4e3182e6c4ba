"""``bem demo``: the whole system on built-in synthetic products.

Generates a training catalog and a separate held-out catalog (different seeds,
so no entity is shared), fine-tunes the matcher on the training pairs, links the
held-out tables end to end with the pipeline (block, score, cluster, explain),
and scores the resulting entities against the known truth. Each source holds an
entity at most once, so the link is one-to-one, with its threshold tuned on the
validation pairs for that decision.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bem.evaluate import ClusterMetrics, evaluate_clusters

__all__ = ["DemoResult", "run_demo"]

logger = logging.getLogger(__name__)

DEMO_TRAIN_ENTITIES = 400
DEMO_TEST_ENTITIES = 300
DEMO_EPOCHS = 6
DEMO_TRAIN_MINUTES = 4.0
"""The fine-tune's time budget (``Matcher.fit(max_minutes=...)``): the demo promises
under 5 minutes, and machines of the same kind differ by up to 2x in speed. Where
the 6 epochs do not fit, fit plans fewer after the first (its learning-rate
schedule follows) and the demo says how many ran; the cascade decides most of the
held-out candidates either way."""
DEMO_MAX_LENGTH = 80
DEMO_LEARNING_RATE = 2e-4
# Every serialized attribute costs about 7 structure tokens per pair (COL name VAL on
# both sides) before any value token. The deciding attributes of the synthetic data
# are these five; category, price and the free-text description only repeat them, and
# with all eight the value tokens of a short pair get squeezed to one or two per value.
DEMO_ATTRIBUTES = ("brand", "title", "model", "capacity", "colour")


@dataclass(frozen=True)
class DemoResult:
    """Where the demo wrote its outputs and how well it did."""

    output: Path
    metrics: ClusterMetrics
    seconds: float
    train_seconds: float


def _write_tables(out: Path, left: pd.DataFrame, right: pd.DataFrame, matches: pd.DataFrame):
    out.mkdir(parents=True, exist_ok=True)
    paths = {"left": out / "left.csv", "right": out / "right.csv", "labels": out / "labels.csv"}
    left.to_csv(paths["left"], index=True, index_label="id")
    right.to_csv(paths["right"], index=True, index_label="id")
    matches[["ltable_id", "rtable_id"]].assign(label=1).to_csv(paths["labels"], index=False)
    return paths


def run_demo(
    out: Path,
    *,
    n_entities: int | None = None,
    epochs: int | None = None,
    max_minutes: float | None = DEMO_TRAIN_MINUTES,
    model: str | None = None,
    seed: int = 0,
    progress: bool = True,
    echo: Callable[[str], None] = logger.info,
) -> DemoResult:
    """Train on synthetic products, link a held-out set, report against the truth.

    ``echo`` receives the progress lines (the CLI passes ``print``).
    ``max_minutes`` bounds the fine-tune (:data:`DEMO_TRAIN_MINUTES`; ``None``:
    all ``epochs`` whatever they take).
    """
    from bem.run import PipelineConfig, run_pipeline
    from bem.training import split_train_valid, tune_link_threshold
    from data import RecordPairs, make_linkage
    from matcher import Matcher

    started = time.perf_counter()
    epochs = epochs or DEMO_EPOCHS
    out = Path(out).resolve()
    n_train = n_entities or DEMO_TRAIN_ENTITIES
    n_test = max(50, round(n_train * DEMO_TEST_ENTITIES / DEMO_TRAIN_ENTITIES))
    echo(f"[1/4] generating synthetic products: {n_train} training and {n_test} held-out entities")
    train_set = make_linkage(n_entities=n_train, seed=seed)
    test_set = make_linkage(n_entities=n_test, seed=seed + 1_000_003)
    labelled = RecordPairs(train_set.left, train_set.right, train_set.pairs)
    # all candidates of a left record stay in one part, so the validation part can
    # tune the threshold of the one-to-one linkage below
    train, valid = split_train_valid(labelled, seed=seed, group="ltable_id")

    echo(f"[2/4] fine-tuning the matcher on {len(train)} pairs ({len(valid)} for validation)")
    t0 = time.perf_counter()
    matcher = Matcher(
        model, max_length=DEMO_MAX_LENGTH, attributes=list(DEMO_ATTRIBUTES), seed=seed
    )
    matcher.fit(
        train,
        valid,
        epochs=epochs,
        learning_rate=DEMO_LEARNING_RATE,
        augment=["swap"],
        # each epoch: every match plus a fresh random sample of two non-matches per match
        negatives_per_positive=2.0,
        max_minutes=max_minutes,
        progress=progress,
    )
    train_seconds = time.perf_counter() - t0
    link_threshold, link_f1 = tune_link_threshold(matcher, valid)  # saved with the model
    model_dir = out / "model"
    matcher.save_pretrained(model_dir, overwrite=True)
    info = matcher.train_info_
    ran = f"{info['epochs_run']} of {epochs} epochs"
    if info.get("stopped_by") == "time_budget":
        ran += f", all that fit the {max_minutes:g}-minute budget on this machine"
    echo(
        f"      trained in {train_seconds:.0f}s ({ran}); threshold {matcher.threshold_:.3f} "
        f"for single pairs, {link_threshold:.3f} for one-to-one linkage "
        f"(validation F1 {link_f1:.3f})"
    )

    echo(
        f"[3/4] linking the held-out tables ({len(test_set.left)} x {len(test_set.right)} records)"
    )
    paths = _write_tables(out / "data", test_set.left, test_set.right, test_set.matches)
    config = PipelineConfig(
        mode="link",
        inputs=(str(paths["left"]), str(paths["right"])),
        model=str(model_dir),
        output=str(out),
        key=("title",),
        top_k=5,
        one_to_one=True,  # each synthetic source holds every entity at most once
        threshold=link_threshold,
        labels=str(paths["labels"]),
        seed=seed,
    )
    result = run_pipeline(config, progress=progress)
    sources = (paths["left"].stem, paths["right"].stem)
    metrics = evaluate_clusters(
        result.entities, test_set.matches, left_source=sources[0], right_source=sources[1]
    )
    seconds = time.perf_counter() - started
    echo("[4/4] results against the known truth (pairwise, over the final entities):")
    echo(
        f"      precision {metrics.precision:.3f}  recall {metrics.recall:.3f}  "
        f"F1 {metrics.f1:.3f}  ({metrics.tp} true merges, {metrics.fp} false, "
        f"{metrics.fn} missed)"
    )
    counts = result.counts
    echo(
        f"      {counts['candidates']} candidate pairs: {counts['decided_by_cascade']} decided by "
        f"the cascade (similarity features), {counts['decided_by_cross_encoder']} by the "
        f"cross-encoder; total {seconds:.0f}s"
    )
    echo(f"outputs in {out}/:")
    for name in ("report.html", "entities.csv", "pairs.csv", "explanations.jsonl", "run.json"):
        echo(f"      {out / name}")
    echo(f"      {model_dir}  (the trained model; reuse it with bem dedup/link --model)")
    return DemoResult(output=out, metrics=metrics, seconds=seconds, train_seconds=train_seconds)
