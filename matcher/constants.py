"""Names and constants every matcher module shares (no imports, so no cycles).

The modules of :mod:`matcher` depend on each other in one direction::

    constants, serializer, metrics, schema, evidence   (no matcher imports but these)
    encoding -> serializer;  augmentation -> evidence;  backbone (base transformer)
    config, heads -> constants
    persistence -> config, heads, encoding, backbone
    training -> augmentation, encoding, metrics, schema
    scoring -> backbone, encoding, metrics, schema
    model -> all of the above

so :mod:`matcher.model` (the :class:`~matcher.Matcher`) is the only module
that knows the others, and nothing below it imports it.
"""

from __future__ import annotations

__all__ = ["INT8_KEEP_FLOAT", "MODEL_TYPE", "POOLINGS", "__version__"]

__version__ = "0.1.0"

MODEL_TYPE = "bem-matcher"
"""``model_type`` of a trained matcher's ``config.json``."""

POOLINGS: tuple[str, ...] = ("mean", "cls")
"""What the match head reads (:mod:`matcher.heads`)."""

INT8_KEEP_FLOAT: tuple[str, ...] = ("output.dense",)
"""Linear layers ``quantize`` leaves in fp32, by name suffix: in BERT-family models
the attention and feed-forward output projections, whose inputs carry the
outlier activations that make per-tensor int8 cost F1 (on Abt-Buy, -2.5 F1
points with every linear layer in int8, +0.3 with these two kept; see
bench/results/matching.md). Models without such layers get every linear layer
in int8."""
