"""Browser and phone sign-in (authorization code + PKCE) end to end: Authlib, a client
library nobody here wrote, makes the authorization URL and redeems the code; a real headless
Chromium signs in on the hosted page; against `make dev` on SQLite and on DynamoDB (moto).
The device flow's interoperability is here too: Authlib polls the token endpoint."""

import http.server
import threading
import time
import urllib.parse

import pytest
from test_device_flow_browser import approve_in_browser, browser, open_review, shot, start_device  # noqa: F401 (fixture)

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class Callback:
    """The app's loopback redirect URI (RFC 8252 §7.3: any port): records what arrives."""

    def __init__(self):
        self.queries = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.queries.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(b"<!doctype html><title>App</title><h1>Back in the app</h1>")

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self.httpd.server_address[1]}/callback"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def sign_in_with_authlib(srv, browser, shots_prefix):
    from authlib.common.security import generate_token
    from authlib.integrations.requests_client import OAuth2Session
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    creds = srv.creds()
    callback = Callback()
    try:
        client = OAuth2Session(
            creds["OASIS_DEMO_WEB_CLIENT"], redirect_uri=callback.uri, scope="data:read search", code_challenge_method="S256"
        )
        verifier = generate_token(48)
        url, state = client.create_authorization_url(f"{srv.url}/authorize", code_verifier=verifier)
        assert "code_challenge=" in url and "code_challenge_method=S256" in url
        browser.delete_all_cookies()
        browser.get(url)
        WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.ID, "password"))
        shot(browser, f"{shots_prefix}-signin")
        browser.find_element(By.ID, "username").send_keys(creds["OASIS_DEMO_USER"])
        browser.find_element(By.ID, "password").send_keys(creds["OASIS_DEMO_PASSWORD"])
        browser.find_element(By.CSS_SELECTOR, "button[value=signin]").click()
        WebDriverWait(browser, 60).until(lambda b: b.current_url.startswith(callback.uri) or "alert" in b.page_source)
        assert browser.current_url.startswith(callback.uri), browser.page_source
        params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(browser.current_url).query))
        assert params["state"] == state and params["iss"] == srv.url, params
        token = client.fetch_token(f"{srv.url}/token", authorization_response=browser.current_url, code_verifier=verifier)
        return client, token, browser.current_url, verifier
    finally:
        callback.close()


@pytest.mark.parametrize("backend", ["server", "dynamodb_server"])
def test_an_app_signs_in_through_the_hosted_page_with_authlib_and_pkce(backend, request, browser):
    srv = request.getfixturevalue(backend)
    client, token, _, _ = sign_in_with_authlib(srv, browser, f"code-{backend}")
    assert token["token_type"] == "Bearer" and token["scope"] == "data:read search" and token["refresh_token"]
    me = client.get(f"{srv.url}/secure-data")
    assert me.status_code == 200 and me.json()["username"] == srv.creds()["OASIS_DEMO_USER"], me.text
    # Authlib's refresh, through the rotation the token endpoint does.
    refreshed = client.refresh_token(f"{srv.url}/token")
    assert refreshed["refresh_token"] != token["refresh_token"]


def test_a_replayed_code_is_refused_and_revokes_what_it_issued(server, browser):
    from authlib.integrations.requests_client import OAuth2Session

    client, token, redirected, verifier = sign_in_with_authlib(server, browser, "code-replay")
    thief = OAuth2Session(server.creds()["OASIS_DEMO_WEB_CLIENT"], redirect_uri=redirected.split("?")[0])
    with pytest.raises(Exception) as refused:
        thief.fetch_token(f"{server.url}/token", authorization_response=redirected, code_verifier=verifier)
    assert "invalid_grant" in str(refused.value)
    with pytest.raises(Exception) as revoked:
        client.refresh_token(f"{server.url}/token")
    assert "invalid_grant" in str(revoked.value), "the first use's refresh token died with the replay"


def test_a_signed_in_browser_approves_a_tv_without_typing_the_password_again(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    sign_in_with_authlib(server, browser, "code-then-device")
    started = start_device(server, "search")
    open_review(browser, started["verification_uri_complete"])
    assert "Signed in as" in browser.page_source
    shot(browser, "device-review-signed-in")
    browser.find_element(By.CSS_SELECTOR, "button[value=approve]").click()
    WebDriverWait(browser, 30).until(lambda b: "Device signed in" in b.page_source)
    time.sleep(started["interval"] + 1)
    tokens = server.form(
        "/token", {"grant_type": DEVICE_GRANT, "client_id": server.creds()["OASIS_DEMO_TV_CLIENT"], "device_code": started["device_code"]}
    )
    assert tokens.status == 200, tokens.body


def test_authlib_polls_the_device_grant_until_the_user_approves(server, browser):
    from authlib.integrations.base_client.errors import OAuthError  # noqa: F401 (the error type Authlib raises)
    from authlib.integrations.requests_client import OAuth2Session

    started = start_device(server, "data:read search")
    client = OAuth2Session(server.creds()["OASIS_DEMO_TV_CLIENT"])
    with pytest.raises(Exception) as pending:
        client.fetch_token(f"{server.url}/token", grant_type=DEVICE_GRANT, device_code=started["device_code"])
    assert "authorization_pending" in str(pending.value)
    approve_in_browser(browser, started["verification_uri_complete"], server.creds(), "device-authlib")
    time.sleep(started["interval"] + 1)
    token = client.fetch_token(f"{server.url}/token", grant_type=DEVICE_GRANT, device_code=started["device_code"])
    assert token["token_type"] == "Bearer" and token["refresh_token"]
    me = client.get(f"{server.url}/secure-data")
    assert me.status_code == 200, me.text
