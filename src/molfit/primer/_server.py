"""The primer's local web server: static slides plus a small JSON API, on 127.0.0.1 only.

Standard library only (:class:`http.server.ThreadingHTTPServer`). Every file the page loads ships
in ``molfit/primer/static``; a Content-Security-Policy keeps the page off any other origin.

API (all JSON; errors are ``{"error": message}`` with status 400, or 503 while the model loads):

=====================  ====================================================================
``GET  /api/health``   ``{"ok": true, "model": "loading" | "ready" | "failed"}``
``GET  /api/molecule`` ``?smiles=``: SMILES, ECFP on-bits, structure SVG, graph (data slide)
``GET  /api/poly``     ``?degree=``: polynomial fit, train/test loss, loss-vs-degree sweep
``POST /api/gp``       ``{x, y, length_scale, noise}``: GP posterior mean, std, ±2σ band
``POST /api/pinn``     ``{physics_weight, steps}``: PINN fit of u'' = −u, losses
``GET  /api/model``    what the case-study model is and how well it did on held-out data
``GET  /api/predict``  ``?smiles=``: predicted hydration free energy with its uncertainty
=====================  ====================================================================

The science slides' endpoints (molecular dynamics, 3D properties, the "what to worry about"
demos) are in :mod:`molfit.primer._science_api`. An unexpected failure answers status 500 with
a one-line message, never a stack trace.
"""

from __future__ import annotations

import json
import mimetypes
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from molfit.errors import InputError, MolfitError
from molfit.primer._fits import gp_fit, polynomial_fit
from molfit.primer._molecule import ASPIRIN, molecule_panel
from molfit.primer._pinn import pinn_fit
from molfit.primer._property_model import PropertyModel
from molfit.primer._science import NotReady, Science
from molfit.primer._science_api import _NO_ROUTE, science_api

STATIC_PACKAGE = "molfit.primer.static"
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "font-src 'self'; connect-src 'self'; script-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
MAX_BODY = 1 << 20
MODEL_WAIT_S = 120.0


def _static_root() -> Path:
    return Path(str(resources.files("molfit.primer").joinpath("static")))


class _ModelSlot:
    """The case-study model, trained (or read from the cache) in a background thread."""

    def __init__(self, cache: Path | None, enabled: bool) -> None:
        self.ready = threading.Event()
        self.model: PropertyModel | None = None
        self.error: str | None = None if enabled else "the property model is disabled"
        self.thread: threading.Thread | None = None
        if enabled:
            self.thread = threading.Thread(target=self._load, args=(cache,), daemon=True)
            self.thread.start()
        else:
            self.ready.set()

    def _load(self, cache: Path | None) -> None:
        try:
            self.model = PropertyModel(cache)
        except Exception as exc:  # reported to the page, never a dead server
            self.error = f"the property model could not be trained: {exc}"
        finally:
            self.ready.set()

    @property
    def state(self) -> str:
        if not self.ready.is_set():
            return "loading"
        return "ready" if self.model is not None else "failed"

    def get(self) -> PropertyModel:
        self.ready.wait(MODEL_WAIT_S)
        if self.model is None:
            raise _ApiError(HTTPStatus.SERVICE_UNAVAILABLE, self.error or "the model is loading")
        return self.model


