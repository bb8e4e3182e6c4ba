"""The engine interface: where the pipeline's three distributed stages run.

The pipeline (:mod:`bem.pipeline`) is one piece of code; an :class:`Engine`
decides where its heavy stages run, as Splink's ``DatabaseAPI`` separates its
DuckDB and Spark backends from the linkage logic:

- :meth:`Engine.block`: candidate pairs from a fuzzy key, symmetric top-k,
  the columns of :mod:`blocking.base` (``ltable_id, rtable_id, score, blocker``);
- :meth:`Engine.predict`: every candidate pair's decision, in the candidates'
  order: the matcher's cascade first (:attr:`matcher.Matcher.cascade_`, when it
  has an enabled one), the cross-encoder for the rest
  (:func:`matcher.predict_with_cascade`); :meth:`Engine.score` is the
  cross-encoder's probabilities alone;
- :meth:`Engine.cluster`: scored pairs to the entity table of
  :func:`bem.entities.resolve_entities` and, per pair, whether its two records
  ended in the same entity.

Inputs and outputs are pandas at this interface, because the pipeline holds
its tables in pandas: the Spark engine ships them to Spark and brings the
results back. Every engine gives the same output for the same input; the tests
check that the Spark engine's candidates, scores, stages and entities equal
the local engine's. :func:`make_engine` builds one by name (what ``--engine`` takes).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from bem.cluster import ClusterMethod
    from matcher import CascadePrediction, Matcher

__all__ = ["ENGINES", "Engine", "EngineName", "check_block_inputs", "make_engine"]

EngineName = Literal["local", "spark"]
ENGINES: tuple[str, ...] = ("local", "spark")
"""The engine names :func:`make_engine` knows."""


def check_block_inputs(
    left: pd.DataFrame, right: pd.DataFrame | None, key: Sequence[str] | None
) -> list[str]:
    """The blocking key (``key``, else a name-like column), with both tables checked.

    Every engine calls this before any work, so that a table that is empty or
    lacks a key column fails with the same :class:`data.BemError` whatever the
    engine (:func:`bem.inputs.check_table`). A table is named by its
    ``attrs["source"]`` (its file, when read from disk), else ``records`` in
    deduplication and ``left`` / ``right`` in linkage, as the pipeline names them.
    """
    from bem.inputs import check_table, default_key

    tables = [(left, "records" if right is None else "left")]
    if right is not None:
        tables.append((right, "right"))
    for table, name in tables:
        if not isinstance(table, pd.DataFrame):
            raise TypeError(f"the {name} table must be a pandas DataFrame, got {type(table)!r}")
        check_table(table, table.attrs.get("source", name), None)
    chosen = list(key) if key else default_key(left)
    for table, name in tables:
        check_table(table, table.attrs.get("source", name), chosen)
    return chosen


class Engine(ABC):
    """Runs the pipeline's blocking, scoring and clustering stages.

    Subclasses implement :meth:`block`, :meth:`predict` and :meth:`cluster`
    with the signatures below; the pipeline calls nothing else. An engine that
    holds resources (a Spark session) releases them in :meth:`close`; engines
    are context managers.
    """

    name: str = "engine"

    @abstractmethod
    def block(
        self,
        left: pd.DataFrame,
        right: pd.DataFrame | None,
        *,
        key: Sequence[str] | None = None,
        top_k: int = 10,
        blocker_config: Mapping[str, Any] | None = None,
        progress: bool = True,
    ) -> pd.DataFrame:
        """Candidate pairs (``ltable_id, rtable_id, score, blocker``); ``right=None``
        deduplicates ``left``. ``blocker_config``: a blocker stored in the model
        (:func:`blocking.blocker_to_config`, tuned by ``bem train --labels``) to
        block with instead of ``key``/``top_k``.

        Raises:
            BemError: a table is empty or lacks a key column
                (:func:`check_block_inputs`).
        """

    @abstractmethod
    def predict(
        self,
        matcher: Matcher,
        left: pd.DataFrame,
        right: pd.DataFrame,
        candidates: pd.DataFrame,
        *,
        cascade: bool = True,
        threshold: float | None = None,
        chunk_size: int = 4096,
        batch_size: int | None = None,
        progress: bool = True,
    ) -> CascadePrediction:
        """Every candidate pair's probability, decision and deciding stage, in the
        candidates' order (``right`` is ``left`` in deduplication).

        With ``cascade`` and an enabled ``matcher.cascade_``, the cascade decides
        the pairs it is sure about and the cross-encoder the rest at
        ``threshold`` (default: the matcher's), as
        :func:`matcher.predict_with_cascade` does; ``cascade=False`` sends every
        pair to the cross-encoder.
        """

    def score(
        self,
        matcher: Matcher,
        left: pd.DataFrame,
        right: pd.DataFrame,
        candidates: pd.DataFrame,
        *,
        chunk_size: int = 4096,
        batch_size: int | None = None,
        progress: bool = True,
    ) -> np.ndarray:
        """The cross-encoder's P(match) of every candidate pair, in the candidates' order
        (:meth:`predict` without the cascade)."""
        return self.predict(
            matcher,
            left,
            right,
            candidates,
            cascade=False,
            chunk_size=chunk_size,
            batch_size=batch_size,
            progress=progress,
        ).proba

    @abstractmethod
    def cluster(
        self,
        left: pd.DataFrame,
        right: pd.DataFrame | None,
        lids: np.ndarray,
        rids: np.ndarray,
        prob: np.ndarray,
        *,
        threshold: float,
        method: ClusterMethod = "average",
        one_to_one_links: bool = False,
        sources: tuple[str, str] = ("left", "right"),
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """The entity table and, per pair, 1 when its records share an entity;
        see :func:`bem.entities.resolve_entities`."""

    def close(self) -> None:  # noqa: B027 - an optional hook, not an abstract verb
        """Release what the engine holds (nothing by default)."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def make_engine(name: EngineName | Engine = "local", **options: Any) -> Engine:
    """An engine by name: ``"local"`` (:class:`~bem.engines.LocalEngine`) or
    ``"spark"`` (:class:`~bem.engines.SparkEngine`, ``options`` go to its
    constructor: ``spark``, ``master``...). An :class:`Engine` passes through.

    Raises:
        ValueError: an unknown name, or options for the local engine.
        ImportError: ``"spark"`` without pyspark installed.
    """
    if isinstance(name, Engine):
        return name
    if name == "local":
        if options:
            raise ValueError(f"the local engine takes no options, got {sorted(options)}")
        from bem.engines.local import LocalEngine

        return LocalEngine()
    if name == "spark":
        from bem.engines.spark import SparkEngine

        return SparkEngine(**options)
    raise ValueError(f"unknown engine {name!r}; use one of {list(ENGINES)}")
