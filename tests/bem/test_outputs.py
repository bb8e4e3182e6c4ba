"""The output files: spreadsheet-safe CSV cells."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from bem.outputs import escape_cell, write_outputs
from bem.pipeline import dedup, select_for_review
from bem.run import PipelineConfig
from tests.bem.stand_ins import TableMatcher

IDS = ['=HYPERLINK("x")', "+1", "@a", "-5", "\tt", "\rr", "-0.3", "plain"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+1", "'+1"),
        ("@a", "'@a"),
        ("-a", "'-a"),
        ("\tt", "'\tt"),
        ("\rr", "'\rr"),
        ("-5", "-5"),
        ("-0.3", "-0.3"),
        ("-1e-3", "-1e-3"),
        ("-", "'-"),
        ("plain", "plain"),
        ("", ""),
    ],
)
def test_escape_cell_follows_the_owasp_rule(value, expected):
    assert escape_cell(value) == expected


def _rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_every_csv_the_pipeline_writes_escapes_formula_cells(tmp_path):
    table = pd.DataFrame(
        {"name": [f"item {i % 2}" for i in range(len(IDS))]},
        index=pd.Index(IDS, name="id"),
    ).assign(entity=lambda t: t["name"])
    result = dedup(table, TableMatcher(), key=["name"], explain_method=None, source="=src")
    result.review = select_for_review(result.pairs)
    config = PipelineConfig(mode="dedup", inputs=("t.csv",), model="m", output=str(tmp_path))
    written = write_outputs(result, config, tmp_path)
    assert {"entities", "pairs", "review"} <= set(written)
    entities = _rows(tmp_path / "entities.csv")
    assert [r["id"] for r in entities] == [
        '\'=HYPERLINK("x")',
        "'+1",
        "'@a",
        "-5",
        "'\tt",
        "'\rr",
        "-0.3",
        "plain",
    ]
    assert {r["source"] for r in entities} == {"'=src"}
    for name in ("pairs.csv", "review.csv"):
        rows = _rows(tmp_path / name)
        assert rows, name
        cells = [r[c] for r in rows for c in ("ltable_id", "rtable_id")]
        assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")], name
        assert set(cells) <= {escape_cell(i) for i in IDS}
        # numbers stay numbers
        assert all(float(r["probability"]) >= 0 for r in rows)
    # the pipeline's own frames keep the ids as they are
    assert set(result.entities["id"]) == set(IDS)
