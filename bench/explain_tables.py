"""The Markdown of ``bench/explain.py``: the done-when checks and one table per matcher."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from explain import DEFAULT_METHOD

RESULTS = Path(__file__).resolve().parent / "results"

__all__ = ["COLUMNS", "bar", "checks", "faithfulness_checks", "markdown", "winners"]


COLUMNS = [
    ("field_removal_auc", "removal AUC, after CERTA (lower better)", "{:.3f}"),
    ("field_removal_degradation", "removal degradation, after CREW (higher better)", "{:.3f}"),
    ("comprehensiveness", "ERASER comp. (higher better)", "{:.3f}"),
    ("sufficiency", "ERASER suff. (lower better)", "{:.3f}"),
    ("planted_cause_accuracy", "planted field acc.", "{:.2f}"),
    ("planted_cause_accuracy_rejected", "planted field acc. (rejected)", "{:.2f}"),
    ("planted_token_accuracy", "planted token top-3", "{:.2f}"),
    ("model_calls_per_pair", "model calls / pair", "{:.1f}"),
    ("seconds_per_pair", "s / pair (mean)", "{:.3f}"),
    ("median_seconds_per_pair", "s / pair (median)", "{:.3f}"),
]


def _fmt(row: dict[str, Any], key: str, fmt: str) -> str:
    value = row.get(key)
    return "" if value is None else fmt.format(value)


BASELINES = ("lime", "kernel_shap")
FIELD_METHODS = ("occlusion", "shapley")
CALLS_BAR = 10.0  # the bar: better on both metrics with >= 10x fewer model calls


def _versus(f: dict[str, Any], b: dict[str, Any]) -> tuple[bool, bool, float]:
    """(CERTA better, CREW better, how many times fewer calls) of field method f against b."""
    return (
        f["field_removal_auc"] < b["field_removal_auc"],
        f["field_removal_degradation"] > b["field_removal_degradation"],
        b["model_calls_per_pair"] / f["model_calls_per_pair"],
    )


def bar(methods: dict[str, Any]) -> tuple[list[str], dict[str, list[str]]] | None:
    """The LIME/KernelSHAP settings measured and, per field method, its verdicts against each.

    ``None`` when LIME and KernelSHAP were not both measured. A field method meets the bar
    when every verdict is a win on both metrics with at least ``CALLS_BAR`` times fewer calls
    (:func:`winners`).
    """
    baselines = [m for m in methods if m.partition("@")[0] in BASELINES]
    if {b.partition("@")[0] for b in baselines} != set(BASELINES):
        return None
    verdicts = {
        f: [(b, *_versus(methods[f], methods[b])) for b in baselines]
        for f in FIELD_METHODS
        if f in methods
    }
    return baselines, verdicts


def winners(verdicts: dict[str, list]) -> list[str]:
    """The field methods of :func:`bar`'s verdicts that beat every baseline setting."""
    return [
        f
        for f, rows in verdicts.items()
        if all(certa and crew and ratio >= CALLS_BAR for _, certa, crew, ratio in rows)
    ]


def _word(better: bool, methods: dict[str, Any], f: str, b: str, metric: str) -> str:
    """'better', or why not: 'tied' (the same figure: a tie is no win) or 'NOT better'."""
    if better:
        return "better"
    return "tied" if methods[f][metric] == methods[b][metric] else "NOT better"


def faithfulness_checks(models: dict[str, Any]) -> list[str]:
    """Each field method against each LIME/KernelSHAP setting measured (``lime``, ``lime@500``);
    the bar holds for a matcher when one field method wins against all of them."""
    lines = []
    for name, block in models.items():
        methods = block.get("methods") or {}
        measured = bar(methods)
        if measured is None:
            lines.append(f"- {name}: LIME and KernelSHAP not both measured")
            continue
        baselines, verdicts = measured
        for field_method, rows in verdicts.items():
            lines.append(
                f"- {name}, {field_method}: "
                + "; ".join(
                    f"vs {b}: CERTA {_word(certa, methods, field_method, b, 'field_removal_auc')}, "
                    f"CREW {_word(crew, methods, field_method, b, 'field_removal_degradation')}, "
                    f"{ratio:.1f}x fewer calls"
                    for b, certa, crew, ratio in rows
                )
            )
        won = winners(verdicts)
        lines.append(
            f"- {name}, the bar (a field method better on both metrics than "
            f"{', '.join(baselines)} with >= {CALLS_BAR:.0f}x fewer calls): "
            + (f"met by {', '.join(won)}" if won else "NOT met")
        )
    return lines


def _bound(name: str, block: dict[str, Any]) -> dict[str, Any] | None:
    """bench/studies/counterfactual_bound.py's result for this matcher and pair count, if any."""
    path = RESULTS / f"counterfactual_bound-{name}.json"
    if not path.is_file():
        return None
    bound = json.loads(path.read_text(encoding="utf-8"))
    same_matcher = bound.get("matcher") == block.get("matcher")
    return bound if same_matcher and bound.get("pairs") == block.get("n_pairs") else None


