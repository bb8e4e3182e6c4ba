"""Reproducible pipeline runs: a config in, the outputs and ``run.json`` out.

``run.json`` holds the configuration, library versions, counts, timings, the
files written and (schema 2) the sha256 of every input, label and model file
(:mod:`bem.provenance`); :func:`check_run` reads it back for ``bem run`` and
stops when one of those files changed since, unless forced.
"""

from __future__ import annotations

import json
import logging
import platform
import resource
import sys
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from bem.outputs import write_outputs
from bem.pipeline import PipelineResult, dedup, link
from bem.provenance import file_hashes, model_hashes, verify_hashes
from data import BemError

__all__ = [
    "LABEL_FREE_MODEL_DIR",
    "PipelineConfig",
    "check_run",
    "input_record",
    "load_input",
    "load_inputs",
    "load_run",
    "run_pipeline",
    "versions",
    "write_outputs",
]

logger = logging.getLogger(__name__)

RUN_SCHEMA_VERSION = 2  # 2: adds "hashes" (schema 1 files still run, with a warning)


@dataclass(frozen=True)
class PipelineConfig:
    """Everything that defines a pipeline run; what ``run.json`` stores.

    ``inputs`` holds one table (``mode="dedup"``) or two (``mode="link"``);
    ``rename`` maps model attribute -> table column (``--rename``).
    ``id_column=None`` reads ids from a column ``id`` when the table has one
    and numbers the records by line otherwise (:func:`load_input`).
    ``model=None`` trains a label-free model on the inputs first and saves it
    to ``<output>/model`` (:func:`bem.labelfree.fit_label_free`); ``run.json``
    then names that directory, so ``bem run`` reuses it; ``base_model`` is the
    encoder it starts from (default: the packaged MiniLM). ``engine`` is where
    blocking, scoring and clustering run (:mod:`bem.engines`); ``spark_master``
    the master URL of the Spark session the run starts (only with
    ``engine="spark"``; ``None`` is ``local[*]``). ``cascade=False`` sends every
    pair to the cross-encoder, even when the model has a cascade (``--no-cascade``).
    """

    mode: Literal["dedup", "link"]
    inputs: tuple[str, ...]
    model: str | None
    output: str
    id_column: str | None = None
    key: tuple[str, ...] | None = None
    top_k: int = 10
    threshold: float | None = None
    clustering: Literal["average", "components"] = "average"
    one_to_one: bool = False
    explain_method: str | None = "occlusion"
    review: dict[str, int] = field(
        default_factory=lambda: {"lowest_merges": 10, "strongest_rejections": 10, "sample": 10}
    )
    labels: str | None = None
    rename: dict[str, str] | None = None
    chunk_size: int = 4096
    batch_size: int | None = None
    seed: int = 0
    output_format: Literal["csv", "parquet"] = "csv"
    base_model: str | None = None
    engine: Literal["local", "spark"] = "local"
    spark_master: str | None = None
    cascade: bool = True

    def __post_init__(self) -> None:
        if self.engine not in ("local", "spark"):
            raise BemError(f"engine must be 'local' or 'spark', got {self.engine!r}")
        if self.spark_master is not None and self.engine != "spark":
            raise BemError(
                f"a Spark master URL ({self.spark_master}) applies to the Spark engine only; "
                "add --engine spark, or drop --spark-master"
            )
        if self.output_format not in ("csv", "parquet"):
            raise BemError(f"output_format must be 'csv' or 'parquet', got {self.output_format!r}")
        if self.mode not in ("dedup", "link"):
            raise BemError(f"mode must be 'dedup' or 'link', got {self.mode!r}")
        want = 1 if self.mode == "dedup" else 2
        if len(self.inputs) != want:
            raise BemError(f"{self.mode} needs {want} input table(s), got {len(self.inputs)}")
        if self.threshold is not None and not 0.0 <= self.threshold <= 1.0:
            raise BemError(f"threshold must be between 0 and 1, got {self.threshold}")
        if self.top_k < 1:
            raise BemError(f"top_k must be at least 1, got {self.top_k}")
        if self.one_to_one and self.mode != "link":
            raise BemError("one_to_one applies to linkage only (bem link --one-to-one)")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["inputs"] = list(self.inputs)
        out["key"] = list(self.key) if self.key else None
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, source: str = "<config>") -> PipelineConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise BemError(
                f"{source}: unknown config key(s) {unknown}; known keys: {sorted(known)}"
            )
        raw = dict(raw)
        raw["inputs"] = tuple(raw.get("inputs", ()))
        if raw.get("key"):
            raw["key"] = tuple(raw["key"])
        try:
            return cls(**raw)
        except TypeError as exc:
            raise BemError(f"{source}: {exc}") from None


