"""``bem label --serve``: the labelling session as a local web page.

A Starlette app (served by uvicorn; both from the ``web`` extra) with one page
and three actions, every path under a per-session random token::

    GET  /<token>/                the current question (HTML, Jinja2, autoescaped)
    GET  /<token>/static/<file>   the page's script and style sheet
    GET  /<token>/state           the question and the progress as JSON
    POST /<token>/answer          {"left_id", "right_id", "answer": "1" | "0" | "unsure"}
    POST /<token>/undo            retract the latest answer
    POST /<token>/quit            close the session and stop the server

A request whose path does not start with the token gets 403, so another local
user or a web page in the browser (which cannot know the token) can neither
read the records nor answer. The server binds 127.0.0.1 unless told otherwise;
there it also checks the ``Host`` header (no DNS rebinding). Answers go through
:meth:`LabelSession.answer`: appended and flushed before the reply. The page
sends the pair it shows with each answer, so a stale page (two tabs, a double
key press) is refused with 409 instead of labelling the wrong pair. The page
loads no outside resource and runs under a strict Content-Security-Policy.
"""

from __future__ import annotations

import logging
import math
import secrets
import socket
import threading
from collections.abc import Callable
from importlib import resources
from typing import TYPE_CHECKING, Any

from bem.label.console import format_status
from bem.label.question import signed

if TYPE_CHECKING:
    from bem.label.engine import LabelSession
    from bem.label.question import Question

__all__ = ["LabelServer", "create_app", "serve"]

logger = logging.getLogger(__name__)

STATIC = {"label.js": "text/javascript", "label.css": "text/css"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _require_web() -> None:
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"bem label --serve needs starlette and uvicorn ({exc.name} is missing): "
            "pip install 'bem[web]'"
        ) from None


def _level(score: float | None, scale: float) -> str:
    """A CSS class for a score: ``pos1``..``pos4``, ``neg1``..``neg4`` or ``zero``."""
    if score is None or abs(score) < max(0.005, 0.05 * scale):  # shown as 0.00: no shade
        return "zero"
    level = min(4, max(1, math.ceil(4 * abs(score) / scale)))
    return f"{'pos' if score > 0 else 'neg'}{level}"


def _view(q: Question) -> dict[str, Any]:
    rows = q.fields()
    sides = [abs(s) for r in rows for s in (r.left_score, r.right_score) if s is not None]
    scale = max([0.01, *sides])
    return {
        "q": q,
        "rows": [
            {
                "row": r,
                "left_class": _level(r.left_score, scale),
                "right_class": _level(r.right_score, scale),
                "left_score": signed(r.left_score),
                "right_score": signed(r.right_score),
            }
            for r in rows
        ],
    }


