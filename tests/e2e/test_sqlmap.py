"""sqlmap, the injection scanner a security team runs first, against the search parameters of
the local run on both backends (OWASP API8:2023, injection): GET `q` and `genre`, and POST
`query` in JSON, with a valid token, `--batch --level 3 --risk 2`, bounded in time. The test
fails if sqlmap finds an injection point, and also if it did not reach a verdict for every
parameter (a scan that could not test is no pass)."""

import re
import subprocess

import pytest

from conftest import ROOT

SQLMAP = ROOT / ".venv/bin/sqlmap"
# Generous for this machine (a full level 3 / risk 2 pass over one parameter takes about a
# minute here); a scan that has not finished by then fails the test rather than passing it.
TIMEOUT_S = 600


def token(srv):
    creds = srv.creds()
    r = srv.form("/token", {"grant_type": "password", "client_id": creds["OASIS_DEMO_CLIENT"],
                            "username": creds["OASIS_DEMO_USER"], "password": creds["OASIS_DEMO_PASSWORD"], "scope": "search"})
    assert r.status == 200, r.body
    return r.json()["access_token"]


def scan(srv, tmp_path, target_args, params, headers=()):
    assert SQLMAP.exists(), "sqlmap is missing from .venv: make tools"
    all_headers = "\n".join([f"Authorization: Bearer {token(srv)}", *headers])
    cmd = [str(SQLMAP), *target_args, "--headers", all_headers, "-p", ",".join(params),
           "--batch", "--level", "3", "--risk", "2", "--flush-session", "--output-dir", str(tmp_path / "sqlmap"),
           "--timeout", "15", "--retries", "1", "--disable-coloring"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
    text = out.stdout + out.stderr
    assert "identified the following injection point" not in text and not re.search(r"parameter '[^']+' (is|appears to be) .*injectable", text), text[-4000:]
    assert "all tested parameters do not appear to be injectable" in text, f"sqlmap reached no verdict:\n{text[-4000:]}"
    for p in params:
        # Each parameter's own verdict ("GET parameter 'q' does not seem to be injectable").
        assert re.search(rf"parameter '(JSON )?{p}' does not seem to be injectable", text), f"no verdict on {p}:\n{text[-4000:]}"
    return text


@pytest.mark.parametrize("backend", ["server", "dynamodb_server"])
def test_sqlmap_finds_no_injection_in_the_search_query_string(backend, request, tmp_path):
    srv = request.getfixturevalue(backend)
    scan(srv, tmp_path, ["-u", f"{srv.url}/search?q=matrix&genre=drama"], ["q", "genre"])


@pytest.mark.parametrize("backend", ["server", "dynamodb_server"])
def test_sqlmap_finds_no_injection_in_the_search_json_body(backend, request, tmp_path):
    srv = request.getfixturevalue(backend)
    scan(srv, tmp_path, ["-u", f"{srv.url}/search", "--data", '{"query": "matrix"}', "--method", "POST"], ["query"],
         headers=["Content-Type: application/json"])
