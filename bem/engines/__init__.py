"""Engines: where the pipeline's blocking, scoring and clustering run.

One pipeline (:mod:`bem.pipeline`), several engines behind one interface,
:class:`Engine`: :class:`LocalEngine` runs the stages in this process and
:class:`SparkEngine` on Apache Spark (``pip install 'bem[spark]'``), with the
same outputs. :func:`make_engine` builds one by name. ``SparkEngine`` is
imported on first use, so that ``import bem.engines`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bem.engines.base import ENGINES, Engine, EngineName, check_block_inputs, make_engine
from bem.engines.local import LocalEngine

if TYPE_CHECKING:
    from bem.engines.spark import SparkEngine

__all__ = [
    "ENGINES",
    "Engine",
    "EngineName",
    "LocalEngine",
    "SparkEngine",
    "check_block_inputs",
    "make_engine",
]


def __getattr__(name: str) -> Any:
    if name == "SparkEngine":
        from bem.engines.spark import SparkEngine

        return SparkEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
