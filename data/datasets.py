"""Loaders for the benchmark layouts in ``../shared/datasets`` and their containers.

- DeepMatcher / Magellan: ``tableA.csv``, ``tableB.csv``, ``train.csv``,
  ``valid.csv``, ``test.csv`` -> :class:`MatchingDataset`.
- Ditto: ``train.txt``, ``valid.txt``, ``test.txt`` -> :class:`MatchingDataset`.
- Linkage: ``tableA.csv``, ``tableB.csv``, ``matches.csv`` -> :class:`LinkageDataset`.
- Deduplication: ``records.csv``, ``matches.csv`` (``id1,id2``) -> :class:`DedupDataset`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from data.csvfile import _list, _read
from data.ditto import load_ditto
from data.errors import BemError
from data.pairs import RecordPairs, load_pairs, validate_pairs
from data.table import load_table

__all__ = [
    "DedupDataset",
    "LinkageDataset",
    "MatchingDataset",
    "load_dedup",
    "load_deepmatcher",
    "load_ditto_dir",
    "load_linkage",
    "normalize_dedup_matches",
]

logger = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")


def _positives(rp: RecordPairs) -> int:
    labels = rp.labels
    return 0 if labels is None else int(labels.sum())


@dataclass(frozen=True, eq=False, repr=False)
class MatchingDataset:
    """Two tables and labelled train/valid/test pair splits over them."""

    name: str
    left: pd.DataFrame
    right: pd.DataFrame
    train: RecordPairs
    valid: RecordPairs
    test: RecordPairs

    def summary(self) -> dict[str, int]:
        """Counts: table sizes, pairs and positives per split."""
        out = {"left": len(self.left), "right": len(self.right)}
        for split in SPLITS:
            rp = getattr(self, split)
            out[split] = len(rp)
            out[f"{split}_positives"] = _positives(rp)
        return out

    def __repr__(self) -> str:
        s = self.summary()
        splits = ", ".join(f"{k}={s[k]} ({s[k + '_positives']}+)" for k in SPLITS)
        return f"MatchingDataset({self.name!r}, left={s['left']}, right={s['right']}, {splits})"


@dataclass(frozen=True, eq=False, repr=False)
class LinkageDataset:
    """Two tables and every true matching pair between them."""

    name: str
    left: pd.DataFrame
    right: pd.DataFrame
    matches: pd.DataFrame

    def summary(self) -> dict[str, int]:
        return {"left": len(self.left), "right": len(self.right), "matches": len(self.matches)}

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"LinkageDataset({self.name!r}, left={s['left']}, right={s['right']}, "
            f"matches={s['matches']})"
        )


@dataclass(frozen=True, eq=False, repr=False)
class DedupDataset:
    """One table and every true duplicate pair in it (``ltable_id < rtable_id``)."""

    name: str
    records: pd.DataFrame
    matches: pd.DataFrame

    def summary(self) -> dict[str, int]:
        return {"records": len(self.records), "matches": len(self.matches)}

    def __repr__(self) -> str:
        s = self.summary()
        return f"DedupDataset({self.name!r}, records={s['records']}, matches={s['matches']})"


def _require(directory: Path, names: tuple[str, ...], layout: str) -> None:
    if not directory.is_dir():
        raise BemError(f"{directory}: not a directory; pass the folder that holds the {layout}")
    missing = [n for n in names if not (directory / n).is_file()]
    if missing:
        raise BemError(
            f"{directory}: missing file(s) {missing}; the {layout} layout needs {', '.join(names)}"
        )


def load_deepmatcher(directory: str | Path, *, name: str | None = None) -> MatchingDataset:
    """Read a DeepMatcher/Magellan folder: two tables and three labelled splits.

    Every split is validated against the tables (unknown ids, labels outside
    {0, 1} and duplicated pairs are errors naming the lines).
    """
    directory = Path(directory)
    files = ("tableA.csv", "tableB.csv", *(f"{s}.csv" for s in SPLITS))
    _require(directory, files, "DeepMatcher")
    left = load_table(directory / "tableA.csv")
    right = load_table(directory / "tableB.csv")
    splits = {
        s: RecordPairs(left, right, load_pairs(directory / f"{s}.csv", left, right, labelled=True))
        for s in SPLITS
    }
    return MatchingDataset(name or directory.name, left, right, **splits)


def load_ditto_dir(directory: str | Path, *, name: str | None = None) -> MatchingDataset:
    """Read a Ditto folder (``train.txt``, ``valid.txt``, ``test.txt``).

    Ditto has no record ids, so the tables are the concatenation of each split's
    records with ids ``"<split>-<line index>"`` (``"train-0"``, ``"valid-12"``).
    """
    directory = Path(directory)
    _require(directory, tuple(f"{s}.txt" for s in SPLITS), "Ditto")
    parts = {s: load_ditto(directory / f"{s}.txt") for s in SPLITS}
    lefts, rights, pairs = [], [], {}
    for split, rp in parts.items():
        lefts.append(rp.left.rename(index=lambda i, s=split: f"{s}-{i}"))
        rights.append(rp.right.rename(index=lambda i, s=split: f"{s}-{i}"))
        frame = rp.pairs.copy()
        frame["ltable_id"] = split + "-" + frame["ltable_id"]
        frame["rtable_id"] = split + "-" + frame["rtable_id"]
        pairs[split] = frame
    left, right = pd.concat(lefts), pd.concat(rights)
    for table, side in ((left, "left"), (right, "right")):
        table.index.name = "id"
        table.attrs = {"source": f"{directory} ({side})"}
    splits = {s: RecordPairs(left, right, p) for s, p in pairs.items()}
    return MatchingDataset(name or directory.name, left, right, **splits)


def load_linkage(directory: str | Path, *, name: str | None = None) -> LinkageDataset:
    """Read a linkage folder: ``tableA.csv``, ``tableB.csv`` and ``matches.csv``.

    ``matches.csv`` has ``ltable_id,rtable_id``; ids missing from their table and
    duplicated pairs are errors naming the lines.
    """
    directory = Path(directory)
    _require(directory, ("tableA.csv", "tableB.csv", "matches.csv"), "linkage")
    left = load_table(directory / "tableA.csv")
    right = load_table(directory / "tableB.csv")
    matches = load_pairs(directory / "matches.csv", left, right, labelled=False)
    return LinkageDataset(name or directory.name, left, right, matches)


def normalize_dedup_matches(
    pairs: pd.DataFrame,
    records: pd.DataFrame,
    *,
    source: str = "<matches>",
    lines: np.ndarray | None = None,
) -> pd.DataFrame:
    """Order each pair as ``ltable_id < rtable_id`` and drop repeated pairs.

    ``pairs`` has ``ltable_id, rtable_id`` (str). Self-pairs and ids missing
    from ``records`` are errors naming the lines (``lines``: the file line of
    each row; positions from 1 otherwise). Repeated pairs, in either order,
    are dropped and reported in the log.
    """
    if lines is None:
        lines = np.arange(1, len(pairs) + 1)
    a = pairs["ltable_id"].astype(str).str.strip().to_numpy(dtype=object)
    b = pairs["rtable_id"].astype(str).str.strip().to_numpy(dtype=object)
    known = records.index
    for ids, col in ((a, "first"), (b, "second")):
        bad = ~pd.Index(ids).isin(known)
        if bad.any():
            shown = [f"{ln} ({v!r})" for ln, v in zip(lines[bad], ids[bad])]
            name = records.attrs.get("source", "the records table")
            raise BemError(
                f"{source}: {col} id not found in {name} on line(s) {_list(shown)}; "
                "check that the pairs belong to this table"
            )
    same = a == b
    if same.any():
        shown = [f"{ln} ({v!r})" for ln, v in zip(lines[same], a[same])]
        raise BemError(
            f"{source}: a record paired with itself on line(s) {_list(shown)}; "
            "remove these self-pairs"
        )
    swap = b < a
    lo = np.where(swap, b, a)
    hi = np.where(swap, a, b)
    out = pd.DataFrame({"ltable_id": lo, "rtable_id": hi})
    dup = out.duplicated().to_numpy()
    if dup.any():
        logger.warning(
            "%s: dropped %d repeated pair(s) (same pair in either order) on line(s) %s",
            source,
            int(dup.sum()),
            _list(lines[dup].tolist()),
        )
        out = out[~dup]
    extra = [c for c in pairs.columns if c not in ("ltable_id", "rtable_id")]
    for c in extra:
        out[c] = pairs[c].to_numpy()[~dup]
    return validate_pairs(out.reset_index(drop=True), records, records, source=source)


def load_dedup(directory: str | Path, *, name: str | None = None) -> DedupDataset:
    """Read a deduplication folder: ``records.csv`` and ``matches.csv``.

    ``matches.csv`` has ``id1,id2`` (or ``ltable_id,rtable_id``). Pairs are
    normalised to ``ltable_id < rtable_id`` (string order); repeated pairs are
    dropped with a logged warning; self-pairs and unknown ids are errors.
    """
    directory = Path(directory)
    _require(directory, ("records.csv", "matches.csv"), "deduplication")
    records = load_table(directory / "records.csv")
    path = directory / "matches.csv"
    frame, lines = _read(path)
    if {"id1", "id2"} <= set(frame.columns):
        frame = frame.rename(columns={"id1": "ltable_id", "id2": "rtable_id"})
    elif not {"ltable_id", "rtable_id"} <= set(frame.columns):
        raise BemError(
            f"{path}: needs the columns id1,id2 (or ltable_id,rtable_id); "
            f"found {list(frame.columns)}"
        )
    empty = frame[["ltable_id", "rtable_id"]].isna().any(axis=1).to_numpy()
    if empty.any():
        raise BemError(
            f"{path}: empty id on line(s) {_list(lines[empty].tolist())}; every pair needs two ids"
        )
    matches = normalize_dedup_matches(frame, records, source=str(path), lines=lines)
    return DedupDataset(name or directory.name, records, matches)
