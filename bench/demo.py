"""``bem demo`` timed as a new user runs it, for the README's results table.

Runs the CLI's ``bem demo`` in a fresh output folder (a subprocess, so the
time includes start-up and model loading as the user sees them) and writes
``bench/results/demo.{json,md}``: pairwise F1 against the known truth, total
and training seconds, from the demo's own ``run.json`` and log.

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


def main() -> int:
    bem = Path(sys.executable).with_name("bem")
    out = Path(tempfile.mkdtemp(prefix="bem-demo-"))
    try:
        start = time.perf_counter()
        proc = subprocess.run(
            [str(bem), "demo", "-o", str(out / "demo")], capture_output=True, text=True, check=True
        )
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(out, ignore_errors=True)
    log = proc.stdout + proc.stderr
    f1 = re.search(r"F1 ([0-9.]+)\s+\(", log)
    trained = re.search(r"trained in ([0-9.]+)s", log)
    if not (f1 and trained):
        print(log, file=sys.stderr)
        raise SystemExit("bem demo's output did not hold its F1 and training time")
    result = {
        "command": "python bench/demo.py",
        "f1": float(f1.group(1)),
        "seconds": round(seconds, 1),
        "train_seconds": float(trained.group(1)),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "output": log.strip().splitlines(),
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
        f"{result['train_seconds']:.0f} s of it training.",
        "",
        "```",
        *result["output"],
        "```",
    ]
    (RESULTS / "demo.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
