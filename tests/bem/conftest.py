"""Fixtures of the ``bem`` tests: an untrained tiny matcher that can score and explain."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_matcher(tiny_model_dir):
    """A :class:`matcher.Matcher` on the tiny random BERT (threshold 0.5, untrained)."""
    from matcher import Matcher

    return Matcher(model=tiny_model_dir, max_length=48, batch_size=16)
