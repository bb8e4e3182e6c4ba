"""The Spark engine (``pip install 'bem[spark]'``): BEM's pipeline stages on Apache Spark.

Nothing here imports pyspark until it is used: :class:`SparkEngine` raises an
:class:`ImportError` naming the extra when pyspark is missing.
"""

from __future__ import annotations

from bem.engines.spark.blocking import SparkBlocker
from bem.engines.spark.components import connected_components
from bem.engines.spark.engine import SparkEngine
from bem.engines.spark.session import PYSPARK_MISSING, require_pyspark, start_session

__all__ = [
    "PYSPARK_MISSING",
    "SparkBlocker",
    "SparkEngine",
    "connected_components",
    "require_pyspark",
    "start_session",
]
