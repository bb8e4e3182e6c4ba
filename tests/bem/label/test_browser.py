"""The label page in headless Chromium, driven with the keyboard."""

from __future__ import annotations

import time

import pytest

from bem.label import read_labels
from tests.bem.label.cdp import CHROMIUM, Browser
from tests.bem.label.helpers import start_session

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

SHOWN = (
    "[document.getElementById('pair').dataset.left, document.getElementById('pair').dataset.right]"
)


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_the_keyboard_labels_undoes_and_a_reload_keeps_the_answers(records, tiny_matcher, tmp_path):
    from bem.label import LabelServer

    path = tmp_path / "labels.csv"
    session = start_session(records, tiny_matcher, path)
    server = LabelServer(session).start()
    browser = Browser(tmp_path / "profile")
    try:
        browser.open(server.url)
        given = []
        for key, label in (("y", "1"), ("n", "0"), ("u", "unsure")):
            pair = tuple(browser.evaluate(SHOWN))
            browser.press(key)
            given.append((pair, label))
        third = given[-1][0]
        browser.press("z")  # undo: the third pair is shown again
        assert tuple(browser.evaluate(SHOWN)) == third
        browser.press("y")
        given[-1] = (third, "1")
        shown = tuple(browser.evaluate(SHOWN))
        browser.reload()  # a reload shows the same question and answers nothing
        assert tuple(browser.evaluate(SHOWN)) == shown
        text = browser.evaluate("document.body.innerText")
        assert "P(match)" in text and "Why this pair" in text
        browser.press("q", reloads=False)
        deadline = time.monotonic() + 60
        while "session closed" not in (browser.evaluate("document.body.innerText") or ""):
            assert time.monotonic() < deadline, "quit did not close the session"
            time.sleep(0.2)
    finally:
        browser.close()
        server.stop()
        server.join(30)
        session.close()
    rows = [line.split(",")[:3] for line in path.read_text().splitlines()[1:]]
    assert [r[2] for r in rows] == ["1", "0", "unsure", "undo", "1"]
    current = read_labels(path, unordered=True)
    got = {(a, b): y for a, b, y in current[["ltable_id", "rtable_id", "label"]].values}
    assert got == dict(given)
