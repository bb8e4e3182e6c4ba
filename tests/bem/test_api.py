"""The public face of the ``bem`` package."""

from __future__ import annotations

import importlib

import bem


def test_every_public_name_resolves():
    for name in bem.__all__:
        assert getattr(bem, name) is not None, name


def test_pipeline_keeps_the_names_the_benchmarks_import():
    pipeline = importlib.import_module("bem.pipeline")
    for name in ("block", "dedup", "link", "resolve_entities", "tune_one_to_one_threshold"):
        assert getattr(pipeline, name) is getattr(bem, name), name
