"""BEM, the application: the ``bem`` command line and the dedup/linkage pipeline.

Library use::

    from bem import dedup, link
    result = dedup(records, matcher)          # block, score, cluster, explain
    result.entities                           # one row per record with its entity id
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

__all__ = [
    "ClusterMetrics",
    "PipelineConfig",
    "PipelineResult",
    "__version__",
    "average_linkage",
    "cluster",
    "connected_components",
    "dedup",
    "evaluate_clusters",
    "link",
    "run_pipeline",
    "tune_one_to_one_threshold",
]

if TYPE_CHECKING:
    from bem.cluster import average_linkage, cluster, connected_components
    from bem.evaluate import ClusterMetrics, evaluate_clusters
    from bem.pipeline import PipelineResult, dedup, link, tune_one_to_one_threshold
    from bem.run import PipelineConfig, run_pipeline

_LAZY = {
    "average_linkage": "bem.cluster",
    "cluster": "bem.cluster",
    "connected_components": "bem.cluster",
    "ClusterMetrics": "bem.evaluate",
    "evaluate_clusters": "bem.evaluate",
    "PipelineResult": "bem.pipeline",
    "dedup": "bem.pipeline",
    "link": "bem.pipeline",
    "tune_one_to_one_threshold": "bem.pipeline",
    "PipelineConfig": "bem.run",
    "run_pipeline": "bem.run",
}


def __getattr__(name: str):
    """Import the public names on first use so ``bem --version`` stays instant."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'bem' has no attribute {name!r}")
