"""The labels file of a labelling session: append-only, flushed, replayable.

Every answer is one CSV row, appended and flushed to disk (``fsync``) before
the next question is asked, so a killed session loses nothing and a new one
resumes from the file. The columns (:data:`LABEL_COLUMNS`)::

    ltable_id,rtable_id,label,probability,threshold,reason,weight,model_round,timestamp

- ``label``: ``1`` (match), ``0`` (no match), ``unsure`` (kept as unsure: used
  for neither class) or ``undo``. Nothing is ever rewritten: an ``undo`` row
  retracts the latest answer of its pair that is not already retracted.
- ``probability``, ``threshold``, ``model_round``: what the model said when the
  pair was shown (round 0 is the starting model, each retrain adds one).
- ``reason``: why the pair was asked (``uncertain``, ``audit``, or a review
  reason such as ``review: lowest-confidence merge``).
- ``weight``: for ``audit`` pairs (drawn at random for the quality estimate,
  :mod:`bem.label.estimate`), the size of the stratum drawn from; else empty.
- ``timestamp``: UTC, ISO 8601.

Replaying the file (:func:`replay`) gives each pair's answer: its latest row not
retracted by an ``undo``. In deduplication a pair is unordered and is keyed with
the smaller id first (string order), as the blocker writes it.

Ids are written as they are (no spreadsheet escaping): the file is the input
of ``bem train --labels``, which must read the ids back exactly.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from data import BemError, RecordPairs, validate_pairs

__all__ = [
    "ANSWERS",
    "LABEL_COLUMNS",
    "Answer",
    "LabelLog",
    "labels_to_training",
    "read_labels",
    "replay",
]

logger = logging.getLogger(__name__)

LABEL_COLUMNS = (
    "ltable_id",
    "rtable_id",
    "label",
    "probability",
    "threshold",
    "reason",
    "weight",
    "model_round",
    "timestamp",
)
"""The header of a labels file, in order."""

ANSWERS = ("1", "0", "unsure")
"""The answers a labels file stores (besides ``undo`` rows)."""
UNDO = "undo"


@dataclass(frozen=True)
class Answer:
    """One answer as the labels file holds it (see the module docstring).

    ``line`` is the file line of its row (the header is line 1).
    """

    ltable_id: str
    rtable_id: str
    label: str
    probability: float | None = None
    threshold: float | None = None
    reason: str = ""
    weight: float | None = None
    model_round: int | None = None
    timestamp: str = ""
    line: int = 0

    @property
    def pair(self) -> tuple[str, str]:
        return (self.ltable_id, self.rtable_id)

    @property
    def predicted(self) -> int:
        """The model's decision when the pair was asked (0 when the row does not say)."""
        if self.probability is None or self.threshold is None:
            return 0
        return int(self.probability >= self.threshold)

    def to_dict(self) -> dict[str, object]:
        return {c: getattr(self, c) for c in (*LABEL_COLUMNS, "line")}


def pair_key(a: str, b: str, *, unordered: bool) -> tuple[str, str]:
    """The pair as the session keys it: smaller id first when ``unordered``."""
    a, b = str(a), str(b)
    return (b, a) if unordered and b < a else (a, b)


def _number(text: str, cast: type, where: str) -> float | int | None:
    if text.strip() == "":
        return None
    try:
        return cast(text)
    except ValueError:
        raise BemError(f"{where}: {text!r} is not a number") from None


def _parse(path: Path, text: str) -> list[Answer]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        return []
    if tuple(rows[0]) != LABEL_COLUMNS:
        raise BemError(
            f"{path}: not a bem label file (header {','.join(rows[0])!r}, expected "
            f"{','.join(LABEL_COLUMNS)!r}); give a new path to --labels, or a file an "
            "earlier `bem label` session wrote"
        )
    out: list[Answer] = []
    for n, row in enumerate(rows[1:], start=2):
        where = f"{path}, line {n}"
        if len(row) != len(LABEL_COLUMNS):
            raise BemError(f"{where}: {len(row)} fields, expected {len(LABEL_COLUMNS)}")
        values = dict(zip(LABEL_COLUMNS, row))
        label = values["label"].strip()
        if label not in (*ANSWERS, UNDO):
            raise BemError(f"{where}: label must be 1, 0, unsure or undo, got {label!r}")
        if not values["ltable_id"] or not values["rtable_id"]:
            raise BemError(f"{where}: empty ltable_id or rtable_id; every row needs both ids")
        out.append(
            Answer(
                ltable_id=values["ltable_id"],
                rtable_id=values["rtable_id"],
                label=label,
                probability=_number(values["probability"], float, where),
                threshold=_number(values["threshold"], float, where),
                reason=values["reason"],
                weight=_number(values["weight"], float, where),
                model_round=_number(values["model_round"], int, where),
                timestamp=values["timestamp"],
                line=n,
            )
        )
    return out


