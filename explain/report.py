"""Reports: JSON lines for machines, one self-contained HTML file for people.

The HTML report needs no network and no other file: CSS and JavaScript are
inline. It starts with an index of all pairs (sortable by probability, and
filterable to false positives / false negatives when labels are known, and by
review reason), an optional entity view (the records of each entity and the
scored pairs holding it together, weakest first, see :class:`EntityView`) and
then shows, per pair, the two records side by side with every value token
highlighted by its score (green pushes towards "match", red towards "no
match"), a diverging bar per field, the probability, threshold, decision and
the rule that made it, the review reason, the top-field check (P(match) with
the top field removed, a real model call) and the counterfactual in words.
A pair the cascade decided (``stage == "cascade"``) says so, with the cascade's
band and its largest feature contributions (:mod:`explain.cascade`) in place
of those two tests.

Every piece of record text goes through jinja2's autoescaping; the page builds
no markup from data at run time (its script only reorders and hides rows).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from explain.counterfactual import FieldEdit
from explain.entities import EntityView, entity_views
from explain.explanation import Explanation

__all__ = ["read_jsonl", "render_html", "write_html", "write_jsonl"]

logger = logging.getLogger(__name__)

POSITIVE = (26, 150, 65)
NEGATIVE = (215, 48, 39)


def write_jsonl(explanations: Iterable[Explanation], path: str | Path) -> Path:
    """Write one :meth:`Explanation.to_dict` document per line (UTF-8)."""
    path = Path(path)
    with path.open("w", encoding="utf-8") as fh:
        for e in explanations:
            fh.write(json.dumps(e.to_dict(), ensure_ascii=False) + "\n")
    return path


def read_jsonl(path: str | Path) -> list[Explanation]:
    """Read explanations written by :func:`write_jsonl`.

    Raises:
        ValueError: a line is not valid JSON or not an explanation (names the line).
    """
    path = Path(path)
    out = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                out.append(Explanation.from_dict(json.loads(line)))
            except ValueError as err:
                raise ValueError(f"{path}, line {n}: {err}") from None
    return out


def _colour(score: float, scale: float) -> str:
    if scale <= 0 or score == 0:
        return "transparent"
    rgb = POSITIVE if score > 0 else NEGATIVE
    alpha = min(1.0, abs(score) / scale) * 0.85
    return f"rgba({rgb[0]},{rgb[1]},{rgb[2]},{alpha:.3f})"


def _segments(value: str | None, tokens: list[Any], scale: float) -> list[dict[str, Any]]:
    """Split ``value`` into plain and token segments (text is escaped by the template)."""
    if value is None:
        return []
    out, pos = [], 0
    for t in sorted(tokens, key=lambda t: t.start):
        if t.start < pos or t.end > len(value) or t.end <= t.start:
            continue  # overlapping or out-of-range span: show the text unhighlighted
        if t.start > pos:
            out.append({"text": value[pos : t.start], "token": False})
        out.append(
            {
                "text": value[t.start : t.end],
                "token": True,
                "score": t.score,
                "colour": _colour(t.score, scale),
                "label": f"{t.text}: {t.score:+.4f}",
            }
        )
        pos = t.end
    if pos < len(value):
        out.append({"text": value[pos:], "token": False})
    return out


def _bar(score: float, scale: float) -> dict[str, Any]:
    width = 0.0 if scale <= 0 else 50.0 * min(1.0, abs(score) / scale)
    left = 50.0 if score >= 0 else 50.0 - width
    colour = POSITIVE if score >= 0 else NEGATIVE
    return {
        "left": f"{left:.2f}",
        "width": f"{width:.2f}",
        "colour": "rgb({},{},{})".format(*colour),
    }


SUMMARY_ATTRIBUTES = ("title", "name")
SCALE_FLOOR = 0.01
"""Scores are coloured and drawn relative to the pair's largest, but at least this."""
CHECK_TOLERANCE = 5e-4
"""A top-field check that moves P(match) less than this is reported as "did not move"."""


def _summary(record: dict[str, str | None], limit: int = 60) -> str:
    """The record's title or name (else its first value), shortened for the index."""
    named = [record.get(a) for a in SUMMARY_ATTRIBUTES]
    for value in [*named, *record.values()]:
        if value:
            return value if len(value) <= limit else value[: limit - 1] + "…"
    return ""


def _view(i: int, e: Explanation) -> dict[str, Any]:
    # a floor keeps scores of a saturated pair (all near 0) from looking strong
    scale = max((abs(t.score) for t in e.tokens), default=0.0)
    scale = max(scale, SCALE_FLOOR)
    field_scale = max(max((abs(f.combined) for f in e.fields), default=0.0), SCALE_FLOOR)
    rows = []
    for f in e.fields:
        rows.append(
            {
                "attribute": f.attribute,
                "left": _segments(
                    e.left.get(f.attribute),
                    [t for t in e.tokens if t.side == "left" and t.attribute == f.attribute],
                    scale,
                ),
                "right": _segments(
                    e.right.get(f.attribute),
                    [t for t in e.tokens if t.side == "right" and t.attribute == f.attribute],
                    scale,
                ),
                "left_score": f.left,
                "right_score": f.right,
                "combined": f.combined,
                "bar": _bar(f.combined, field_scale),
            }
        )
    top = e.top_field
    return {
        "index": i,
        "anchor": f"pair-{i}",
        "e": e,
        "rows": rows,
        "outcome": e.outcome or "",
        "top": top,
        "left_summary": _summary(dict(e.left)),
        "right_summary": _summary(dict(e.right)),
        "settings": ", ".join(f"{k}={v}" for k, v in e.settings.items()),
        "rule": e.decision_rule or f"P(match) >= threshold {e.threshold:.3f}",
        "check": _check(e),
        "counterfactual": _counterfactual(e),
        "cascade": _cascade(e),
    }