def _environment():
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(
        loader=PackageLoader("bem.label", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )


def create_app(
    session: LabelSession,
    *,
    token: str,
    on_quit: Callable[[], None] | None = None,
    allowed_hosts: tuple[str, ...] | None = None,
):
    """The Starlette app of ``session``, every path under ``/<token>/``.

    ``on_quit`` runs after ``POST /<token>/quit`` closed the session (the server
    stops there); ``allowed_hosts`` limits the ``Host`` header (``None``: any).
    """
    _require_web()
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
    from starlette.routing import Route

    if len(token) < 16:
        raise ValueError("the token must have at least 16 characters (use secrets.token_urlsafe)")
    env = _environment()
    page = env.get_template("label.html.j2")
    static = {
        name: (resources.files("bem.label").joinpath("static", name).read_bytes(), kind)
        for name, kind in STATIC.items()
    }
    headers = {
        "Content-Security-Policy": CSP,
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    closed = threading.Event()

    class TokenGuard:
        """Refuse (403) every request whose first path segment is not the token."""

        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                first = scope.get("path", "/").lstrip("/").split("/", 1)[0]
                if not secrets.compare_digest(first.encode(), token.encode()):
                    response = PlainTextResponse("forbidden: this page needs its token", 403)
                    await response(scope, receive, send)
                    return
            await self.app(scope, receive, send)

    def state(q: Question | None) -> dict[str, Any]:
        p = session.status()
        return {
            "question": None if q is None else q.to_dict(),
            "progress": p.to_dict(),
            "closed": closed.is_set(),
        }

    def index(request: Request) -> Response:
        if closed.is_set():
            return PlainTextResponse("this labelling session is closed", 410, headers=headers)
        q = session.next_question()
        progress = session.status()
        html = page.render(
            view=None if q is None else _view(q),
            progress=progress,
            summary=format_status(progress).splitlines()[0],
            labels=str(session.labels),
        )
        return Response(html, media_type="text/html", headers=headers)

    def bare(request: Request) -> Response:
        return RedirectResponse(f"/{token}/", 307)

    def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in static:
            return PlainTextResponse("not found", 404)
        body, kind = static[name]
        return Response(body, media_type=kind, headers=headers)

    def get_state(request: Request) -> Response:
        q = None if closed.is_set() else session.next_question()
        return JSONResponse(state(q), headers=headers)

    async def answer(request: Request) -> Response:
        try:
            body = await request.json()
            pair = (str(body["left_id"]), str(body["right_id"]))
            value = str(body["answer"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "send JSON: left_id, right_id, answer"}, 400)
        from starlette.concurrency import run_in_threadpool

        try:
            await run_in_threadpool(session.answer, value, pair=pair)
        except ValueError as exc:  # a stale page, or no open question
            return JSONResponse({"error": str(exc)}, 409, headers=headers)
        except RuntimeError as exc:  # closed
            return JSONResponse({"error": str(exc)}, 410, headers=headers)
        return JSONResponse({"ok": True}, headers=headers)

    def undo(request: Request) -> Response:
        try:
            undone = session.undo()
        except RuntimeError as exc:
            return JSONResponse({"error": str(exc)}, 410, headers=headers)
        return JSONResponse({"ok": True, "undone": None if undone is None else undone.pair})

    def quit_(request: Request) -> Response:
        if not closed.is_set():
            closed.set()
            progress = session.status()
            session.close()
            if on_quit is not None:
                on_quit()
        else:
            progress = None
        text = f"session closed; every answer is in {session.labels}"
        if progress is not None:
            text += f" ({progress.answered} answered)"
        return JSONResponse({"ok": True, "message": text}, headers=headers)

    routes = [
        Route(f"/{token}", bare),
        Route(f"/{token}/", index),
        Route(f"/{token}/static/{{name}}", asset),
        Route(f"/{token}/state", get_state),
        Route(f"/{token}/answer", answer, methods=["POST"]),
        Route(f"/{token}/undo", undo, methods=["POST"]),
        Route(f"/{token}/quit", quit_, methods=["POST"]),
    ]
    middleware = [Middleware(TokenGuard)]
    if allowed_hosts:
        middleware.insert(0, Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))
    return Starlette(routes=routes, middleware=middleware)


class LabelServer:
    """A uvicorn server for ``session``'s page, bound when constructed.

    Args:
        session: a started :class:`~bem.label.engine.LabelSession`.
        host: the address to bind (default 127.0.0.1: this machine only).
        port: the port; 0 picks a free one.
        token: the URL token (default: 22 random URL-safe characters).

    :attr:`url` is the page's address, token included.
    """

    def __init__(
        self,
        session: LabelSession,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
    ) -> None:
        _require_web()
        import uvicorn

        self.session = session
        self.token = token or secrets.token_urlsafe(16)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host, self.port = host, self._socket.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}/{self.token}/"
        # on loopback, a Host header naming another site is DNS rebinding: refuse it
        hosts = ("127.0.0.1", "localhost") if host in LOOPBACK[:2] else None
        app = create_app(session, token=self.token, on_quit=self.stop, allowed_hosts=hosts)
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        """Serve until the page's quit, :meth:`stop` or Ctrl-C."""
        self._server.run(sockets=[self._socket])

    def start(self) -> LabelServer:
        """Serve from a background thread; returns once the server is up."""
        self._thread = threading.Thread(target=self.run, name="bem-label-web", daemon=True)
        self._thread.start()
        while not self._server.started and self._thread.is_alive():
            threading.Event().wait(0.02)
        return self

    def stop(self) -> None:
        """Ask the server to stop (it finishes the request in flight)."""
        self._server.should_exit = True

    def join(self, timeout: float | None = None) -> None:
        """Wait for a :meth:`start`-ed server to stop."""
        if self._thread is not None:
            self._thread.join(timeout)
        self._socket.close()


def serve(
    session: LabelSession,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    token: str | None = None,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``session``'s page until it is quit; ``ready(url)`` is called once
    the address is known (the CLI prints it)."""
    server = LabelServer(session, host=host, port=port, token=token)
    if ready is not None:
        ready(server.url)
    server.run()
