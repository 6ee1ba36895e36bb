"""`make monitor` end to end: the local run's EMF metrics in Prometheus, and the twins of the
CloudWatch alarms firing on what an attacker does."""

import json
import time
import urllib.parse
import urllib.request

import pytest

from conftest import ROOT, free_port, start_local_run, stop


@pytest.fixture(scope="module")
def monitored(tmp_path_factory):
    state = tmp_path_factory.mktemp("oasis-monitor")
    # The brute-force twin with a threshold a test can reach in seconds (50 in production).
    rules = state / "alerts.yml"
    text = (ROOT / "monitoring/alerts.yml").read_text()
    lowered = text.replace('route="/token"}) >= 50', 'route="/token"}) >= 3')
    assert lowered != text, "the brute-force rule changed shape: update this test"
    rules.write_text(lowered)
    prometheus, exporter = free_port(), free_port()
    env = {"PROMETHEUS_PORT": str(prometheus), "EXPORTER_PORT": str(exporter), "OASIS_ALERT_RULES": str(rules)}
    srv, proc = start_local_run(state, env, ("make", "--no-print-directory", "monitor"))
    srv.prometheus = f"http://127.0.0.1:{prometheus}"
    srv.ports = {"prometheus": prometheus, "exporter": exporter}
    try:
        yield srv
    finally:
        stop(proc)


def api(srv, path, **params):
    url = f"{srv.prometheus}/api/v1/{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    return body["data"]


def eventually(check, what, timeout=90):
    deadline = time.time() + timeout
    while True:
        try:
            value = check()
            if value:
                return value
        except OSError:
            pass
        if time.time() > deadline:
            raise AssertionError(f"{what} not seen in Prometheus after {timeout} s")
        time.sleep(2)


def value(srv, query):
    result = api(srv, "query", query=query)["result"]
    return sum(float(r["value"][1]) for r in result)


def test_wrong_passwords_and_a_refresh_replay_show_in_prometheus_and_fire_the_brute_force_alert(monitored):
    srv = monitored
    creds = srv.creds()
    client, user = creds["OASIS_DEMO_CLIENT"], creds["OASIS_DEMO_USER"]
    for _ in range(6):
        r = srv.form("/token", {"grant_type": "password", "client_id": client, "username": user, "password": "not the password"})
        assert r.status == 400, r.body
    # A replayed refresh token, from another user (the demo user is locked out now).
    login = srv.form("/token", {"grant_type": "password", "client_id": client, "username": creds["OASIS_ADMIN_USER"], "password": creds["OASIS_ADMIN_PASSWORD"]})
    assert login.status == 200, login.body
    old = login.json()["refresh_token"]
    new = srv.form("/token", {"grant_type": "refresh_token", "client_id": client, "refresh_token": old})
    assert new.status == 200, new.body
    # The successor used, the old token again: reuse (before that it would be a retry within
    # the grace window, answered with the same successor).
    assert srv.form("/token", {"grant_type": "refresh_token", "client_id": client, "refresh_token": new.json()["refresh_token"]}).status == 200
    assert srv.form("/token", {"grant_type": "refresh_token", "client_id": client, "refresh_token": old}).status == 400

    token = 'function="token",route="/token"'
    assert eventually(lambda: value(srv, f"LoginFailed_total{{{token}}}") >= 6, "LoginFailed_total 6")
    assert eventually(lambda: value(srv, f"AccountLocked_total{{{token}}}") >= 1, "AccountLocked_total")
    assert eventually(lambda: value(srv, f"RefreshReuseDetected_total{{{token}}}") >= 1, "RefreshReuseDetected_total")
    # The latency histogram is there too, per route, with the objective's bucket.
    assert eventually(lambda: value(srv, f'Latency_milliseconds_bucket{{{token},le="200"}}') >= 1, "Latency buckets")

    def alert(name):
        return [a for a in api(srv, "alerts")["alerts"] if a["labels"]["alertname"] == name and a["state"] in ("pending", "firing")]

    fired = eventually(lambda: alert("BruteForceLogins"), "the BruteForceLogins alert")
    assert fired[0]["labels"]["alarm"] == "brute_force_logins"
    assert eventually(lambda: alert("RefreshReuse"), "the RefreshReuse alert")
    assert not alert("AccountsLocked"), "one lock-out is below that alert's threshold of 5"


def listening(port):
    """The local addresses of the sockets listening on `port` (from /proc/net/tcp and tcp6)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(table).read().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if fields[3] == "0A" and int(hex_port, 16) == port:
                found.append(address)
    return found


def test_prometheus_and_the_exporter_listen_on_loopback_only(monitored):
    targets = api(monitored, "targets")["activeTargets"]
    assert [t["health"] for t in targets] == ["up"], targets
    for name, port in monitored.ports.items():
        # 0100007F is 127.0.0.1 as the kernel writes it; 00000000 would be every interface.
        assert listening(port) == ["0100007F"], f"{name} on port {port}: {listening(port)}"


def test_the_logins_panel_renders_in_prometheus_graph_page_in_headless_chromium(monitored):
    """Runs after the test above (the failures are in Prometheus); the screenshot is kept in
    target/screenshots/ (the README's is one of these)."""
    import shutil
    import sys

    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    sys.path.insert(0, str(ROOT / "monitoring"))
    import dashboards

    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver_path, "Debian's chromium and chromium-driver are missing: make browser-tools"
    # Two of the "Logins and lock-outs" panel's queries, as the dashboard definition writes them.
    queries = [q for title, _, qs in dashboards.PANELS if title == "Logins and lock-outs" for q in qs if q[0] in ("LoginFailed", "AccountLocked")]
    assert len(queries) == 2, dashboards.PANELS
    params = {}
    for i, q in enumerate(queries):
        params |= {f"g{i}.expr": dashboards.promql(q, service='"oasis"'), f"g{i}.tab": "0", f"g{i}.range_input": "5m"}
    url = f"{monitored.prometheus}/graph?{urllib.parse.urlencode(params)}"
    options = Options()
    options.binary_location = chromium
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1500"]:
        options.add_argument(arg)
    browser = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        browser.get(url)
        # Prometheus's graph page (Debian's build: the classic UI) draws a legend line per series
        # a query returned; one for each of the two.
        WebDriverWait(browser, 30).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, ".rickshaw_legend .line")) >= 2)
        errors = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".alert-danger") if e.text.strip()]
        out = ROOT / "target/screenshots"
        out.mkdir(parents=True, exist_ok=True)
        assert browser.save_screenshot(str(out / "prometheus-graph.png"))
    finally:
        browser.quit()
    assert errors == [], errors
    assert (out / "prometheus-graph.png").stat().st_size > 10_000
