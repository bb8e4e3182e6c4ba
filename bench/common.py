"""Trained matchers shared by the benchmarks, cached in ``~/.cache/bem/models``.

Every benchmark that needs a fine-tuned matcher gets it from here, so each
configuration is trained once on this machine and reused:

- :func:`cached_matcher`: load ``CACHE/<name>-<hash of the settings>`` or fit,
  save and return it, with the training info (``train_seconds``...).
- :func:`magellan_matcher`: the benchmark configuration for ``abt_buy``,
  ``amazon_google`` and ``dblp_acm`` (DeepMatcher splits).
- :func:`synthetic_matcher`: a matcher trained on ``data.make_linkage`` pairs.

Train ahead of time (one dataset per CPU-lock slot)::

    flock /tmp/bem-cpu.lock .venv/bin/python bench/common.py abt_buy
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from data import RecordPairs  # noqa: E402
from matcher import Matcher  # noqa: E402

__all__ = [
    "CACHE",
    "DATASETS",
    "MAGELLAN",
    "SYNTHETIC",
    "cache_key",
    "cache_path",
    "cached_matcher",
    "code_hash",
    "data_hash",
    "hash_frames",
    "load_magellan",
    "load_or_build",
    "magellan_cache_path",
    "magellan_matcher",
    "synthetic_cache_path",
    "synthetic_matcher",
    "synthetic_splits",
]

logger = logging.getLogger("bench.common")

CACHE = Path.home() / ".cache" / "bem" / "models"
DATASETS = ROOT.parent / "shared" / "datasets"
INFO = "bench_info.json"

# The benchmark settings per DeepMatcher set, chosen to train in 10-26 minutes on
# 2 CPU cores: the mean-pooled head (the packaged MiniLM is a mean-pooled sentence
# encoder), Ditto's 256 tokens (dynamic padding: a pair costs its own length, and
# TF-IDF summarization keeps the informative tokens of longer Abt-Buy pairs), a
# few epochs at a higher learning rate with warm-up, square-root class weighting,
# per-epoch negative sampling, swap/span-deletion augmentation, the threshold
# tuned on the validation F1 after every epoch.
MAGELLAN: dict[str, dict[str, dict[str, Any]]] = {
    "abt_buy": {
        "config": {"max_length": 256, "summarize": True, "pooling": "mean", "seed": 0},
        "fit": {
            "epochs": 8,
            "learning_rate": 1e-4,
            "batch_size": 32,
            "warmup_ratio": 0.1,
            "class_weight": "sqrt",
            "augment": ["swap", "span_del"],
            "augment_prob": 0.3,
            "negatives_per_positive": 3.0,
            "early_stopping": 3,
            "blank_augment": 0.0,  # frozen recipe: no no-evidence copies
        },
    },
    "amazon_google": {
        "config": {"max_length": 256, "summarize": True, "pooling": "mean", "seed": 0},
        "fit": {
            "epochs": 8,
            "learning_rate": 1e-4,
            "batch_size": 32,
            "warmup_ratio": 0.1,
            "class_weight": "sqrt",
            "augment": ["swap", "span_del"],
            "augment_prob": 0.3,
            "negatives_per_positive": 3.0,
            "early_stopping": 3,
            "blank_augment": 0.0,  # frozen recipe: no no-evidence copies
        },
    },
    "dblp_acm": {
        "config": {"max_length": 256, "summarize": True, "pooling": "mean", "seed": 0},
        "fit": {
            "epochs": 5,
            "learning_rate": 1e-4,
            "batch_size": 32,
            "warmup_ratio": 0.1,
            "class_weight": "sqrt",
            "augment": ["swap"],
            "augment_prob": 0.5,
            "negatives_per_positive": 2.0,
            "early_stopping": 2,
            "blank_augment": 0.0,  # frozen recipe: no no-evidence copies
        },
    },
}

# The demo's recipe (bem/demo.py) on four times the demo's products: the five
# deciding attributes (every planted attribute is one of them) at 80 tokens, the
# mean-pooled head, five epochs over the matches plus two sampled non-matches each.
# With 500 products (the demo's size) the matcher reached validation F1 0.83 and
# still read abbreviations ("blk" for "black") as conflicts.
SYNTHETIC: dict[str, Any] = {
    "make_linkage": {"n_entities": 2000, "seed": 0},
    "config": {
        "max_length": 80,
        "attributes": ["brand", "title", "model", "capacity", "colour"],
        "pooling": "mean",
        "seed": 0,
    },
    "fit": {
        "epochs": 5,
        "learning_rate": 2e-4,
        "batch_size": 32,
        "class_weight": "sqrt",
        "augment": ["swap"],
        "negatives_per_positive": 2.0,
        "early_stopping": 2,
        "blank_augment": 0.0,  # as trained before the no-evidence option existed
    },
}


def hash_frames(*frames: pd.DataFrame) -> str:
    """sha256 of DataFrames' CSV text (index included), in order."""
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(frame.to_csv().encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


def data_hash(*pairs: RecordPairs) -> str:
    """sha256 of labelled pairs and of the records of their tables, in order.

    Two runs that train on the same records and pairs get the same hash; a
    changed value, id, label or split gives another.
    """
    return hash_frames(*(f for p in pairs for f in (p.left, p.right, p.pairs)))


@functools.lru_cache(maxsize=1)
def code_hash() -> str:
    """sha256 of the ``matcher`` and ``data`` package sources (the code a model depends on).

    Computed once per process, so a long run keeps the hash of the code it imported.
    """
    digest = hashlib.sha256()
    for package in ("matcher", "data"):
        for path in sorted((ROOT / package).glob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key(config: dict, fit_kwargs: dict, *, data: str, code: str) -> str:
    """The cache directory suffix: settings, training data and matcher code, hashed."""
    blob = json.dumps(
        {"config": config, "fit": fit_kwargs, "data": data, "code": code},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha1(blob.encode()).hexdigest()[:10]


def cache_path(
    name: str,
    *,
    train: RecordPairs,
    valid: RecordPairs,
    config: dict[str, Any],
    fit_kwargs: dict[str, Any],
) -> Path:
    """Where :func:`cached_matcher` keeps the model of these settings and data."""
    return _cache_dir(name, config, fit_kwargs, data=data_hash(train, valid))


def _cache_dir(name: str, config: dict, fit_kwargs: dict, *, data: str) -> Path:
    return CACHE / f"{name}-{cache_key(config, fit_kwargs, data=data, code=code_hash())}"


def load_or_build(
    path: Path, build: Callable[[], tuple[Matcher, dict[str, Any]]]
) -> tuple[Matcher, dict[str, Any]]:
    """The matcher cached at ``path``, or ``build()``'s, saved there with its info.

    ``build`` returns the fitted matcher and its info (JSON values); the info
    gains ``path`` and is stored as ``bench_info.json``. The model is written to
    a temporary directory first and renamed when complete, so an interrupted run
    leaves no half model.
    """
    info_file = path / INFO
    if info_file.is_file():
        logger.info("loading cached matcher %s", path)
        return Matcher.from_pretrained(path), json.loads(info_file.read_text())
    matcher, info = build()
    info = {"path": str(path), **info}
    tmp = path.with_name(path.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    matcher.save_pretrained(tmp)
    (tmp / INFO).write_text(json.dumps(info, indent=2, default=str))
    if path.exists():
        shutil.rmtree(path)
    tmp.rename(path)
    return matcher, info


def magellan_cache_path(dataset: str, *, fit_overrides: dict[str, Any] | None = None) -> Path:
    """The cache directory of :func:`magellan_matcher`'s model (trained or not)."""
    ds = load_magellan(dataset)
    settings = MAGELLAN[dataset]
    return cache_path(
        dataset,
        train=ds.train,
        valid=ds.valid,
        config=settings["config"],
        fit_kwargs={**settings["fit"], **(fit_overrides or {})},
    )


def synthetic_cache_path(*, fit_overrides: dict[str, Any] | None = None) -> Path:
    """The cache directory of :func:`synthetic_matcher`'s model (trained or not)."""
    train, valid = synthetic_splits()
    return cache_path(
        _synthetic_name(),
        train=train,
        valid=valid,
        config=SYNTHETIC["config"],
        fit_kwargs={**SYNTHETIC["fit"], **(fit_overrides or {})},
    )


def _synthetic_name() -> str:
    gen = SYNTHETIC["make_linkage"]
    return f"synthetic-n{gen['n_entities']}-s{gen['seed']}"


def cached_matcher(
    name: str,
    *,
    train: RecordPairs,
    valid: RecordPairs,
    config: dict[str, Any],
    fit_kwargs: dict[str, Any],
    progress: bool = True,
) -> tuple[Matcher, dict[str, Any]]:
    """The matcher trained with these settings: loaded from the cache or fitted now.

    The directory is ``CACHE/<name>-<key>``, where the key hashes the settings,
    the training and validation data (:func:`data_hash`) and the matcher code
    (:func:`code_hash`): a change to any of them trains a new model. The info
    (``train_seconds``, settings, hashes, validation metrics, history) is stored
    in ``bench_info.json`` inside it. A model is written to a temporary
    directory first and renamed when complete, so an interrupted run leaves no
    half model.
    """
    data = data_hash(train, valid)
    path = _cache_dir(name, config, fit_kwargs, data=data)

    def build() -> tuple[Matcher, dict[str, Any]]:
        logger.info(
            "training %s (%d train / %d valid pairs) -> %s", name, len(train), len(valid), path
        )
        t0 = time.perf_counter()
        matcher = Matcher(**config).fit(train, valid, progress=progress, **fit_kwargs)
        matcher.train_info_["data"] = name
        return matcher, {
            "name": name,
            "train_seconds": round(time.perf_counter() - t0, 1),
            "config": config,
            "fit_kwargs": fit_kwargs,
            "data_sha256": data,
            "code_sha256": code_hash(),
            "threshold": matcher.threshold_,
            "train_pairs": len(train),
            "valid_pairs": len(valid),
            "best_epoch": matcher.train_info_.get("best_epoch"),
            "history": matcher.history_,
            "valid_metrics": matcher.train_info_.get("valid_metrics", {}),
        }

    return load_or_build(path, build)


def load_magellan(dataset: str):
    """The DeepMatcher splits of ``dataset`` from ``../shared/datasets/magellan``."""
    from data import load_deepmatcher

    if dataset not in MAGELLAN:
        raise ValueError(f"unknown dataset {dataset!r}; choose from {sorted(MAGELLAN)}")
    return load_deepmatcher(DATASETS / "magellan" / dataset)


def magellan_matcher(
    dataset: str,
    *,
    progress: bool = True,
    with_info: bool = False,
    fit_overrides: dict[str, Any] | None = None,
) -> Matcher | tuple[Matcher, dict[str, Any]]:
    """The benchmark matcher of a DeepMatcher set (trained on its train split).

    ``fit_overrides`` changes fit settings of the frozen recipe (a variant for a
    before/after comparison, e.g. ``{"blank_augment": 0.1}``); it is part of the
    cache key.
    """
    ds = load_magellan(dataset)
    settings = MAGELLAN[dataset]
    matcher, info = cached_matcher(
        dataset,
        train=ds.train,
        valid=ds.valid,
        config=settings["config"],
        fit_kwargs={**settings["fit"], **(fit_overrides or {})},
        progress=progress,
    )
    return (matcher, info) if with_info else matcher


def synthetic_splits() -> tuple[RecordPairs, RecordPairs]:
    """Train/valid pairs of the fixed synthetic linkage task (80/20, stratified by seed)."""
    import numpy as np

    from data import make_linkage

    syn = make_linkage(**SYNTHETIC["make_linkage"])
    pairs = RecordPairs(syn.left, syn.right, syn.pairs.reset_index(drop=True))
    rng = np.random.default_rng(SYNTHETIC["make_linkage"]["seed"])
    order = rng.permutation(len(pairs))
    cut = int(0.8 * len(order))
    return pairs[np.sort(order[:cut])], pairs[np.sort(order[cut:])]


def synthetic_matcher(
    *, progress: bool = True, fit_overrides: dict[str, Any] | None = None
) -> Matcher:
    """A matcher trained on ``data.make_linkage`` pairs (fixed seed); see
    :func:`magellan_matcher` for ``fit_overrides``."""
    train, valid = synthetic_splits()
    matcher, _ = cached_matcher(
        _synthetic_name(),
        train=train,
        valid=valid,
        config=SYNTHETIC["config"],
        fit_kwargs={**SYNTHETIC["fit"], **(fit_overrides or {})},
        progress=progress,
    )
    return matcher


def main(argv: list[str]) -> None:
    """Train (or load) the named benchmark matchers: dataset names or ``synthetic``."""
    import os

    import torch

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # on a shared, oversubscribed CPU one thread per process is faster than two
    if os.environ.get("BEM_TORCH_THREADS"):
        torch.set_num_threads(int(os.environ["BEM_TORCH_THREADS"]))
    for name in argv or [*MAGELLAN, "synthetic"]:
        t0 = time.perf_counter()
        if name == "synthetic":
            synthetic_matcher()
        else:
            magellan_matcher(name)
        logger.info("%s ready in %.0f s", name, time.perf_counter() - t0)


if __name__ == "__main__":
    main(sys.argv[1:])
