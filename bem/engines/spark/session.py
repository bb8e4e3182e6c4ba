"""Spark sessions and record tables for the Spark engine.

pyspark is an optional extra: it is imported only inside these functions, and
:func:`require_pyspark` turns its absence into an :class:`ImportError` that
says what to install. :func:`start_session` builds a session with settings
that suit BEM's jobs (no web UI, Arrow transfers, few shuffle partitions in
local mode, the Python workers on this interpreter). :func:`records_frame`
ships a pandas table to Spark as text, the way the local code reads it.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "PYSPARK_MISSING",
    "lineage_cut",
    "records_frame",
    "require_pyspark",
    "start_session",
    "text_values",
]

logger = logging.getLogger(__name__)

PYSPARK_MISSING = "the Spark engine needs pyspark: pip install 'bem[spark]'"

_LOCAL = re.compile(r"local(?:\[(\d+|\*)(?:,\d+)?\])?$")


def require_pyspark() -> Any:
    """The ``pyspark`` module.

    Raises:
        ImportError: pyspark is not installed (the message says how to install it).
    """
    try:
        import pyspark
    except ImportError as exc:
        raise ImportError(PYSPARK_MISSING) from exc
    return pyspark


def _local_cores(master: str) -> int | None:
    """Cores of a ``local``/``local[N]``/``local[*]`` master; ``None`` for a cluster."""
    match = _LOCAL.match(master)
    if match is None:
        return None
    n = match.group(1)
    return 1 if n is None else (os.cpu_count() or 1) if n == "*" else int(n)


LOCAL_MEMORY_SHARE = 0.4
"""The share of this machine's memory a local-mode session's JVM heap may grow to."""


_CGROUP_LIMITS = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")


def _memory_limit() -> int | None:
    """Bytes this process may use: the machine's memory, or its container's limit if lower."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not a POSIX system
        return None
    for path in _CGROUP_LIMITS:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total


def local_driver_memory() -> str:
    """``spark.driver.memory`` for a local-mode session: :data:`LOCAL_MEMORY_SHARE` of the
    memory this process may use (the machine's, or a container's limit), at least 2g;
    the JVM takes only what it uses."""
    total = _memory_limit()
    if total is None:
        return "2g"
    return f"{max(2, int(LOCAL_MEMORY_SHARE * total / 2**30))}g"


def _driver_memory_given() -> bool:
    """Whether the user already sized the driver (``SPARK_DRIVER_MEMORY`` or
    ``--driver-memory`` in ``PYSPARK_SUBMIT_ARGS``); BEM's default then stays out."""
    return bool(os.environ.get("SPARK_DRIVER_MEMORY")) or "--driver-memory" in os.environ.get(
        "PYSPARK_SUBMIT_ARGS", ""
    )


def start_session(
    master: str = "local[*]",
    *,
    app_name: str = "bem",
    config: Mapping[str, str] | None = None,
) -> SparkSession:
    """A Spark session on ``master`` (``getOrCreate``: an active session is reused).

    Defaults, each overridden by ``config``: no web UI; Arrow for pandas
    transfers; in local mode a heap of :func:`local_driver_memory` (the tasks run in
    the driver's JVM), ``2 x cores`` shuffle partitions (Spark's 200 make small
    jobs slow) and the driver bound to 127.0.0.1. The Python workers run
    this interpreter unless ``PYSPARK_PYTHON`` is set (it is set to
    ``sys.executable`` when missing, so that they import the same packages).
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    settings = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.python.worker.reuse": "true",
    }
    cores = _local_cores(master)
    if cores is not None:
        # in local mode the tasks run inside the driver's JVM: Spark's 1g default heap ran
        # out (java.lang.OutOfMemoryError) blocking 10^5 records
        if not _driver_memory_given():
            settings["spark.driver.memory"] = local_driver_memory()
        settings["spark.sql.shuffle.partitions"] = str(max(2, 2 * cores))
        settings["spark.default.parallelism"] = str(max(1, cores))
        settings["spark.driver.bindAddress"] = "127.0.0.1"
        settings["spark.driver.host"] = "127.0.0.1"
    settings.update(config or {})
    builder = SparkSession.builder.master(master).appName(app_name)
    for name, value in settings.items():
        builder = builder.config(name, value)
    spark = builder.getOrCreate()
    logger.info("Spark %s session on %s", spark.version, spark.sparkContext.master)
    return spark


def text_values(column: pd.Series) -> list[str | None]:
    """A column's values as the local code reads them: ``str(value)``, ``None`` if missing."""
    present = column.notna().to_numpy()
    return [str(v) if ok else None for v, ok in zip(column.astype(object), present)]


def records_frame(
    spark: SparkSession,
    table: pd.DataFrame,
    columns: Sequence[str],
    *,
    offset: int = 0,
) -> DataFrame:
    """``table`` as a Spark DataFrame ``g, id, c0, c1, ...``.

    ``g`` is the record's position plus ``offset`` (the right table of a linkage
    follows the left one, as in the local engine's node numbering), ``id`` its
    id as a string and ``c<i>`` the text of ``columns[i]`` (see
    :func:`text_values`): every value crosses to Spark as the text the local
    blocker and matcher would read, so numbers and missing values behave alike.
    """
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    data: dict[str, Any] = {
        "g": np.arange(offset, offset + len(table), dtype=np.int64),
        "id": table.index.astype(str).to_numpy(dtype=object),
    }
    fields = [StructField("g", LongType(), False), StructField("id", StringType(), False)]
    for i, name in enumerate(columns):
        data[f"c{i}"] = text_values(table[name])
        fields.append(StructField(f"c{i}", StringType(), True))
    return spark.createDataFrame(pd.DataFrame(data), schema=StructType(fields))


def lineage_cut(frame: DataFrame) -> DataFrame:
    """``frame`` materialised with its lineage cut: a reliable checkpoint when the
    session has a checkpoint directory, else a local one (kept by the executors)."""
    if frame.sparkSession.sparkContext.getCheckpointDir():
        return frame.checkpoint(eager=True)
    return frame.localCheckpoint(eager=True)
