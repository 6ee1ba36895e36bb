"""Every sample event in events/ replayed through `cargo lambda invoke` against the running
functions, with the status events/index.json documents. Events that need a token get a
fresh one from the real token endpoint in place of their ACCESS_TOKEN placeholder."""

import json
import subprocess

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
    assert {e["function"] for e in index.values()} == {"token", "secure-data", "search"}
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
        if "error" in want:
            assert json.loads(resp["body"])["error"] == want["error"], f"{file}: {resp}"