CASCADE_FEATURES = 8
"""The most cascade features a pair's section lists (largest contribution first)."""


def _cascade(e: Explanation) -> dict[str, Any] | None:
    """What the report shows of a pair the cascade decided (``None`` for the others)."""
    c = e.cascade
    if e.stage != "cascade" or c is None:
        return None
    features = sorted(c.get("features", {}).items(), key=lambda kv: -abs(kv[1]))
    return {
        "probability": float(c["probability"]),
        "above": int(c.get("decision", -1)) == 1,
        "low": c.get("low"),
        "high": c.get("high"),
        "intercept": float(c["intercept"]),
        "logit": float(c["logit"]),
        "record": float(c.get("by_attribute", {}).get("(record)", 0.0)),
        "features": [{"name": k, "contribution": v} for k, v in features[:CASCADE_FEATURES]],
        "shown": min(len(features), CASCADE_FEATURES),
        "total": len(features),
    }


def _check(e: Explanation) -> dict[str, Any] | None:
    """The top-field check in words: what removing the top field did to P(match)."""
    c = e.top_field_check
    if c is None:
        return None
    score = next((f.combined for f in e.fields if f.attribute == c.attribute), 0.0)
    change = c.probability_without - e.probability
    weighty = abs(score) >= SCALE_FLOOR
    if abs(change) < CHECK_TOLERANCE:
        verdict = (
            "Unlike what the explanation says, the probability did not move"
            if weighty
            else "The probability did not move, as the field's near-zero score says"
        )
    elif not weighty:
        verdict = "The explanation gave the field almost no weight, yet the probability moved"
    elif (change < 0) == (score > 0):
        towards = "match" if score > 0 else "no match"
        verdict = f"As the explanation says: the field pushed towards {towards}"
    else:
        verdict = "Unlike what the explanation says: the probability moved the other way"
    without = int(c.probability_without >= e.threshold)
    return {
        "attribute": c.attribute,
        "without": c.probability_without,
        "change": change,
        "crossing": "clear" if without else "fall below",
        "flips": without != e.score_decision,
        "verdict": verdict,
        "score": score,
    }


def _edit_row(edit: FieldEdit, e: Explanation) -> dict[str, Any]:
    sides = ("left", "right") if edit.side == "both" else (edit.side,)
    values = [getattr(e, s).get(edit.attribute) for s in sides]
    before = " / ".join("(missing)" if v is None else str(v) for v in values)
    if edit.action == "blank":
        what = "blank on both sides" if edit.side == "both" else f"blank the {edit.side} value"
    else:
        other = "right" if edit.side == "left" else "left"
        what = f"give the {edit.side} record the {other} record's value"
    return {
        "attribute": edit.attribute,
        "what": what,
        "before": before,
        "after": edit.value,
    }


def _counterfactual(e: Explanation) -> dict[str, Any]:
    """The counterfactual in words, or why there is none."""
    cf = e.counterfactual
    if cf is not None:
        return {
            "found": True,
            "text": cf.describe(),
            "edits": [_edit_row(x, e) for x in cf.edits],
            "probability": cf.probability,
            "calls": e.counterfactual_calls,
            "short": f"{len(cf.edits)} edit{'' if len(cf.edits) == 1 else 's'}",
        }
    if e.decision != e.score_decision:
        why = (
            f"not searched: the decision comes from {e.decision_rule or 'the caller'}, "
            "not from this pair's score against the threshold alone"
        )
    elif e.counterfactual_calls:
        why = f"none found within {e.counterfactual_calls} model calls"
    else:
        why = "not searched"
    return {"found": False, "text": why, "short": "none"}


def render_html(
    explanations: Sequence[Explanation],
    *,
    title: str = "BEM explanations",
    entities: Sequence[EntityView] | None = None,
) -> str:
    """The HTML report as a string (see :func:`write_html`)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("explain", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    views = [_view(i, e) for i, e in enumerate(explanations)]
    labelled = any(e.label is not None for e in explanations)
    if labelled:  # a partial label file: the pairs it does not cover are unknown, not TN/FP
        for v in views:
            v["outcome"] = v["outcome"] or "unknown"
    counts = {k: sum(v["outcome"] == k for v in views) for k in ("TP", "FP", "FN", "TN", "unknown")}
    methods = sorted({e.method for e in explanations})
    reasons: dict[str, int] = {}
    for e in explanations:
        if e.review_reason:
            reasons[e.review_reason] = reasons.get(e.review_reason, 0) + 1
    return env.get_template("report.html.j2").render(
        title=title,
        views=views,
        labelled=labelled,
        counts=counts,
        methods=", ".join(methods),
        reasons=reasons,
        entities=entity_views(entities or (), explanations),
        found=sum(e.counterfactual is not None for e in explanations),
    )


def write_html(
    explanations: Sequence[Explanation],
    path: str | Path,
    *,
    title: str = "BEM explanations",
    entities: Sequence[EntityView] | None = None,
) -> Path:
    """Write one self-contained, offline HTML report of all ``explanations``.

    Labels, when known (``Explanation.label``), enable the false-positive and
    false-negative filters of the index; review reasons
    (``Explanation.review_reason``) add one filter each. ``entities`` adds the
    entity view: per entity its records and scored pairs, weakest first.
    """
    path = Path(path)
    html = render_html(explanations, title=title, entities=entities)
    path.write_text(html, encoding="utf-8")
    logger.info("wrote an HTML report of %d explanations to %s", len(explanations), path)
    return path
