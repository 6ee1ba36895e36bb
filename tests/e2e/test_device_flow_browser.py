"""The TV sign-in (RFC 8628) end to end: the device side over HTTP, the person's side in a
real headless Chromium (Debian's chromium and chromium-driver), against `make dev` on SQLite
and on DynamoDB (moto). Screenshots of every page land in target/screenshots/."""

import http.server
import shutil
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "target/screenshots"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver_path, "Debian's chromium and chromium-driver are missing: make browser-tools"
    options = Options()
    options.binary_location = chromium
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=900,1100"]:
        options.add_argument(arg)
    b = webdriver.Chrome(service=Service(driver_path), options=options)
    b.set_page_load_timeout(60)
    yield b
    b.quit()


def shot(browser, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(SHOTS / f"{name}.png"))


def start_device(srv, scope="data:read search"):
    r = srv.form("/device_authorization", {"client_id": srv.creds()["OASIS_DEMO_TV_CLIENT"], "scope": scope})
    assert r.status == 200, r.body
    return r.json()


def poll(srv, device_code):
    return srv.form("/token", {"grant_type": DEVICE_GRANT, "client_id": srv.creds()["OASIS_DEMO_TV_CLIENT"], "device_code": device_code})


def open_review(browser, url):
    """The TV's link fills the code in; the person checks it and continues to the review."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.ID, "user_code"))
    code = url.rsplit("user_code=", 1)[1]
    assert browser.find_element(By.ID, "user_code").get_attribute("value") == code, "the link's code is filled in"
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 30).until(lambda b: "Approve this device?" in b.page_source)


def approve_in_browser(browser, url, creds, shots_prefix):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.delete_all_cookies()
    open_review(browser, url)
    assert "Oasis for TV" in browser.page_source
    shot(browser, f"{shots_prefix}-review")
    browser.find_element(By.ID, "username").send_keys(creds["OASIS_DEMO_USER"])
    browser.find_element(By.ID, "password").send_keys(creds["OASIS_DEMO_PASSWORD"])
    browser.find_element(By.CSS_SELECTOR, "button[value=approve]").click()
    WebDriverWait(browser, 60).until(lambda b: "Device signed in" in b.page_source or "alert" in b.page_source)
    shot(browser, f"{shots_prefix}-done")
    assert "Device signed in" in browser.page_source, browser.page_source


@pytest.mark.parametrize("backend", ["server", "dynamodb_server"])
def test_a_tv_signs_in_with_a_code_its_user_approves_in_a_browser(backend, request, browser):
    srv = request.getfixturevalue(backend)
    started = start_device(srv)
    assert started["verification_uri"] == f"{srv.url}/device"
    pending = poll(srv, started["device_code"])
    assert (pending.status, pending.json()["error"]) == (400, "authorization_pending"), pending.body
    approve_in_browser(browser, started["verification_uri_complete"], srv.creds(), f"device-{backend}")
    # The device waits its interval, as RFC 8628 §3.5 asks, and gets its tokens once.
    time.sleep(started["interval"] + 1)
    tokens = poll(srv, started["device_code"])
    assert tokens.status == 200, tokens.body
    body = tokens.json()
    assert body["scope"] == "data:read search" and body["refresh_token"]
    me = srv.request("GET", "/secure-data", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status == 200 and me.json()["username"] == srv.creds()["OASIS_DEMO_USER"], me.body
    time.sleep(started["interval"] + 1)
    again = poll(srv, started["device_code"])
    assert (again.status, again.json()["error"]) == (400, "invalid_grant"), "one token response per code"


def test_the_code_entry_page_takes_a_typed_code_in_any_case(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    started = start_device(server, "search")
    browser.delete_all_cookies()
    browser.get(f"{server.url}/device")
    WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.ID, "user_code"))
    shot(browser, "device-enter")
    browser.find_element(By.ID, "user_code").send_keys(started["user_code"].lower().replace("-", " "))
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 30).until(lambda b: "Approve this device?" in b.page_source)
    assert "Search the catalog" in browser.page_source
    browser.find_element(By.CSS_SELECTOR, "button[value=deny]").click()
    WebDriverWait(browser, 30).until(lambda b: "Device not signed in" in b.page_source)
    time.sleep(started["interval"] + 1)
    denied = poll(server, started["device_code"])
    assert (denied.status, denied.json()["error"]) == (400, "access_denied")


class Attacker:
    """A page on another origin (another port of 127.0.0.1: the same site, so the browser
    sends SameSite=Lax cookies along, the hardest case for CSRF) serving `html`."""

    def __init__(self, html):
        page = html.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def test_csrf_a_form_posted_from_another_origin_cannot_deny_or_approve_a_device(server, browser):
    from selenium.webdriver.support.ui import WebDriverWait

    started = start_device(server, "search")
    # The victim has visited the sign-in page before: the browser holds its CSRF cookie.
    browser.delete_all_cookies()
    browser.get(f"{server.url}/device")
    attacker = Attacker(
        f"""<!doctype html><form id=f method=post action="{server.url}/device">
<input name=user_code value="{started['user_code']}"><input name=action value=deny></form>
<script>document.getElementById('f').submit()</script>"""
    )
    try:
        browser.get(attacker.url)
        WebDriverWait(browser, 30).until(lambda b: b.current_url.startswith(server.url) and "</html>" in b.page_source)
        shot(browser, "device-csrf-refused")
        assert "did not come from this site" in browser.page_source, browser.page_source
    finally:
        attacker.close()
    time.sleep(started["interval"] + 1)
    still = poll(server, started["device_code"])
    assert (still.status, still.json()["error"]) == (400, "authorization_pending"), "the forged post changed nothing"


def test_clickjacking_the_sign_in_page_does_not_render_inside_another_sites_frame(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    attacker = Attacker(f'<!doctype html><h1>Win a prize</h1><iframe id=x width=600 height=500 src="{server.url}/device"></iframe>')
    try:
        browser.get(attacker.url)
        WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.ID, "x"))
        time.sleep(2)
        shot(browser, "device-clickjacking-blocked")
        browser.switch_to.frame(browser.find_element(By.ID, "x"))
        framed = browser.page_source
        browser.switch_to.default_content()
    finally:
        attacker.close()
    assert "Sign in a device" not in framed and "user_code" not in framed, framed[:500]
