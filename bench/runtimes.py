"""Would another runtime make the model's forward pass faster here? Measured, not assumed.

``bench/matching.py`` finds the optimized scoring path at 56-65% of this
machine's fp32 limit. This script asks whether a compiler or another runtime
gets closer, on the same benchmark matchers and test splits: the pairs are
encoded, length-sorted and collated once (exactly the batches
:meth:`Matcher.predict_proba` builds), and only the forward passes are timed,
in one run, for

- ``eager``: the PyTorch model as ``predict_proba`` runs it (``inference_mode``);
- ``torch.compile``: ``torch.compile(model, dynamic=True)`` (inductor, which
  needs a C++ compiler); its compile time, measured on the first pass, is
  reported apart. Only the first set of a run compiles: later sets reuse the
  graph compiled in the same process (same architecture), and inductor's
  on-disk cache from earlier runs can shorten the first one too;
- ``onnxruntime``: the model exported to ONNX (opset 17, dynamic batch and
  length) and run by ONNX Runtime's CPU provider with all graph optimizations,
  as exported and after ``onnxruntime.transformers``' BERT fusions (attention,
  layer norm, GELU). ONNX Runtime is not a dependency of BEM: install
  ``onnxruntime onnx`` to include it, or it is skipped. Its one-off cost is
  the export, the fusion pass and building both sessions.

Each runtime runs twice and keeps its best time (the first eager pass warms
up); the largest difference of its logits from eager's is reported.

    flock /tmp/bem-cpu.lock .venv/bin/python bench/runtimes.py
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# the repository first and never bench/ itself (bench/blocking.py would shadow blocking/)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench.common import load_magellan, magellan_matcher  # noqa: E402
from bench.matching import cpu_name  # noqa: E402

logger = logging.getLogger("bench.runtimes")
RESULTS = ROOT / "bench" / "results"
DATASETS = ("abt_buy", "dblp_acm")


Batch = dict[str, Any]


def _timed_pass(batches: list[Batch], fn: Callable[[Batch], np.ndarray]) -> tuple[float, Any]:
    import torch

    t0 = time.perf_counter()
    with torch.inference_mode():
        out = np.concatenate([fn(b) for b in batches])
    return time.perf_counter() - t0, out


def _best_of_two(
    batches: list[Batch], fn: Callable[[Batch], np.ndarray]
) -> tuple[float, np.ndarray]:
    s1, out = _timed_pass(batches, fn)
    s2, _ = _timed_pass(batches, fn)
    return min(s1, s2), out


def _onnx_sessions(model: Any, batch: Batch, folder: Path) -> dict[str, Any]:
    """ONNX Runtime sessions for the exported model, as exported and BERT-fused;
    ``batch`` holds exactly the inputs the model takes."""
    import onnxruntime as ort
    import torch
    from onnxruntime.transformers import optimizer

    names = list(batch)

    class Logits(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.inner(**dict(zip(names, inputs))).logits

    exported = folder / "model.onnx"
    axes = {k: {0: "batch", 1: "length"} for k in names}
    torch.onnx.export(
        Logits(model),
        tuple(batch[k] for k in names),
        str(exported),
        input_names=names,
        output_names=["logits"],
        dynamic_axes={**axes, "logits": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    cfg = model.config
    fused = folder / "model_fused.onnx"
    optimizer.optimize_model(
        str(exported),
        model_type="bert",
        num_heads=cfg.num_attention_heads,
        hidden_size=cfg.hidden_size,
    ).save_model_to_file(str(fused))
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return {
        label: ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        for label, path in (("onnxruntime", exported), ("onnxruntime, BERT-fused", fused))
    }


def run_dataset(name: str, *, first_in_run: bool) -> dict[str, Any]:
    import torch

    matcher, info = magellan_matcher(name, with_info=True)
    test = load_magellan(name).test
    encoded = matcher.encode(test)
    order = np.argsort([len(e) for e in encoded], kind="stable")
    size = matcher.batch_size
    batches = [
        matcher.collate([encoded[i] for i in order[s : s + size]])
        for s in range(0, len(order), size)
    ]
    if not matcher.encoder_.uses_token_types:  # as Matcher.logits does
        batches = [{k: v for k, v in b.items() if k != "token_type_ids"} for b in batches]
    model = matcher.model_.eval()
    rows: dict[str, dict[str, Any]] = {}

    def eager(b: Batch) -> np.ndarray:
        return model(**b).logits[:, 0].float().numpy()

    _timed_pass(batches, eager)  # warm-up
    s_eager, ref = _best_of_two(batches, eager)
    rows["eager"] = {"seconds": s_eager}

    compiled = torch.compile(model, dynamic=True)
    first, _ = _timed_pass(batches, lambda b: compiled(**b).logits[:, 0].float().numpy())
    s, out = _best_of_two(batches, lambda b: compiled(**b).logits[:, 0].float().numpy())
    rows["torch.compile"] = {
        "seconds": s,
        "compile_seconds": first - s,
        "compiled_in_this_run_before": not first_in_run,
        "max_abs_logit_diff": float(np.abs(out - ref).max()),
    }
    if importlib.util.find_spec("onnxruntime") and importlib.util.find_spec("onnx"):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            sessions = _onnx_sessions(model, batches[len(batches) // 2], Path(tmp))
            export_seconds = time.perf_counter() - t0
            for label, session in sessions.items():

                def run(b: Batch, session: Any = session) -> np.ndarray:
                    return session.run(None, {k: v.numpy() for k, v in b.items()})[0][:, 0]

                _timed_pass(batches, run)
                s, out = _best_of_two(batches, run)
                rows[label] = {
                    "seconds": s,
                    # export, fusion and both sessions, once for the two rows
                    "export_seconds": export_seconds,
                    "max_abs_logit_diff": float(np.abs(out - ref).max()),
                }
    else:
        rows["onnxruntime"] = {"skipped": "onnxruntime and onnx are not installed"}
    for r in rows.values():
        if "seconds" in r:
            r["pairs_per_second"] = len(test) / r["seconds"]
            r["vs_eager"] = s_eager / r["seconds"]
    lengths = np.array([len(e) for e in encoded])
    return {
        "matcher": Path(info["path"]).name,
        "test_pairs": len(test),
        "mean_tokens": float(lengths.mean()),
        "batch_size": size,
        "runtimes": rows,
    }


def markdown(results: dict[str, Any], meta: dict[str, str]) -> str:
    lines = [
        "# Forward-pass runtimes on this CPU",
        "",
        "Produced by `bench/runtimes.py` (see its docstring): the benchmark matchers'",
        "forward passes over their test splits, in the length-sorted, dynamically",
        "padded batches of `Matcher.predict_proba`; encoding is not timed. A set",
        "marked * reused the graph compiled for an earlier set of the same run; the",
        "ONNX Runtime cost is the export, the fusion pass and both sessions, once.",
        "",
        f"- command: `{meta['command']}`",
        f"- machine: {meta['machine']}",
        f"- date: {meta['date']}",
        "",
        "| set | pairs | mean tokens | runtime | pairs/s | vs eager | one-off cost "
        "| max logit diff |",
        "|---|---:|---:|---|---:|---:|---|---:|",
    ]
    for name, block in results.items():
        for label, r in block["runtimes"].items():
            head = f"| {name} | {block['test_pairs']} | {block['mean_tokens']:.0f} | {label} |"
            if "skipped" in r:
                lines.append(f"{head} skipped: {r['skipped']} | | | |")
                continue
            reused = "*" if r.get("compiled_in_this_run_before") else ""
            cost = (
                f"compile {r['compile_seconds']:.0f} s{reused}"
                if "compile_seconds" in r
                else f"export {r['export_seconds']:.0f} s"
                if "export_seconds" in r
                else ""
            )
            diff = f"{r['max_abs_logit_diff']:.1e}" if "max_abs_logit_diff" in r else ""
            lines.append(
                f"{head} {r['pairs_per_second']:.1f} | {r['vs_eager']:.2f}x | {cost} | {diff} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--render", action="store_true", help="only rewrite runtimes.md from runtimes.json"
    )
    args = parser.parse_args(argv)
    if args.render:
        raw = json.loads((args.out / "runtimes.json").read_text(encoding="utf-8"))
        (args.out / "runtimes.md").write_text(
            markdown(raw["datasets"], raw["meta"]), encoding="utf-8"
        )
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    import torch
    import transformers

    meta = {
        "command": (
            "flock /tmp/bem-cpu.lock .venv/bin/python bench/runtimes.py "
            + " ".join(argv if argv is not None else sys.argv[1:])
        ).strip(),
        "machine": f"{cpu_name()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"transformers {transformers.__version__}"
        + (
            f", onnxruntime {__import__('onnxruntime').__version__}"
            if importlib.util.find_spec("onnxruntime")
            else ""
        ),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    results = {name: run_dataset(name, first_in_run=i == 0) for i, name in enumerate(args.datasets)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "runtimes.json").write_text(
        json.dumps({"meta": meta, "datasets": results}, indent=2), encoding="utf-8"
    )
    text = markdown(results, meta)
    (args.out / "runtimes.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
