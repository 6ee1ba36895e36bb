"""secure-data and search over HTTP through `cargo lambda watch`."""

from urllib.parse import urlencode


def access_token(server, user, password, scope):
    r = server.form("/token", {"grant_type": "password", "client_id": "oasis-demo", "username": user,
                               "password": password, "scope": scope})
    assert r.status == 200, r.body
    return r.json()["access_token"]


def test_a_child_profile_never_sees_titles_above_its_rating_on_any_page(server):
    creds = server.creds()
    token = access_token(server, "demo", creds["OASIS_DEMO_PASSWORD"], "search")
    headers = {"Authorization": f"Bearer {token}"}
    cursor, seen = None, 0
    while True:
        params = {"q": "the", "limit": 50}
        if cursor:
            params["cursor"] = cursor
        r = server.request("GET", "/search?" + urlencode(params), headers=headers)
        assert r.status == 200, r.body
        body = r.json()
        assert all(hit["maturity"] <= 13 for hit in body["results"])
        seen += len(body["results"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen > 500, seen


def test_secure_data_answers_with_private_no_store_headers_and_rfc6750_challenges(server):
    creds = server.creds()
    token = access_token(server, "demo", creds["OASIS_DEMO_PASSWORD"], "data:read")
    r = server.request("GET", "/secure-data", headers={"Authorization": f"Bearer {token}"})
    assert r.status == 200 and r.header("Cache-Control") == "no-store"
    assert "password" not in r.body and "argon2" not in r.body
    missing = server.request("GET", "/secure-data")
    assert missing.status == 401 and missing.header("WWW-Authenticate") == 'Bearer realm="oasis"'
    wrong = server.request("GET", "/search?q=x", headers={"Authorization": f"Bearer {token}"})
    assert wrong.status == 403 and 'error="insufficient_scope"' in wrong.header("WWW-Authenticate")