def _read_text(path: Path, *, repair: bool) -> str:
    """The file's text; an incomplete last line (a write cut short) is dropped,
    and with ``repair`` cut from the file too so appends start on a new line."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        logger.warning(
            "%s: dropped an incomplete last line (a write cut short): %r", path, data[cut:][:80]
        )
        if repair:
            with path.open("r+b") as f:
                f.truncate(cut)
                f.flush()
                os.fsync(f.fileno())
        data = data[:cut]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BemError(f"{path}: not UTF-8 text ({exc})") from None


def replay(answers: Sequence[Answer], *, unordered: bool) -> dict[tuple[str, str], Answer]:
    """Each pair's answer: its latest row not retracted by an ``undo`` row.

    Pairs whose every answer was undone are absent. Keys are :func:`pair_key`s.
    """
    stacks: dict[tuple[str, str], list[Answer]] = {}
    for a in answers:
        key = pair_key(a.ltable_id, a.rtable_id, unordered=unordered)
        stack = stacks.setdefault(key, [])
        if a.label == UNDO:
            if stack:
                stack.pop()
            else:
                logger.warning("line %d: undo of the pair %s, which has no answer", a.line, key)
        else:
            stack.append(a)
    return {k: s[-1] for k, s in stacks.items() if s}


def read_labels(path: str | Path, *, unordered: bool = False) -> pd.DataFrame:
    """The current answer of every pair in a labels file, in the order answered.

    One row per pair (:data:`LABEL_COLUMNS` and ``line``); ``label`` is ``"1"``,
    ``"0"`` or ``"unsure"``. ``unordered`` (deduplication) treats ``(a, b)``
    and ``(b, a)`` as one pair.

    Raises:
        BemError: the file is missing, not a labels file, or has a bad row.
    """
    path = Path(path)
    if not path.is_file():
        raise BemError(f"{path}: no such labels file")
    current = replay(_parse(path, _read_text(path, repair=False)), unordered=unordered)
    rows = sorted(current.values(), key=lambda a: a.line)
    return pd.DataFrame([a.to_dict() for a in rows], columns=[*LABEL_COLUMNS, "line"])


def labels_to_training(
    path: str | Path, left: pd.DataFrame, right: pd.DataFrame | None = None
) -> RecordPairs:
    """The labelled pairs of a session's file, ready for :meth:`matcher.Matcher.fit`.

    The latest answer of each pair wins; undone answers and ``unsure`` are
    dropped. ``right=None`` means pairs inside ``left`` (deduplication).

    Raises:
        BemError: a bad file, no labelled pair, or ids not in the tables.
    """
    labels = read_labels(path, unordered=right is None)
    labels = labels[labels["label"].isin(["0", "1"])]
    if labels.empty:
        raise BemError(f"{path}: no pair is labelled 1 or 0 yet; label some pairs first")
    pairs = labels[["ltable_id", "rtable_id", "label"]].reset_index(drop=True)
    table = validate_pairs(
        pairs,
        left,
        left if right is None else right,
        labelled=True,
        source=str(path),
        lines=labels["line"].to_numpy(),
    )
    return RecordPairs(left, left if right is None else right, table)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


class LabelLog:
    """The append-only labels file of one session (see the module docstring).

    Opening reads the answers already there (:attr:`answers`) and takes an
    exclusive lock on the file, so two sessions cannot write it at once.

    Raises:
        BemError: the file is not a labels file, or another session holds it.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        existing = self.path.is_file() and self.path.stat().st_size > 0
        self.answers: list[Answer] = (
            _parse(self.path, _read_text(self.path, repair=True)) if existing else []
        )
        self._lines = 1 + len(self.answers)
        self._file = self.path.open("a", encoding="utf-8", newline="")
        self._lock()
        if not existing:
            self._write(LABEL_COLUMNS)

    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._file.close()
            raise BemError(
                f"{self.path}: another bem label session is writing this file; close it first"
            ) from None

    def _write(self, row: Sequence[str]) -> None:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(row)
        self._file.write(buffer.getvalue())
        self._file.flush()
        os.fsync(self._file.fileno())

    def append(
        self,
        pair: tuple[str, str],
        label: str,
        *,
        probability: float | None = None,
        threshold: float | None = None,
        reason: str = "",
        weight: float | None = None,
        model_round: int | None = None,
    ) -> Answer:
        """Append one row and flush it to disk; returns it as an :class:`Answer`."""
        if label not in (*ANSWERS, UNDO):
            raise ValueError(f"label must be one of 1, 0, unsure, undo; got {label!r}")
        if self._file.closed:
            raise ValueError(f"{self.path}: the labels file is closed")
        stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        answer = Answer(
            ltable_id=str(pair[0]),
            rtable_id=str(pair[1]),
            label=label,
            probability=probability,
            threshold=threshold,
            reason=reason,
            weight=weight,
            model_round=model_round,
            timestamp=stamp,
            line=self._lines + 1,
        )
        self._write([_cell(getattr(answer, c)) for c in LABEL_COLUMNS])
        self._lines += 1
        self.answers.append(answer)
        return answer

    def close(self) -> None:
        """Close the file (releases the lock)."""
        if not self._file.closed:
            self._file.close()
