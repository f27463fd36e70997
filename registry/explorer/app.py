"""The explorer's web app: server-rendered pages over :class:`~registry.explorer.data.ExplorerData`.

Read-only: every route is a GET except the two verify routes, which re-fetch and re-hash through the
auditor and send no transaction. Jinja2 autoescapes every value (CIDs, reasons, addresses and every other
string read from the chain or IPFS are untrusted); a strict Content-Security-Policy allows only the app's
own script and stylesheet; requests must name the loopback host (DNS rebinding is refused).
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timezone
from enum import IntEnum
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.trustedhost import TrustedHostMiddleware

from registry.chain import DpParameters, events
from registry.chain.errors import (
    ChainError,
    UnknownArtifactError,
    UnknownFederationError,
    UnknownModelVersionError,
    UnknownRoundError,
)
from registry.explorer.data import ExplorerData
from registry.explorer.graph import histogram, line_chart, lineage_graph, png_gray, short
from registry.roles import Check, RoleError, Verification
from registry.store import StoreError

HERE = Path(__file__).parent
ALLOWED_HOSTS = ("127.0.0.1", "localhost")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
COMPOSITION = ("basic composition: the per-round ε summed over the lineage's DP rounds, an upper bound (an "
               "accountant composing the same mechanisms gives a tighter one)")
_POSITION_FIELDS = frozenset({"block_number", "transaction_hash", "log_index", "federation_id"})
_NOT_FOUND = (UnknownFederationError, UnknownRoundError, UnknownModelVersionError, UnknownArtifactError)


def create_app(data: ExplorerData) -> FastAPI:
    """The explorer app over ``data`` (no docs or OpenAPI routes)."""
    app = FastAPI(title="FLEP audit explorer", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(ALLOWED_HOSTS))
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.filters.update(short=short, time=_time, dp=_dp_text, kind=_kind, details=_details)
    templates = Jinja2Templates(env=env)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.middleware("http")
    async def headers(request: Request, call_next):  # noqa: ANN001, ANN202 - Starlette's middleware signature
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {"block": data.block, **context},
                                          status_code=status_code)

    @app.exception_handler(ChainError)
    @app.exception_handler(RoleError)
    @app.exception_handler(StoreError)
    @app.exception_handler(OSError)  # requests' ConnectionError and timeouts are OSErrors
    async def failed(request: Request, exc: Exception) -> Response:
        status = 404 if isinstance(exc, _NOT_FOUND) else 503 if isinstance(exc, OSError) else 502
        message = str(exc) or type(exc).__name__
        if isinstance(exc, OSError):
            message = f"the chain or the IPFS node did not answer ({message}); is the devnet up?"
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse({"error": message}, status_code=status)
        return page(request, "error.html", status, status=status, message=message)

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        return page(request, "index.html", federations=data.federations(), registry=data.registry.address)

    @app.get("/federation/{fid}", response_class=HTMLResponse)
    def federation(request: Request, fid: int) -> HTMLResponse:
        summary = data.federation(fid)
        versions = data.versions(fid)
        chart = line_chart([(f"v{v.version}", v.accuracy) for v in versions], y_max=1.0)
        return page(request, "federation.html", fid=fid, federation=summary, versions=versions, accuracy=chart,
                    rounds=data.rounds(fid))

    @app.get("/federation/{fid}/model/{version}", response_class=HTMLResponse)
    def model(request: Request, fid: int, version: int) -> HTMLResponse:
        lineage = data.lineage(fid, version)
        graph = lineage_graph(lineage, f"/federation/{fid}")
        return page(request, "lineage.html", fid=fid, lineage=lineage, graph=graph,
                    epsilon=_epsilon_chart(lineage, None), composition=COMPOSITION)

    @app.get("/federation/{fid}/round/{number}", response_class=HTMLResponse)
    def round_(request: Request, fid: int, number: int) -> HTMLResponse:
        view = data.round(fid, number)
        finalized = next((e.record for e in view.timeline if isinstance(e.record, events.RoundFinalized)), None)
        lineage = data.lineage(fid, view.model_version) if view.model_version else None
        badges = _badges(view.verification)
        return page(request, "round.html", fid=fid, view=view, finalized=finalized, lineage=lineage, badges=badges,
                    epsilon=_epsilon_chart(lineage, f"v{view.model_version}") if lineage else None,
                    composition=COMPOSITION)

    @app.get("/federation/{fid}/access", response_class=HTMLResponse)
    def access(request: Request, fid: int) -> HTMLResponse:
        data.federation(fid)
        return page(request, "access.html", fid=fid, entries=data.access(fid))

    @app.get("/federation/{fid}/dataset/{artifact_id}", response_class=HTMLResponse)
    def dataset(request: Request, fid: int, artifact_id: int) -> HTMLResponse:
        view = data.dataset(fid, artifact_id)
        bars = histogram(view.cipher.histogram) if view.cipher else None
        return page(request, "dataset.html", fid=fid, view=view, histogram=bars)

    @app.get("/federation/{fid}/dataset/{artifact_id}/cipher.png")
    def cipher_png(fid: int, artifact_id: int) -> Response:
        view = data.dataset(fid, artifact_id)
        if view.cipher is None:
            return Response(view.cipher_error, status_code=404, media_type="text/plain")
        return Response(png_gray(view.cipher.image), media_type="image/png")

    @app.post("/federation/{fid}/verify/artifact/{artifact_id}")
    def verify_artifact(request: Request, fid: int, artifact_id: int) -> Response:
        return _verified(request, fid, data.verify_artifact(fid, artifact_id))

    @app.post("/federation/{fid}/verify/round/{number}")
    def verify_round(request: Request, fid: int, number: int) -> Response:
        return _verified(request, fid, data.verify_round(fid, number))

    def _verified(request: Request, fid: int, result: Verification) -> Response:
        """The checks as JSON (the pages' verify buttons), or as a page (a form posted without JavaScript)."""
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse({"target": result.target, "federation": fid, "ok": result.ok,
                                 "checks": [_check_json(c) for c in result.checks]})
        return page(request, "verify.html", fid=fid, result=result)

    return app


def _check_json(check: Check) -> dict[str, Any]:
    return {"subject": check.subject, "check": check.name, "ok": check.ok, "detail": check.detail,
            "artifact_id": check.artifact_id}


def _badges(verification: Verification) -> dict[int, list[Check]]:
    """A verification's checks by the artifact they are about."""
    found: dict[int, list[Check]] = {}
    for check in verification.checks:
        if check.artifact_id is not None:
            found.setdefault(check.artifact_id, []).append(check)
    return found


def _epsilon_chart(lineage, highlight: str | None):  # noqa: ANN001, ANN202 - Lineage | None -> Chart | None
    if lineage is None:
        return None
    return line_chart([(f"v{r.version}", r.cumulative_epsilon) for r in reversed(lineage.rounds)],
                      highlight=highlight)


def _time(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _kind(value: IntEnum) -> str:
    return value.name.lower()


def _dp_text(dp: DpParameters) -> str:
    if not dp.enabled:
        return "none"
    return f"ε {dp.epsilon:g}, δ {dp.delta:g}, σ {dp.noise_multiplier:g}, C {dp.clip_norm:g} ({dp.accountant})"


def _value(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, IntEnum):
        return value.name.lower()
    if isinstance(value, DpParameters):
        return _dp_text(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return str(value)


def _details(record: events.EventRecord) -> list[tuple[str, str]]:
    """An event's arguments as (name, value) text pairs; the template escapes them."""
    return [(f.name, _value(getattr(record, f.name))) for f in fields(record) if f.name not in _POSITION_FIELDS]