def checks(results: dict[str, Any]) -> list[str]:
    """The issue's done-when criteria, evaluated on the measured numbers."""
    models = results["models"]
    lines = faithfulness_checks(models)
    syn = models.get("synthetic", {}).get("methods", {}).get(DEFAULT_METHOD)
    if syn:
        lines.append(
            f"- synthetic, default method ({DEFAULT_METHOD}): planted-cause accuracy "
            f"{syn['planted_cause_accuracy']:.2f} on all hard negatives, "
            f"{syn.get('planted_cause_accuracy_rejected', float('nan')):.2f} on those the "
            "matcher rejects (target 0.9)"
        )
    for name, block in models.items():
        cf = block.get("counterfactual")
        if cf:
            ok = cf["coverage"] >= 0.9 and cf["calls_per_pair"] <= 30
            text = (
                f"- {name}, counterfactuals: found for {cf['coverage']:.2f} of pairs within 3 "
                f"edits, {cf['calls_per_pair']:.1f} calls per pair (targets 0.9, 30): "
                f"{'met' if ok else 'NOT met'}"
            )
            if cf.get("planted_hit") is not None:
                hit = cf["planted_hit"] >= 0.9
                which = (
                    "the hard negatives the matcher rejects"
                    if cf.get("planted_hit_all") is not None
                    else "all hard negatives (an older run, false positives included)"
                )
                text += (
                    f"; planted attribute edited in {cf['planted_hit']:.2f} of {which} "
                    f"(target 0.9): {'met' if hit else 'NOT met'}"
                )
                if cf.get("planted_hit_all") is not None:
                    text += f" ({cf['planted_hit_all']:.2f} of all hard negatives)"
            bound = _bound(name, block)
            if bound:
                text += (
                    f"; any budget could reach {bound['bound_within_3_edits']:.2f} (every set "
                    f"of <= 3 edits scored for the {bound['missed_by_search']} pairs the search "
                    f"missed: {bound['missed_with_a_flip']} have a flip; "
                    f"bench/studies/counterfactual_bound.py, {bound['date']})"
                )
            lines.append(text)
    for name, block in models.items():
        row = block.get("methods", {}).get(DEFAULT_METHOD)
        if row:
            lines.append(
                f"- {name}, default method: median {row['median_seconds_per_pair']:.2f} s per "
                f"pair, 90th percentile {row['p90_seconds_per_pair']:.2f} s (target < 1 s)"
            )
    return lines


def markdown(results: dict[str, Any]) -> str:
    settings = results.get("meta", {}).get("method_settings", {})
    lines = [
        "# Explanation methods: faithfulness, cost and speed",
        "",
        "Produced by `bench/explain.py` (see its docstring for the test pairs and the",
        "definitions in `explain/faithfulness.py`). Scores attribute P(match); removal",
        "of value tokens is the perturbation everywhere.",
        "",
        "The two removal metrics are field-level variants named after the papers they "
        "follow, not those papers' released scorers, so their figures are not comparable "
        "with the numbers CERTA or CREW publish (none is quoted here): the removal AUC "
        "follows CERTA's attribute faithfulness but counts a pair's non-empty (side, "
        "attribute) fields where CERTA's code counts all attribute columns; the removal "
        "degradation follows CREW's degradation score but removes whole fields at the "
        "fractions 0.1/0.3/0.5/0.7/0.9 where CREW's code removes words at 0.1-1.0. Below, "
        "'CERTA' and 'CREW' are short for these variants.",
        "",
        f"- default method: `{DEFAULT_METHOD}`",
        "- method settings: "
        + "; ".join(f"{m} {json.dumps(s)}" if s else m for m, s in settings.items()),
        "",
        "## Done-when checks (computed from the tables below)",
        "",
        *checks(results),
        "",
    ]
    for name, block in results["models"].items():
        lines += [f"## {name}", ""]
        run = block.get("run", {})
        lines += [
            f"- test pairs: {block['n_pairs']} ({block['pairs_note']})",
            f"- matcher: {block.get('matcher', '')}",
            f"- command: `{run.get('command', '')}`",
            f"- machine: {run.get('machine', '')}",
            f"- date: {run.get('date', '')}, {run.get('seconds', 0) / 60:.1f} min for this matcher",
        ]
        for earlier in block.get("earlier_runs", []):
            lines.append(
                f"- methods not in that command kept from `{earlier.get('command', '')}` "
                f"({earlier.get('date', '')}, the same matcher)"
            )
        lines.append("")
        if block.get("skipped"):
            lines += [f"Skipped: {block['skipped']}", ""]
            continue
        cols = [c for c in COLUMNS if any(c[0] in r for r in block["methods"].values())]
        lines.append("| method | " + " | ".join(c[1] for c in cols) + " |")
        lines.append("|---|" + "---:|" * len(cols))
        for method, row in block["methods"].items():
            cells = [_fmt(row, key, fmt) for key, _, fmt in cols]
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        lines.append("")
        cf = block.get("counterfactual")
        if cf:
            lines += [
                f"Counterfactuals ({DEFAULT_METHOD}'s search, up to 3 field edits, each "
                "checked by a model call): "
                f"found for {cf['coverage']:.2f} of {cf['pairs']} pairs (target >= 0.9), "
                f"{_fmt(cf, 'mean_edits', '{:.2f}') or '-'} fields edited on average, "
                f"{cf['calls_per_pair']:.1f} search calls per pair (target <= 30)"
                + (
                    f"; the planted attribute is edited in {_fmt(cf, 'planted_hit', '{:.2f}')} "
                    f"of the {cf['planted_pairs']} hard negatives the matcher rejects with one "
                    "found (target >= 0.9)"
                    if "planted_hit" in cf
                    else ""
                )
                + (
                    f", in {_fmt(cf, 'planted_hit_all', '{:.2f}')} of all "
                    f"{cf['planted_pairs_all']} with one found (accepted hard negatives are "
                    "false positives: the model missed the planted difference)"
                    if "planted_hit_all" in cf
                    else ""
                )
                + ".",
                "",
            ]
            if cf.get("matcher") and cf["matcher"] != block.get("matcher"):
                lines += [
                    f"The counterfactual figures come from another run: matcher "
                    f"{cf['matcher']}, `{cf['command']}`, {cf['date']}.",
                    "",
                ]
    return "\n".join(lines) + "\n"
