"""The README rows of the labelling benchmarks (``label_efficiency``, ``label_latency``).

Each function takes one results file's JSON and returns ``(what, measured,
target, command)`` rows for ``bench/readme_table.py``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Row", "active_rows", "label_efficiency_rows", "label_latency_rows", "verdict"]

Row = tuple[str, str, str, str]  # what, measured, target, command


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def cite(commands) -> str:
    """The commands as a README cell, each in backticks, sorted."""
    return "; ".join(f"`{c}`" for c in sorted(commands))


def _random_command(point: dict[str, Any]) -> str:
    """The command that measured a point's random-draw figure (kept by a --no-random run)."""
    return point.get("random_command", point["command"])


LABEL_TARGETS = {"0": (0.52, 0.48, 0.96), "500": (0.68, 0.615, 0.97)}
LABEL_SETS = ("abt_buy", "amazon_google", "dblp_acm")


def label_efficiency_rows(res: dict[str, Any]) -> list[Row]:
    rows = []
    for n, goal in LABEL_TARGETS.items():
        points = {s: res[s][n] for s in LABEL_SETS if n in res.get(s, {})}
        if not points:
            continue
        ok = len(points) == len(LABEL_SETS) and all(
            p["random_f1"] >= t and (n == "0" or p["random_f1"] > p.get("dedupe_f1", 1.0))
            for (s, p), t in zip(points.items(), goal)
        )
        measured = ", ".join(
            f"{s} {100 * p['random_f1']:.1f}"
            + (f" (dedupe {100 * p['dedupe_f1']:.1f})" if "dedupe_f1" in p else "")
            for s, p in points.items()
        )
        what = "label-free model, test F1 (0 labels)" if n == "0" else f"{n} random labels, test F1"
        target = " / ".join(f"{100 * t:g}" for t in goal) + (
            " and above dedupe" if n != "0" else ""
        )
        commands = {_random_command(p) for p in points.values()}
        rows.append((what, measured, f">= {target}: {verdict(ok)}", cite(commands)))
    rows += _label_curve_rows(res)
    return rows


def _label_curve_rows(res: dict[str, Any]) -> list[Row]:
    """The budgets without a target of their own, each set against its label-free start."""
    curve, below, commands, seen = [], [], set(), set()
    for s in LABEL_SETS:
        points = res.get(s, {})
        budgets = sorted((b for b in points if b not in LABEL_TARGETS), key=int)
        if not budgets or "0" not in points:
            continue
        start = points["0"]["random_f1"]
        figures = " / ".join(f"{100 * points[b]['random_f1']:.1f}" for b in budgets)
        kept = [b for b in budgets if points[b].get("kept") == "start"]
        note = f"; start kept at {', '.join(kept)}" if kept else ""
        curve.append(f"{s} {figures} (start {100 * start:.1f}{note})")
        below += [f"{s} @ {b}" for b in budgets if points[b]["random_f1"] < start]
        commands |= {_random_command(points[b]) for b in budgets}
        seen |= set(budgets)
    if not curve:
        return []
    budgets = sorted(seen, key=int)
    verdict = "below the start at " + ", ".join(below) if below else "met"
    return [
        (
            f"{' / '.join(budgets)} random labels, test F1",
            "; ".join(curve),
            f"at or above the label-free start: {verdict}",
            cite(commands),
        )
    ]


def label_latency_rows(res: dict[str, Any]) -> list[Row]:
    during = res.get("during_retrain", {})
    if not during.get("questions"):
        return []
    return [
        (
            "`bem label`: wait for the next question while a retrain runs",
            f"p50 {during['p50_s']:.3f} s, p90 {during['p90_s']:.3f} s ({during['questions']} "
            f"questions, {res['dataset']})",
            f"p90 < 1 s: {verdict(during['p90_s'] < 1.0)}",
            f"`{res['command']}`",
        )
    ]


DIAL = {"abt_buy": 0.888, "amazon_google": 0.692, "dblp_acm": 0.988}  # 1,408 active labels
"""DIAL's test F1 (Jain et al., 2021), the issue's goal at a third of its labels."""


def active_rows(res: dict[str, Any]) -> list[Row]:
    """500 labels asked by ``bem label``'s engine against 500 random ones, and the other budgets."""
    goal = dict(zip(LABEL_SETS, LABEL_TARGETS["500"]))
    points = {s: res[s]["500"] for s in LABEL_SETS if "f1" in res.get(s, {}).get("500", {})}
    if not points:
        return []
    measured = "; ".join(
        f"{s} {100 * p['f1']:.1f} (random {100 * p['random_f1']:.1f}; "
        f"DIAL {100 * DIAL[s]:.1f}, gap {100 * (DIAL[s] - p['f1']):.1f})"
        for s, p in points.items()
    )
    missing = [s for s in LABEL_SETS if s not in points]
    above = sum(p["f1"] > p["random_f1"] for p in points.values())
    ok = not missing and above >= 2 and all(p["f1"] >= goal[s] for s, p in points.items())
    target = (
        " / ".join(f"{100 * t:g}" for t in LABEL_TARGETS["500"])
        + f" and above random on 2 of 3 sets (above on {above} of {len(points)}): {verdict(ok)}"
        + (f" (not measured: {', '.join(missing)})" if missing else "")
    )
    rows = [
        (
            "500 labels chosen by the active learner (`bem label`'s engine, oracle), test F1",
            measured,
            ">= " + target,
            cite({p["command"] for p in points.values()}),
        )
    ]
    curve, commands, seen = [], set(), set()
    for s in LABEL_SETS:
        budgets = [b for b in sorted(res.get(s, {}), key=int) if b not in LABEL_TARGETS]
        budgets = [b for b in budgets if "f1" in res[s][b]]
        if not budgets:
            continue
        figures = " / ".join(
            f"{100 * res[s][b]['f1']:.1f} ({100 * res[s][b]['random_f1']:.1f})" for b in budgets
        )
        curve.append(f"{s} {figures}")
        commands |= {res[s][b]["command"] for b in budgets}
        seen |= set(budgets)
    if curve:
        rows.append(
            (
                f"{' / '.join(sorted(seen, key=int))} active labels, test F1 (random in brackets)",
                "; ".join(curve),
                "no target of its own (the curve toward 500 and past it)",
                cite(commands),
            )
        )
    return rows
