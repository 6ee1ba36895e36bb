"""The token function as a client sees it: over HTTP, through `cargo lambda watch`."""

import json

WEB_ORIGIN = "http://localhost:5173"


def login(server, creds):
    return server.form(
        "/token",
        {
            "grant_type": "password",
            "client_id": creds["OASIS_DEMO_CLIENT"],
            "username": creds["OASIS_DEMO_USER"],
            "password": creds["OASIS_DEMO_PASSWORD"],
        },
    )


def test_password_grant_over_http_returns_tokens_with_no_store_and_security_headers(server):
    r = login(server, server.creds())
    assert r.status == 200, r.body
    body = r.json()
    assert body["token_type"] == "Bearer" and body["access_token"].count(".") == 2
    assert r.header("Cache-Control") == "no-store"
    assert r.header("Pragma") == "no-cache"
    assert r.header("Content-Type") == "application/json"
    assert r.header("X-Content-Type-Options") == "nosniff"
    assert r.header("Content-Security-Policy") == "default-src 'none'; frame-ancestors 'none'"
    assert r.header("Referrer-Policy") == "no-referrer"
    assert r.header("Strict-Transport-Security")
    assert r.header("X-Request-Id")


def test_a_client_that_lost_a_refresh_response_retries_within_the_window_and_stays_signed_in_over_http(server):
    creds = server.creds()
    first = login(server, creds).json()["refresh_token"]
    form = {"grant_type": "refresh_token", "client_id": creds["OASIS_DEMO_CLIENT"]}
    lost = server.form("/token", {**form, "refresh_token": first})
    assert lost.status == 200, lost.body
    # The answer never reached the client: it retries with the token it still holds.
    retry = server.form("/token", {**form, "refresh_token": first})
    assert retry.status == 200, retry.body
    assert retry.json()["refresh_token"] == lost.json()["refresh_token"], "the same successor: one live chain"
    data = server.request("GET", "/secure-data", headers={"Authorization": f"Bearer {retry.json()['access_token']}"})
    assert data.status == 200, data.body
    onward = server.form("/token", {**form, "refresh_token": retry.json()["refresh_token"]})
    assert onward.status == 200, onward.body


def test_refresh_token_replay_over_http_once_the_successor_was_used_revokes_the_family(server):
    creds = server.creds()
    first = login(server, creds).json()["refresh_token"]
    form = {"grant_type": "refresh_token", "client_id": creds["OASIS_DEMO_CLIENT"]}
    second = server.form("/token", {**form, "refresh_token": first})
    assert second.status == 200, second.body
    third = server.form("/token", {**form, "refresh_token": second.json()["refresh_token"]})
    assert third.status == 200, third.body
    replay = server.form("/token", {**form, "refresh_token": first})
    assert (replay.status, replay.json()["error"]) == (400, "invalid_grant")
    after = server.form("/token", {**form, "refresh_token": third.json()["refresh_token"]})
    assert (after.status, after.json()["error"]) == (400, "invalid_grant")


def test_browser_cookie_refresh_over_http_needs_origin_and_custom_header(server):
    creds = server.creds()
    csrf = {"Origin": WEB_ORIGIN, "X-Requested-With": "fetch"}
    r = server.form(
        "/token",
        {"grant_type": "password", "client_id": "oasis-web", "username": "demo", "password": creds["OASIS_DEMO_PASSWORD"]},
        csrf,
    )
    assert r.status == 200, r.body
    assert "refresh_token" not in r.json()
    cookie = r.header("Set-Cookie").split(";")[0]
    assert cookie.startswith("__Host-oasis_rt=")
    assert r.header("Access-Control-Allow-Origin") == WEB_ORIGIN
    forged = server.form("/token", {"grant_type": "refresh_token", "client_id": "oasis-web"}, {"Cookie": cookie, "Origin": "https://evil.example"})
    assert forged.status == 403
    ok = server.form("/token", {"grant_type": "refresh_token", "client_id": "oasis-web"}, {**csrf, "Cookie": cookie})
    assert ok.status == 200, ok.body


def test_no_password_token_secret_or_cookie_reaches_the_logs(server):
    creds = server.creds()
    r = login(server, creds).json()
    refreshed = server.form("/token", {"grant_type": "refresh_token", "client_id": "oasis-demo", "refresh_token": r["refresh_token"]}).json()
    svc = server.form("/token", {"grant_type": "client_credentials", "client_id": creds["OASIS_SERVICE_CLIENT"], "client_secret": creds["OASIS_SERVICE_SECRET"]}).json()
    for path in ("/secure-data", "/search?q=matrix"):
        assert server.request("GET", path, headers={"Authorization": f"Bearer {r['access_token']}"}).status == 200
    secrets = [
        creds["OASIS_DEMO_PASSWORD"], creds["OASIS_SERVICE_SECRET"], r["access_token"], r["refresh_token"],
        refreshed["access_token"], refreshed["refresh_token"], svc["access_token"],
    ]
    keys = json.loads((server.state / "keys.json").read_text())
    secrets += [k["d"] for k in keys["keys"]]
    secrets.append((server.state / "cursor.key").read_text().strip())
    logs = server.logs()
    assert "request served" in logs, "the log capture works"
    for s in secrets:
        assert s not in logs


UNITS = {"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes", "Bits",
         "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second", "Kilobytes/Second",
         "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
         "Gigabits/Second", "Terabits/Second", "Count/Second", "None"}


def test_every_emf_document_the_functions_printed_follows_the_specification(server):
    # Runs last in the session (files run in name order), so it sees the whole suite's traffic.
    docs = [json.loads(line) for line in server.logs().splitlines() if line.startswith("{") and '"_aws":' in line]
    assert len(docs) > 50, len(docs)
    functions = set()
    for d in docs:
        aws = d["_aws"]
        assert isinstance(aws["Timestamp"], int)
        for directive in aws["CloudWatchMetrics"]:
            assert directive["Namespace"]
            for dims in directive["Dimensions"]:
                assert len(dims) <= 30
                assert all(isinstance(d[name], str) for name in dims)
                assert not set(dims) & {"user", "user_id", "client_id", "ip", "query"}
            assert len(directive["Metrics"]) <= 100
            for m in directive["Metrics"]:
                assert m["Unit"] in UNITS
                assert isinstance(d[m["Name"]], (int, float))
        functions.add(d["function"])
    assert functions == {"token", "secure-data", "search", "signin"}
