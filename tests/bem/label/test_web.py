"""``bem label --serve``: the token guard, the page, the answers it sends."""

from __future__ import annotations

import pandas as pd
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient

from bem.label import create_app, read_labels
from tests.bem.label.helpers import start_session

TOKEN = "t0ken-for-the-tests-only"


@pytest.fixture
def session(records, tiny_matcher, tmp_path):
    hostile = records.copy()
    hostile.iloc[0, 1] = '<script>alert("x")</script> & "quotes"'
    with start_session(hostile, tiny_matcher, tmp_path / "labels.csv") as s:
        yield s


@pytest.fixture
def client(session):
    return TestClient(create_app(session, token=TOKEN))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/"),
        ("get", "/static/label.js"),
        ("get", "/state"),
        ("post", "/answer"),
        ("post", "/undo"),
        ("post", "/quit"),
        ("get", "/favicon.ico"),
        ("get", f"/{TOKEN[:-1]}/"),
        ("get", f"/x{TOKEN}/"),
        ("get", f"/static/{TOKEN}/label.js"),
    ],
)
def test_a_request_without_the_token_is_refused(client, session, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 403
    assert session.log_.answers == []  # nothing was answered


def test_the_page_shows_the_question_escaped_with_a_strict_policy(client, session):
    response = client.get(f"/{TOKEN}/")
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"
    q = session.next_question()
    html = response.text
    assert f'data-left="{q.left_id}"' in html and f'data-right="{q.right_id}"' in html
    assert f"{q.probability:.2f}" in html
    assert "<script>alert" not in html
    for key in ("<kbd>Y</kbd>", "<kbd>N</kbd>", "<kbd>U</kbd>", "<kbd>Z</kbd>", "<kbd>Q</kbd>"):
        assert key in html
    assert (
        client.get(f"/{TOKEN}/static/label.js")
        .headers["content-type"]
        .startswith("text/javascript")
    )
    assert client.get(f"/{TOKEN}/static/nope.js").status_code == 404
    assert client.get(f"/{TOKEN}", follow_redirects=False).status_code == 307


def test_the_hostile_record_is_escaped_wherever_it_shows(client, session, records):
    first = records.index[0]
    while (q := session.next_question()) is not None and first not in q.pair:
        session.answer(0)
    assert q is not None
    html = client.get(f"/{TOKEN}/").text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;quotes&#34;" in html
    assert "<script>alert" not in html


def test_answers_undo_and_quit_go_through_the_session(client, session, tmp_path):
    q = session.next_question()
    body = {"left_id": q.left_id, "right_id": q.right_id, "answer": "1"}
    assert client.post(f"/{TOKEN}/answer", json=body).json() == {"ok": True}
    # the same page sending again (a double key press) is refused: that pair is answered
    assert client.post(f"/{TOKEN}/answer", json=body).status_code == 409
    assert client.post(f"/{TOKEN}/answer", content=b"not json").status_code == 400
    state = client.get(f"/{TOKEN}/state").json()
    assert state["progress"]["matches"] == 1 and state["question"]["number"] == 2
    second = state["question"]
    assert {f["attribute"] for f in second["fields"]} == {"brand", "title", "price"}
    body = {"left_id": second["left_id"], "right_id": second["right_id"], "answer": "unsure"}
    assert client.post(f"/{TOKEN}/answer", json=body).status_code == 200
    assert client.post(f"/{TOKEN}/undo").json()["undone"] == [
        second["left_id"],
        second["right_id"],
    ]
    assert client.get(f"/{TOKEN}/state").json()["question"]["left_id"] == second["left_id"]
    message = client.post(f"/{TOKEN}/quit").json()["message"]
    assert "session closed" in message and "1 answered" in message
    assert client.get(f"/{TOKEN}/").status_code == 410
    labels = pd.read_csv(tmp_path / "labels.csv", dtype=str)
    assert labels["label"].tolist() == ["1", "unsure", "undo"]
    assert read_labels(tmp_path / "labels.csv", unordered=True)["label"].tolist() == ["1"]


def test_the_server_binds_loopback_and_refuses_other_hosts(session):
    import httpx

    from bem.label import LabelServer

    server = LabelServer(session).start()
    try:
        assert server.url.startswith("http://127.0.0.1:") and server.token in server.url
        assert len(server.token) >= 20
        assert httpx.get(server.url).status_code == 200
        bare = server.url.replace(server.token + "/", "")
        assert httpx.get(bare).status_code == 403
        rebound = httpx.get(server.url, headers={"Host": "evil.example"})
        assert rebound.status_code == 400
    finally:
        server.stop()
        server.join(10)


def test_a_missing_web_extra_says_what_to_install(monkeypatch, session):
    import builtins

    real = builtins.__import__

    def no_uvicorn(name, *args, **kwargs):
        if name == "uvicorn":
            raise ImportError("No module named 'uvicorn'", name="uvicorn")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_uvicorn)
    from bem.label.web import LabelServer

    with pytest.raises(ImportError, match=r"pip install 'bem\[web\]'"):
        LabelServer(session)
