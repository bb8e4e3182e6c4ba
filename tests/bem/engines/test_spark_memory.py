"""A local-mode Spark session's heap: sized to the machine, not Spark's 1g default."""

from __future__ import annotations

import os

import pytest


def test_the_local_heap_is_a_share_of_the_machine_and_at_least_2g(monkeypatch):
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'bem[spark]')")
    from bem.engines.spark import session

    pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 24 * 2**30 // 4096}
    monkeypatch.setattr(os, "sysconf", lambda name: pages[name])
    assert session.local_driver_memory() == "9g"  # 40% of 24 GiB, rounded down
    pages["SC_PHYS_PAGES"] = 2 * 2**30 // 4096
    assert session.local_driver_memory() == "2g"  # never below 2g
