"""Shared fixtures: a tiny random BERT that loads like the real model, in seconds."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# pytest puts tests/ on sys.path for this conftest, where tests/matcher, tests/data ...
# would shadow the real packages as namespace packages: the repository root goes first.
_ROOT = str(Path(__file__).resolve().parents[1])
if sys.path[:1] != [_ROOT]:
    sys.path.insert(0, _ROOT)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with a tiny random BERT (hidden 32, 2 layers) and MiniLM's tokenizer.

    ``Matcher(model=tiny_model_dir)`` loads it as it loads the packaged MiniLM.
    """
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from matcher import default_model_path

    path = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(default_model_path())
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
