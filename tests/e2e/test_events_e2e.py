"""Every sample event in events/ replayed through `cargo lambda invoke` against the running
functions, with the status events/index.json documents. Events that need a token get a
fresh one from the real token endpoint in place of their ACCESS_TOKEN placeholder. A
documented error is the JSON body's `error`, or for a redirect (the sign-in pages' 303 to a
client) the `error` parameter of its Location."""

import json
import subprocess
from urllib.parse import parse_qs, urlsplit

from conftest import ROOT


def token_for(server, auth):
    creds = server.creds()
    if auth.get("client"):
        r = server.form("/token", {"grant_type": "client_credentials", "client_id": creds["OASIS_SERVICE_CLIENT"],
                                   "client_secret": creds["OASIS_SERVICE_SECRET"], "scope": auth["scope"]})
    else:
        password = creds["OASIS_ADMIN_PASSWORD"] if auth["user"] == creds["OASIS_ADMIN_USER"] else creds["OASIS_DEMO_PASSWORD"]
        r = server.form("/token", {"grant_type": "password", "client_id": creds["OASIS_DEMO_CLIENT"],
                                   "username": auth["user"], "password": password, "scope": auth["scope"]})
    assert r.status == 200, r.body
    return r.json()["access_token"]


def test_every_event_replays_through_cargo_lambda_invoke_with_its_documented_status(server, tmp_path):
    index = json.loads((ROOT / "events/index.json").read_text())
    assert {e["function"] for e in index.values()} == {"token", "secure-data", "search", "signin"}
    for file, want in index.items():
        text = (ROOT / "events" / file).read_text()
        if "auth" in want:
            text = text.replace("ACCESS_TOKEN", token_for(server, want["auth"]))
        event = tmp_path / file
        event.write_text(text)
        out = subprocess.run(
            [str(ROOT / ".venv/bin/cargo-lambda"), "lambda", "invoke", want["function"], "--invoke-address", "127.0.0.1",
             "--invoke-port", str(server.port), "--data-file", str(event), "--output-format", "json"],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )
        assert out.returncode == 0, f"{file}: {out.stderr}"
        resp = json.loads(out.stdout)
        assert resp["statusCode"] == want["status"], f"{file}: {resp}"
        if resp["statusCode"] == 303:
            location = header(resp, "location")
            assert location, f"{file}: a redirect without a Location: {resp}"
            if "error" in want:
                assert parse_qs(urlsplit(location).query).get("error") == [want["error"]], f"{file}: {location}"
        elif "error" in want:
            assert json.loads(resp["body"])["error"] == want["error"], f"{file}: {resp}"
        if want["function"] == "signin" and resp["statusCode"] != 303:
            content_type = header(resp, "content-type") or ""
            assert content_type.startswith(("text/html", "text/css")), f"{file}: the sign-in pages answer HTML or CSS: {resp}"


def header(resp, name):
    """A header of a Lambda proxy response, single- or multi-valued, any case."""
    for key, value in (resp.get("headers") or {}).items():
        if key.lower() == name:
            return value
    for key, values in (resp.get("multiValueHeaders") or {}).items():
        if key.lower() == name and values:
            return values[0]
    return None
