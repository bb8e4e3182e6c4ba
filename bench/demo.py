"""``bem demo`` timed as a new user runs it, for the README's results table.

Runs the CLI's ``bem demo`` in a fresh output folder (a subprocess, so the
time includes start-up and model loading as the user sees them) and writes
``bench/results/demo.{json,md}``: pairwise F1 against the known truth, total
and training seconds, from the demo's own ``run.json`` and log, and the demo
model's P(match) of two all-empty records against its threshold (the
"no evidence, no merge" probe of ``bench/evidence.py``).

    python bench/demo.py
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def _model_figures(model: Path) -> tuple[float, float, list[dict[str, float]]]:
    """The demo model's P(match) of two all-empty records, its threshold, and the
    per-epoch rows its fine-tune saved (``config.json``'s ``training.history``)."""
    import pandas as pd

    # the repository first and never bench/ itself (bench/blocking.py would shadow blocking/)
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
    sys.path.insert(0, str(ROOT))
    from bench.evidence import p_all_empty
    from data import RecordPairs
    from matcher import Matcher

    matcher = Matcher.from_pretrained(model)
    columns = matcher.attributes_ or []
    table = pd.DataFrame(columns=columns, dtype=object)
    pairs = RecordPairs(table, table, pd.DataFrame(columns=["ltable_id", "rtable_id"]))
    history = [
        {k: round(float(v), 4) for k, v in row.items() if k != "blank_pairs"}
        for row in matcher.train_info_.get("history", [])
    ]
    return round(p_all_empty(matcher, pairs), 4), round(float(matcher.threshold_), 4), history


def _history_lines(history: list[dict[str, float]]) -> list[str]:
    shown = [
        f"{row['epoch']:.0f}: {row['valid_f1']:.3f} ({row['seconds']:.0f} s)"
        for row in history
        if "valid_f1" in row
    ]
    if not shown:
        return []
    return [
        "Validation F1 by epoch, with the epoch's training seconds (its validation not "
        "included; the fine-tune keeps the best epoch): " + ", ".join(shown) + ".",
        "",
    ]


def main() -> int:
    bem = Path(sys.executable).with_name("bem")
    out = Path(tempfile.mkdtemp(prefix="bem-demo-"))
    try:
        start = time.perf_counter()
        proc = subprocess.run(
            [str(bem), "demo", "-o", str(out / "demo")], capture_output=True, text=True, check=True
        )
        seconds = time.perf_counter() - start
        empty, threshold, history = _model_figures(out / "demo" / "model")
    finally:
        shutil.rmtree(out, ignore_errors=True)
    log = proc.stdout + proc.stderr
    # what the user reads: the demo's own lines, without progress bars and log lines
    shown = [line for line in proc.stdout.strip().splitlines() if line.strip()]
    f1 = re.search(r"F1 ([0-9.]+)\s+\(", log)
    trained = re.search(r"trained in ([0-9.]+)s", log)
    if not (f1 and trained):
        print(log, file=sys.stderr)
        raise SystemExit("bem demo's output did not hold its F1 and training time")
    result = {
        "command": "python bench/demo.py",
        "history": history,
        "f1": float(f1.group(1)),
        "seconds": round(seconds, 1),
        "train_seconds": float(trained.group(1)),
        "p_all_empty": empty,
        "threshold": threshold,
        "machine": f"{os.cpu_count()} cores, {platform.machine()}",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "output": shown,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "demo.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    md = [
        "# `bem demo`, timed",
        "",
        f"Command: `{result['command']}` (runs `bem demo` in a fresh folder)  ",
        f"Machine: {result['machine']}; date {result['date']}",
        "",
        f"Pairwise F1 {result['f1']:.3f}; {result['seconds']:.0f} s in all, "
        f"{result['train_seconds']:.0f} s of it training. P(match) of two all-empty "
        f"records {empty:.3f} against the model's threshold {threshold:.3f}.",
        "",
        *_history_lines(result["history"]),
        "```",
        *result["output"],
        "```",
    ]
    (RESULTS / "demo.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
