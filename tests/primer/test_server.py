"""The primer's HTTP server without a browser: routes, errors as JSON, offline headers."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest

from molfit.primer import create_server, polynomial_fit


@pytest.fixture(scope="module")
def server():
    srv = create_server(0, model=False)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def fetch(server, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(server.url.rstrip("/") + path, data=data)
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return res.status, res.headers, res.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def test_binds_loopback_only_and_serves_the_deck_with_a_strict_csp(server):
    assert server.server_address[0] == "127.0.0.1"
    status, headers, body = fetch(server, "/")
    assert status == 200
    assert b"Why ML for molecules?" in body and b"http" not in body.split(b"<body>")[1]
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    status, headers, _ = fetch(server, "/static/js/main.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")


def test_api_returns_molfit_numbers_and_json_errors(server):
    status, _, body = fetch(server, "/api/poly?degree=5")
    assert status == 200
    assert json.loads(body)["train_loss"] == polynomial_fit(5)["train_loss"]
    status, _, body = fetch(server, "/api/molecule?smiles=C1CC")
    assert status == 400
    assert "unclosed ring" in json.loads(body)["error"]
    status, _, body = fetch(server, "/api/gp", {"x": [0, 1], "y": [1], "length_scale": 1})
    assert status == 400 and "differ in length" in json.loads(body)["error"]
    status, _, body = fetch(server, "/api/predict?smiles=CCO")
    assert status == 503 and "disabled" in json.loads(body)["error"]
    assert fetch(server, "/api/nope")[0] == 404


def test_static_files_cannot_escape_the_package(server):
    assert fetch(server, "/static/../../errors.py")[0] == 404
    assert fetch(server, "/static/%2e%2e/%2e%2e/errors.py")[0] == 404


def test_cli_registers_the_primer_verb():
    from typer.testing import CliRunner

    from molfit.cli import _primer  # noqa: F401
    from molfit.cli._app import app

    result = CliRunner().invoke(app, ["primer", "--help"])
    assert result.exit_code == 0
    assert "--port" in result.output and "--no-browser" in result.output
