from __future__ import annotations

import dataclasses
import html
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from data import RecordPairs
from explain import (
    Counterfactual,
    EntityLink,
    EntityView,
    Explainer,
    FieldEdit,
    FieldScore,
    TopFieldCheck,
    render_html,
    write_html,
)

ATTACKS = [
    "<img src=x onerror=alert(1)>",
    "</script><script>alert(2)</script>",
    '" onmouseover="alert(3)',
    "<!-- {{ 7*7 }} -->",
]
TEMPLATE_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p", "main",
    "div", "span", "b", "button", "table", "thead", "tbody", "tr", "th", "td", "a", "section",
    "script",
}  # fmt: skip


class Elements(HTMLParser):
    """Every element and attribute of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += attrs

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> Elements:
    parser = Elements()
    parser.feed(page)
    return parser


def check_no_element_from_record_text(page: str) -> None:
    doc = parse(page)
    assert set(doc.tags) <= TEMPLATE_TAGS, set(doc.tags) - TEMPLATE_TAGS
    assert doc.tags.count("script") == 1
    assert not [name for name, _ in doc.attributes if name.startswith("on")]
    text = "".join(doc.text)
    for attack in ATTACKS:
        assert attack in text  # shown as text, in full


@pytest.fixture(scope="module")
def attack_explanations(tiny_matcher):
    records = [
        ({"title": ATTACKS[0], "brand": ATTACKS[2]}, {"title": "<b>bold</b> tv", "brand": "x"}),
        ({"title": ATTACKS[1], "brand": "sony"}, {"title": ATTACKS[3], "brand": None}),
    ]
    pairs = RecordPairs.from_records(records, labels=[1, 0])
    pairs.pairs["review_reason"] = [ATTACKS[1], "random sample"]
    return Explainer(tiny_matcher).explain(pairs, progress=False)


def attack_entities(explanations) -> list[EntityView]:
    e = explanations[0]
    return [
        EntityView(
            ATTACKS[0],
            records={e.left_id: dict(e.left), "x9": {"title": ATTACKS[3], "brand": None}},
            links=[EntityLink(e.left_id, e.right_id, 0.7), EntityLink("x9", e.left_id, 0.2)],
            right_records={e.right_id: dict(e.right)},
        )
    ]


def test_record_text_is_escaped(attack_explanations):
    entities = attack_entities(attack_explanations)
    page = render_html(attack_explanations, title="<i>report</i>", entities=entities)
    assert "<img" not in page and "<b>bold" not in page and "<i>report" not in page
    assert html.escape(ATTACKS[0], quote=False) in page
    check_no_element_from_record_text(page)


class ValueCells(HTMLParser):
    """The text of every ``<td class="value">`` cell, in page order."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self.depth = 0

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.depth += 1
        elif tag == "td" and ("class", "value") in attrs:
            self.depth = 1
            self.cells.append("")

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.cells[-1] += data


def test_values_are_shown_whole_with_every_token_highlighted(attack_explanations):
    page = render_html(attack_explanations)
    parser = ValueCells()
    parser.feed(page)
    expected = [
        record.get(f.attribute) or "(missing)"
        for e in attack_explanations
        for f in e.fields
        for record in (e.left, e.right)
    ]
    assert parser.cells == expected
    titles = {v for k, v in parse(page).attributes if k == "title"}
    for e in attack_explanations:
        for t in e.tokens:
            assert f"{t.text}: {t.score:+.4f}" in titles
    assert page.count('class="tok"') == sum(len(e.tokens) for e in attack_explanations)


def test_index_filters_need_labels(attack_explanations, tmp_path):
    labelled = write_html(attack_explanations, tmp_path / "labelled.html")
    page = labelled.read_text(encoding="utf-8")
    assert 'data-filter="FP"' in page and 'data-filter="FN"' in page
    assert page.count('data-outcome="') == len(attack_explanations)
    unlabelled = [e.__class__(**{**e.__dict__, "label": None}) for e in attack_explanations]
    page = render_html(unlabelled)
    assert 'data-filter="FP"' not in page and 'data-filter="all"' in page


def test_report_is_self_contained(attack_explanations):
    page = render_html(attack_explanations)
    doc = parse(page)
    urls = [v for k, v in doc.attributes if k in ("src", "href") and v]
    assert all(u.startswith("#") for u in urls), urls
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert render_html([]).count("<section") == 0


CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None
)


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_browser_builds_no_element_from_record_text(attack_explanations, tmp_path: Path):
    entities = attack_entities(attack_explanations)
    report = write_html(attack_explanations, tmp_path / "report.html", entities=entities)
    profile = tmp_path / "profile"
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--dump-dom",
            report.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert "<section" in dom, dom[:500]
    check_no_element_from_record_text(dom)
    assert 'class="entity"' in dom


def _with_checks(e, **changes):
    return dataclasses.replace(e, **changes)


def test_pairs_show_the_counterfactual_the_check_the_rule_and_the_reason(attack_explanations):
    first, second = attack_explanations
    match = _with_checks(
        first,
        probability=0.8,
        threshold=0.5,
        decision=1,
        decision_rule="one-to-one linkage at threshold 0.032",
        counterfactual=Counterfactual((FieldEdit("title", "blank", "both"),), 0.2, 0, 9),
        counterfactual_calls=9,
        top_field_check=TopFieldCheck(first.fields[0].attribute, 0.35),
    )
    rejected = _with_checks(
        second,
        probability=0.1,
        threshold=0.5,
        decision=0,
        decision_rule=None,
        counterfactual=None,
        counterfactual_calls=30,
        top_field_check=None,
    )
    merged = _with_checks(second, probability=0.1, threshold=0.5, decision=1, counterfactual=None)
    page = render_html([match, rejected, merged])
    text = " ".join(" ".join(parse(page).text).split())
    assert 'This pair would not be a match without the "title".' in text
    assert "P(match) 0.800 → 0.200 (threshold 0.500), found with 9 model calls" in text
    attribute = first.fields[0].attribute
    assert f"Without “{attribute}” on both sides, P(match) goes from 0.800 to 0.350" in text
    assert "its score would fall below the threshold" in text
    assert "decided by: one-to-one linkage at threshold 0.032" in text
    assert "decided by: P(match) >= threshold 0.500" in text
    assert "No counterfactual: none found within 30 model calls." in text
    assert "No counterfactual: not searched: the decision comes from" in text
    assert "Counterfactuals found for 1 of 3." in text


def test_the_index_lists_and_filters_review_reasons(attack_explanations):
    page = render_html(attack_explanations)
    doc = parse(page)
    reasons = [v for k, v in doc.attributes if k == "data-reason"]
    # one filter button per reason, one row attribute per pair
    assert sorted(reasons) == sorted([ATTACKS[1], "random sample"] * 2)
    assert page.count('data-filter="reason"') == 2
    assert ">review reason</th>" in page
    plain = [dataclasses.replace(e, review_reason=None) for e in attack_explanations]
    assert 'data-filter="reason"' not in render_html(plain)


def test_entities_list_records_and_links_weakest_first(attack_explanations):
    entities = attack_entities(attack_explanations)
    page = render_html(attack_explanations, entities=entities)
    assert page.count('<section class="entity"') == 1
    links = page[page.index('class="entity links"') :]
    assert links.index("0.200") < links.index("0.700")  # weakest link first
    assert '<a href="#pair-0">explanation</a>' in links  # the explained pair is linked
    assert "3 records, 2 scored pairs" in page
    assert render_html(attack_explanations).count('<section class="entity"') == 0
    with pytest.raises(ValueError, match="names a record the entity does not hold"):
        EntityView("e1", records={"a": {}}, links=[EntityLink("a", "b", 0.5)])
    with pytest.raises(ValueError, match="probability must be in"):
        EntityLink("a", "b", 1.5)


@pytest.mark.parametrize(
    ("score", "without", "verdict"),
    [
        (0.6, 0.2, "As the explanation says: the field pushed towards match"),
        (-0.6, 0.95, "As the explanation says: the field pushed towards no match"),
        (0.6, 0.95, "Unlike what the explanation says: the probability moved the other way"),
        (0.6, 0.8, "Unlike what the explanation says, the probability did not move"),
        (0.001, 0.8001, "The probability did not move, as the field's near-zero score says"),
        (0.001, 0.3, "The explanation gave the field almost no weight, yet the probability moved"),
    ],
)
def test_the_check_says_whether_it_bears_the_explanation_out(
    attack_explanations, score, without, verdict
):
    e = dataclasses.replace(
        attack_explanations[0],
        probability=0.8,
        threshold=0.5,
        decision=1,
        fields=(FieldScore("title", score / 2, score / 2),),
        top_field_check=TopFieldCheck("title", without),
    )
    text = " ".join(" ".join(parse(render_html([e])).text).split())
    assert f"{verdict}; the explanation gave it {score:+.3f}" in text
