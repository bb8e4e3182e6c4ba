"""What a run read, by content: the sha256 of its input files and model files.

``run.json`` records, under ``hashes``, the sha256 of every input table, of the
label file and of every file of the model directory (or, for a model that is
not a local directory, such as a Hugging Face name, the name and that no hash
was possible). ``bem run`` recomputes them before repeating the run and stops
with a :class:`data.BemError` naming the first file that changed, unless
``--force`` is given, when it logs a warning and runs. A ``run.json`` written
before the hashes existed runs with a warning.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from data import BemError

__all__ = ["changed_files", "file_hashes", "model_hashes", "sha256_file", "verify_hashes"]

logger = logging.getLogger(__name__)

NO_HASH = "not a local directory; no hash was possible"


def sha256_file(path: str | Path) -> str:
    """The hex sha256 of the file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_hashes(paths: Iterable[str]) -> dict[str, str]:
    """``{path: sha256}`` for each path, keyed by the path as given."""
    return {p: sha256_file(p) for p in paths}


def model_hashes(model: str) -> dict[str, Any]:
    """The sha256 of every file under the model directory, by relative path.

    A model that is not a local directory gives its name, ``hashed: False`` and
    the reason instead.
    """
    root = Path(model)
    if not root.is_dir():
        return {"name": model, "hashed": False, "reason": NO_HASH}
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {
        "path": model,
        "hashed": True,
        "files": {p.relative_to(root).as_posix(): sha256_file(p) for p in files},
    }


def _changed(recorded: dict[str, str], now: dict[str, str | None], what: str) -> list[str]:
    out = []
    for name, digest in recorded.items():
        if now.get(name) is None:
            out.append(f"{what}{name}: no longer exists")
        elif now[name] != digest:
            out.append(f"{what}{name}: its contents changed (sha256 differs)")
    return out


def changed_files(hashes: dict[str, Any]) -> list[str]:
    """One line per input, label or model file that differs from ``hashes``."""
    out = []
    for group in ("inputs", "labels"):
        recorded = hashes.get(group) or {}
        now = {p: sha256_file(p) if Path(p).is_file() else None for p in recorded}
        out += _changed(recorded, now, "")
    model = hashes.get("model") or {}
    if model.get("hashed"):
        root = Path(model["path"])
        if not root.is_dir():
            return [*out, f"{root}: the model directory no longer exists"]
        now_model = model_hashes(str(root))["files"]
        out += _changed(model["files"], now_model, f"{root}/")
        out += [
            f"{root}/{name}: not in the recorded model directory (a file was added)"
            for name in sorted(set(now_model) - set(model["files"]))
        ]
    return out


def verify_hashes(hashes: dict[str, Any] | None, *, source: str, force: bool) -> None:
    """Check that the files a run recorded in ``source`` (its run.json) are unchanged.

    Raises:
        BemError: a file changed or disappeared and ``force`` is false; the
            message names the file and says to pass ``--force``.
    """
    if hashes is None:
        logger.warning(
            "%s records no hashes of its inputs (written by an older bem); running without "
            "checking that the inputs and the model are unchanged",
            source,
        )
        return
    model = hashes.get("model") or {}
    if model and not model.get("hashed"):
        logger.warning("model %s: %s; not checked", model.get("name"), model.get("reason"))
    changed = changed_files(hashes)
    if not changed:
        return
    more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
    if not force:
        raise BemError(
            f"{changed[0]}{more} since the run recorded in {source}; pass --force to run anyway"
        )
    logger.warning("running anyway (--force) although %s", "; ".join(changed))