class _ApiError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class PrimerServer(ThreadingHTTPServer):
    """HTTP server on 127.0.0.1 that serves the primer; ``url`` is where to point a browser."""

    daemon_threads = True

    def __init__(self, port: int = 0, *, model: bool = True, cache: Path | None = None,
                 science: bool = True, models: dict[str, Path] | None = None) -> None:  # fmt: skip
        super().__init__(("127.0.0.1", port), _Handler)
        self.static_root = _static_root()
        self.model_slot = _ModelSlot(cache, model)
        self.science = Science(science, models)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>/``."""
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def busy(self) -> bool:
        """Whether a background preparation (shipped models, the case-study model) still runs."""
        thread = self.model_slot.thread
        return self.science.busy() or (thread is not None and thread.is_alive())

    def server_close(self) -> None:
        """Close the socket, then let the background preparation finish the step it is in
        (no thread is left inside compiled code when the interpreter exits)."""
        super().server_close()
        self.science.close()
        thread = self.model_slot.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(300.0)


def create_server(
    port: int = 0,
    *,
    model: bool = True,
    cache: Path | None = None,
    science: bool = True,
    models: dict[str, Path] | None = None,
) -> PrimerServer:
    """A ready-to-run primer server on 127.0.0.1; ``port=0`` picks a free port (see ``.url``).

    Args:
        port: TCP port, 0 for any free one.
        model: train/load the case-study model in the background (off for tests that skip it).
        cache: cache folder for the model (default ``$MOLFIT_CACHE_DIR`` or ``~/.cache/molfit``).
        science: load the shipped models and prepare the science slides in the background.
        models: ``{zoo name: run directory}`` in place of :func:`molfit.zoo.pretrained`.
    """
    return PrimerServer(port, model=model, cache=cache, science=science, models=models)


def _number(params: dict[str, Any], key: str, default: float | None = None) -> float:
    value = params.get(key, default)
    if isinstance(value, list):
        value = value[0]
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{key} must be a number, got {value!r}") from None
    return out


def _numbers(params: dict[str, Any], key: str) -> list[float]:
    value = params.get(key, [])
    if not isinstance(value, list) or len(value) > 500:
        raise InputError(f"{key} must be a list of at most 500 numbers")
    try:
        return [float(v) for v in value]
    except (TypeError, ValueError):
        raise InputError(f"{key} must be a list of numbers") from None


class _Handler(BaseHTTPRequestHandler):
    server: PrimerServer
    server_version = "molfit-primer"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the CLI prints the URL only
        return

    # --- plumbing ----------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json; charset=utf-8")

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise InputError("request body too large")
        try:
            payload = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError as exc:
            raise InputError(f"request body is not JSON: {exc}") from None
        if not isinstance(payload, dict):
            raise InputError("request body must be a JSON object")
        return payload

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        try:
            if parts.path.startswith("/api/"):
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                body = self._body() if method == "POST" else {}
                self._json(HTTPStatus.OK, self._api(method, parts.path, query, body))
            elif method == "GET":
                self._static(parts.path)
            else:
                raise _ApiError(HTTPStatus.METHOD_NOT_ALLOWED, f"{method} {parts.path}")
        except _ApiError as exc:
            self._json(exc.status, {"error": str(exc)})
        except NotReady as exc:
            self._json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": str(exc)})
        except MolfitError as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        except Exception as exc:  # one line for the page, never a stack trace
            self._json(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                {"error": f"internal error ({type(exc).__name__}): {exc}".strip()},
            )

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _static(self, path: str) -> None:
        rel = "index.html" if path in ("/", "/index.html") else path.removeprefix("/static/")
        root = self.server.static_root.resolve()
        target = (root / rel).resolve()
        if root not in target.parents or not target.is_file():
            raise _ApiError(HTTPStatus.NOT_FOUND, f"no such file: {path}")
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype.endswith(("javascript", "json", "svg+xml")):
            ctype += "; charset=utf-8"
        self._send(HTTPStatus.OK, target.read_bytes(), ctype)

    # --- the API -----------------------------------------------------------------------------
    def _api(self, method: str, path: str, query: dict[str, str], body: dict[str, Any]) -> Any:
        route = (method, path)
        if route == ("GET", "/api/health"):
            return {"ok": True, "model": self.server.model_slot.state}
        if route == ("GET", "/api/molecule"):
            return molecule_panel(query.get("smiles", ASPIRIN))
        if route == ("GET", "/api/poly"):
            degree = _number(query, "degree")
            if degree != int(degree):
                raise InputError(f"degree must be an integer, got {degree}")
            return polynomial_fit(int(degree))
        if route == ("POST", "/api/gp"):
            return gp_fit(
                _numbers(body, "x"),
                _numbers(body, "y"),
                length_scale=_number(body, "length_scale", 1.0),
                noise=_number(body, "noise", 1.0e-2),
            )
        if route == ("POST", "/api/pinn"):
            steps = _number(body, "steps", 400)
            if steps != int(steps):
                raise InputError(f"steps must be an integer, got {steps}")
            return pinn_fit(_number(body, "physics_weight", 0.5), steps=int(steps))
        if route == ("GET", "/api/model"):
            return self.server.model_slot.get().describe()
        if route == ("GET", "/api/predict"):
            smiles = query.get("smiles", "")
            return self.server.model_slot.get().predict(smiles)
        out = science_api(self.server.science, method, path, query, body)
        if out is _NO_ROUTE:
            raise _ApiError(HTTPStatus.NOT_FOUND, f"no such endpoint: {method} {path}")
        return out


def serve(port: int = 0, *, open_browser: bool = True, cache: Path | None = None) -> None:
    """Serve the primer until interrupted (Ctrl-C), printing its URL and opening a browser tab."""
    import webbrowser

    server = create_server(port, cache=cache)
    print(f"molfit primer: {server.url}  (Ctrl-C to stop)", flush=True)
    if open_browser:
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if server.busy():
            print("molfit primer: stopping once the background step in progress ends", flush=True)
        server.server_close()
