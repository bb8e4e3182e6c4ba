"""The README's results table is generated from bench/results and cannot drift."""

from __future__ import annotations

from bench import readme_table


def test_readme_table_matches_the_results_files():
    text = readme_table.README.read_text(encoding="utf-8")
    assert readme_table.render(text) == text, "run: python bench/readme_table.py"
    assert readme_table.main(["--check"]) == 0


def test_every_row_names_its_command():
    body = readme_table.table().split("|---|---|---|---|")[1]
    rows = [line for line in body.splitlines() if line.startswith("| ")]
    assert rows
    for line in rows:
        assert "`python bench/" in line.split(" | ")[-1], line


def test_in_sample_pipeline_rows_are_never_quoted():
    old = {"dblp_acm": {"f1": 0.995, "baseline_f1": 0.953, "seconds": 200}}
    assert readme_table.pipeline_rows(old) == []
    new = {
        "dblp_acm": {
            "f1": 0.97,
            "baseline_f1": 0.9,
            "clustering": "one-to-one",
            "baseline_clustering": "one-to-one",
            "train_overlap_pairs": 0,
            "train_overlap_records": 0,
            "command": "python bench/pipeline.py --no-scale",
        }
    }
    (row,) = readme_table.pipeline_rows(new)
    assert "0.970 vs 0.900" in row[1] and "seen in training: 0" in row[2]
