"""A local-mode Spark session's heap: sized to the machine, not Spark's 1g default."""

from __future__ import annotations

import os

import pytest


def test_the_local_heap_is_a_share_of_the_machine_and_at_least_2g(monkeypatch):
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'bem[spark]')")
    from bem.engines.spark import session

    pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 24 * 2**30 // 4096}
    monkeypatch.setattr(os, "sysconf", lambda name: pages[name])
    monkeypatch.setattr(session, "_CGROUP_LIMITS", ())
    assert session.local_driver_memory() == "9g"  # 40% of 24 GiB, rounded down
    pages["SC_PHYS_PAGES"] = 2 * 2**30 // 4096
    assert session.local_driver_memory() == "2g"  # never below 2g


def test_a_container_limit_and_the_users_own_setting_win(monkeypatch, tmp_path):
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'bem[spark]')")
    from bem.engines.spark import session

    limit = tmp_path / "memory.max"
    limit.write_text(f"{8 * 2**30}\n")
    monkeypatch.setattr(session, "_CGROUP_LIMITS", (str(tmp_path / "absent"), str(limit)))
    assert session.local_driver_memory() == "3g"  # 40% of the container's 8 GiB
    monkeypatch.delenv("SPARK_DRIVER_MEMORY", raising=False)
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", "--driver-memory 5g pyspark-shell")
    assert session._driver_memory_given()
    monkeypatch.delenv("PYSPARK_SUBMIT_ARGS")
    assert not session._driver_memory_given()
    monkeypatch.setenv("SPARK_DRIVER_MEMORY", "6g")
    assert session._driver_memory_given()