def versions() -> dict[str, str]:
    """Versions of BEM, Python and the libraries that shape results."""
    import importlib.metadata as md

    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for dist in ("bem", "torch", "transformers", "pandas", "numpy", "rapidfuzz", "captum"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _load_matcher(model: str):
    from matcher import Matcher

    path = Path(model)
    if path.exists() and not (path / "config.json").is_file():
        raise BemError(
            f"{model}: not a BEM model directory (no config.json); "
            "train one with `bem train ... -o DIR` and pass that DIR"
        )
    try:
        return Matcher.from_pretrained(model)
    except BemError:
        raise
    except (OSError, ValueError, KeyError) as exc:
        raise BemError(f"{model}: cannot load a BEM model from it ({exc})") from None


LABEL_FREE_MODEL_DIR = "model"
"""Where, inside the output folder, a run without a model saves its label-free model."""


def load_input(path: str | Path, id_column: str | None = None):
    """A record table from CSV or Parquet, as the CLI reads it.

    ``id_column=None``: the column ``id`` when there is one, else line numbers
    as ids (said in a warning; :func:`data.load_table` with ``line_ids=True``).
    A named ``id_column`` must exist. Messages name the ``--id-column`` flag.
    """
    from data import load_table

    option = "--id-column NAME"
    if id_column is None:
        return load_table(path, id_column="id", line_ids=True, id_option=option)
    return load_table(path, id_column=id_column, id_option=option)


def load_inputs(paths, id_column: str | None, key) -> tuple[Any, Any, list[str]]:
    """One table (dedup) or two (link) read by :func:`load_input` and checked
    against the blocking ``key`` (default: :func:`bem.inputs.default_key` of the
    first); returns ``(left, right or None, key)``."""
    from bem.inputs import check_table, default_key

    tables = [load_input(p, id_column) for p in paths]
    key = list(key) if key else default_key(tables[0])
    for name, table in zip(paths, tables):
        check_table(table, str(name), key)
    return tables[0], tables[1] if len(tables) == 2 else None, key


def _label_free_matcher(config: PipelineConfig, tables: list[Any], *, progress: bool):
    """Train and save the label-free model of a run without ``--model``."""
    from bem.labelfree import fit_label_free

    path = Path(config.output) / LABEL_FREE_MODEL_DIR
    logger.warning(
        "no --model given: training a label-free model on the input table(s) (no labels; "
        "self-supervised pairs, threshold placed so that 90%% of held-out ones pass); it is "
        "saved to %s. "
        "Label pairs (bem label) and train a model (bem train) for better matches.",
        path,
    )
    t0 = time.perf_counter()
    matcher = fit_label_free(
        tables[0],
        tables[1] if len(tables) > 1 else None,
        model=config.base_model,
        key=config.key,
        seed=config.seed,
        progress=progress,
    )
    matcher.save_pretrained(path, overwrite=True)
    seconds = time.perf_counter() - t0
    info = {
        "label_free": True,
        "model": str(path),
        "seconds": round(seconds, 1),
        "threshold": matcher.threshold_,
        "data": matcher.train_info_.get("data"),
    }
    return matcher, info


def input_record(config: PipelineConfig) -> dict[str, Any]:
    """The sha256 of the run's inputs, label file and model files (``run.json``'s
    ``hashes``; see :mod:`bem.provenance`)."""
    return {
        "inputs": file_hashes(config.inputs),
        "labels": file_hashes([config.labels]) if config.labels else {},
        "model": model_hashes(config.model),
    }


def _engine(config: PipelineConfig):
    """The run's engine (closed by the caller; a Spark session starts on first use,
    so an engine not used yet holds nothing); a missing pyspark is a one-line error."""
    from bem.engines import make_engine

    options = {"master": config.spark_master or "local[*]"} if config.engine == "spark" else {}
    try:
        return make_engine(config.engine, **options)
    except ImportError as exc:
        raise BemError(f"--engine {config.engine}: {exc}") from None


def run_pipeline(config: PipelineConfig, *, progress: bool = True) -> PipelineResult:
    """Load the inputs and the model named in ``config`` (or train a label-free one
    when it names none), run, write the outputs."""
    from data import read_csv_strings

    started = time.perf_counter()
    t0 = time.perf_counter()
    for path in (*config.inputs, *([config.labels] if config.labels else [])):
        if not Path(path).is_file():  # before hashing: the same error load_table gives
            raise BemError(f"{path}: file not found; check the path (working dir: {Path.cwd()})")
    runner = _engine(config)  # first: a missing pyspark fails before any work
    tables = [load_input(p, config.id_column) for p in config.inputs]
    # checked by the pipeline, which joins them on the pair (unordered in dedup)
    labels = read_csv_strings(config.labels) if config.labels else None
    trained = None
    if config.model is None:
        load_seconds = time.perf_counter() - t0
        matcher, trained = _label_free_matcher(config, tables, progress=progress)
        config = replace(config, model=trained["model"])
        t0 = time.perf_counter()
    else:
        load_seconds = 0.0
    if trained is None:
        matcher = _load_matcher(config.model)
    hashes = input_record(config)
    load_seconds += time.perf_counter() - t0
    common = dict(
        key=config.key,
        top_k=config.top_k,
        threshold=config.threshold,
        clustering=config.clustering,
        explain_method=config.explain_method,
        review=config.review,
        labels=labels,
        rename=config.rename,
        chunk_size=config.chunk_size,
        batch_size=config.batch_size,
        seed=config.seed,
        progress=progress,
        cascade=config.cascade,
    )
    with runner as engine:
        if config.mode == "dedup":
            source = Path(config.inputs[0]).stem
            result = dedup(tables[0], matcher, source=source, engine=engine, **common)
        else:
            sources = (Path(config.inputs[0]).stem, Path(config.inputs[1]).stem)
            if sources[0] == sources[1]:
                sources = ("left", "right")
            result = link(
                tables[0],
                tables[1],
                matcher,
                one_to_one=config.one_to_one,
                sources=sources,
                engine=engine,
                **common,
            )
    result.timings = {
        "load": load_seconds,
        **({"train_label_free": trained["seconds"]} if trained else {}),
        **result.timings,
    }
    t0 = time.perf_counter()
    written = write_outputs(result, config, Path(config.output))
    result.timings["write"] = time.perf_counter() - t0
    result.timings["total"] = time.perf_counter() - started
    outputs = sorted(p.name for p in written.values())
    run_json = _write_run_json(result, config, outputs, hashes, trained)
    result.outputs = tuple(sorted([*(p.name for p in written.values()), run_json.name]))
    return result


def _write_run_json(
    result: PipelineResult,
    config: PipelineConfig,
    outputs: list[str],
    hashes: dict[str, Any],
    trained: dict[str, Any] | None,
) -> Path:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    payload = {
        "schema_version": RUN_SCHEMA_VERSION,
        "config": config.to_dict(),
        "versions": versions(),
        "threshold_used": result.threshold,
        "blocking": result.blocking,
        "counts": result.counts,
        "timings_seconds": {k: round(v, 3) for k, v in result.timings.items()},
        "peak_memory_mb": round(peak / 1024, 1),
        "outputs": outputs,  # this run's files besides run.json
        "hashes": hashes,
        # a run without --model: the label-free model it trained (config.model names it)
        "trained_model": trained,
    }
    path = Path(config.output) / "run.json"
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return path


def _read_run(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BemError(f"{path}: no such file; pass the run.json a pipeline run wrote") from None
    except json.JSONDecodeError as exc:
        raise BemError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(raw, dict) or "config" not in raw:
        raise BemError(f"{path}: has no 'config' object; is it a run.json written by bem?")
    return raw


def load_run(path: str | Path) -> PipelineConfig:
    """The configuration stored in a ``run.json``."""
    path = Path(path)
    return PipelineConfig.from_dict(_read_run(path)["config"], source=str(path))


def check_run(path: str | Path, *, force: bool = False) -> PipelineConfig:
    """The configuration stored in a ``run.json``, once its recorded inputs check out.

    Recomputes the sha256 of the inputs, the label file and the model files the
    run recorded (:func:`bem.provenance.verify_hashes`). A ``run.json`` without
    hashes (schema 1) passes with a warning.

    Raises:
        BemError: a recorded file changed or disappeared and ``force`` is false.
    """
    path = Path(path)
    raw = _read_run(path)
    config = PipelineConfig.from_dict(raw["config"], source=str(path))
    verify_hashes(raw.get("hashes"), source=str(path), force=force)
    return config
