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
    "block",
    "cluster",
    "connected_components",
    "dedup",
    "evaluate_clusters",
    "link",
    "one_to_one",
    "resolve_entities",
    "run_pipeline",
    "score_pairs",
    "select_for_review",
    "tune_one_to_one_threshold",
]

if TYPE_CHECKING:
    from bem.cluster import average_linkage, cluster, connected_components
    from bem.entities import resolve_entities
    from bem.evaluate import ClusterMetrics, evaluate_clusters
    from bem.linkage import one_to_one, tune_one_to_one_threshold
    from bem.pipeline import PipelineResult, block, dedup, link, score_pairs
    from bem.review import select_for_review
    from bem.run import PipelineConfig, run_pipeline

_LAZY = {
    "average_linkage": "bem.cluster",
    "cluster": "bem.cluster",
    "connected_components": "bem.cluster",
    "resolve_entities": "bem.entities",
    "ClusterMetrics": "bem.evaluate",
    "evaluate_clusters": "bem.evaluate",
    "one_to_one": "bem.linkage",
    "tune_one_to_one_threshold": "bem.linkage",
    "PipelineResult": "bem.pipeline",
    "block": "bem.pipeline",
    "dedup": "bem.pipeline",
    "link": "bem.pipeline",
    "score_pairs": "bem.pipeline",
    "select_for_review": "bem.review",
    "PipelineConfig": "bem.run",
    "run_pipeline": "bem.run",
}


def __getattr__(name: str):
    """Import the public names on first use so ``bem --version`` stays instant."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'bem' has no attribute {name!r}")
