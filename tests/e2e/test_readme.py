"""The README's shell blocks, run as written against local runs (tests/readme_blocks.py says
how blocks are marked; tests/infra checks the ones that need AWS)."""

import base64
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import ROOT, block, free_port
from test_device_flow_browser import browser  # noqa: F401 (fixture)


def walkthrough():
    text = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- walkthrough:start -->\s*```bash\n(.*?)```\s*<!-- walkthrough:end -->", text, re.S)
    assert m, "README has no walkthrough block"
    printed = re.search(r"It prints:\s*```\n(.*?)```", text[m.end():], re.S).group(1)
    return m.group(1), printed


def run_block(script, url, state, stdin="", timeout=300):
    env = dict(os.environ, OASIS_URL=url, OASIS_DIR=str(state))
    return subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=timeout)


def run_walkthrough(server):
    script, printed = walkthrough()
    out = run_block(script, server.url, server.state)
    assert out.returncode == 0, out.stderr
    assert out.stdout == printed, f"stdout:\n{out.stdout}\nstderr:\n{out.stderr}"


def test_the_readme_walkthrough_works_as_printed(server):
    run_walkthrough(server)


def test_the_walkthrough_works_the_same_on_the_dynamodb_backend(dynamodb_server):
    run_walkthrough(dynamodb_server)


def credentials_with(server, state, **changed):
    state.mkdir()
    text = (server.state / "demo.env").read_text()
    for name, value in changed.items():
        text = re.sub(rf"(?m)^{name}=.*$", f"{name}={value}", text)
    (state / "demo.env").write_text(text)
    return state


def test_the_walkthrough_stops_at_the_first_failure_saying_what_to_check(own_server, tmp_path):
    script, printed = walkthrough()
    # Unknown users rather than wrong passwords: the demo accounts' lock-outs stay untouched.
    step1 = credentials_with(own_server, tmp_path / "step1", OASIS_DEMO_USER="nobody-here")
    step3 = credentials_with(own_server, tmp_path / "step3", OASIS_ADMIN_USER="nobody-either")
    for url, state, says, before in [
        (f"http://127.0.0.1:{free_port()}", own_server.state, "cannot reach http://127.0.0.1:", 0),
        (own_server.url, tmp_path / "empty", "demo.env: 'make dev' writes it on its first run", 0),
        (own_server.url, step1, "/token answered 400, not 200: {\"error\":\"invalid_grant\"", 0),
        (own_server.url, step3, "/token answered 400, not 200: {\"error\":\"invalid_grant\"", 2),
    ]:
        out = run_block(script, url, state, timeout=60)
        assert out.returncode != 0, f"{says}: it went on: {out.stdout}"
        wanted = "".join(printed.splitlines(keepends=True)[:before])
        assert out.stdout == wanted, f"only the steps before the failure print: {out.stdout}"
        assert out.stderr.startswith("walk-through stopped: ") and says in out.stderr, out.stderr
        assert "user unlock" in out.stderr or not says.startswith("/token"), "a refused login names the unlock"
        assert "Traceback" not in out.stderr, out.stderr


def test_the_walkthrough_keeps_passwords_and_secrets_off_curls_command_line():
    script, _ = walkthrough()
    for secret in ["OASIS_DEMO_PASSWORD", "OASIS_ADMIN_PASSWORD", "OASIS_SERVICE_SECRET"]:
        for line in script.splitlines():
            if secret in line or "password=" in line:
                assert "curl" not in line and ("printf" in line or "login " in line or "password@-" in line), line


def test_the_readme_invoke_command_answers_with_the_jwks(server):
    readme = block("invoke")
    assert "--invoke-port 9000" in readme
    out = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", readme.replace("--invoke-port 9000", f"--invoke-port {server.port}")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    reply = json.loads(out.stdout)
    assert reply["statusCode"] == 200, reply
    assert [k["kty"] for k in json.loads(reply["body"])["keys"]] == ["EC"], reply


def kid(token):
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


@pytest.mark.parametrize("backend", ["sqlite", "dynamodb"])
def test_the_local_admin_block_runs_against_a_running_local_run_and_the_walkthrough_still_works(backend, request):
    srv = request.getfixturevalue("own_server" if backend == "sqlite" else "dynamodb_server")
    password = "alice's long local password"
    out = run_block(block("local-admin"), srv.url, srv.state, stdin=password + "\n")
    assert out.returncode == 0, f"{out.stdout}\n{out.stderr}"
    for says in [
        "created user alice",
        "created client tv-app",
        "user alice has no failed sign-ins on record",
        "revoked 0 refresh-token families of alice",
        "catalog loaded: 1 title (",
        f"published to the JWKS file {srv.state / 'jwks.json'}",
        "now signs",
    ]:
        assert says in out.stdout, f"{says!r} not in:\n{out.stdout}"
    keys = [line for line in out.stdout.splitlines() if "\tActive" in line or "\tRetiring" in line]
    assert len(keys) == 2, out.stdout
    new_kid = next(line.split("\t")[0] for line in keys if "\tActive" in line)

    # Alice, made by the block, signs in; the token function signs with the promoted key (its
    # key cache is 1 s here), and the verifiers accept it once they re-read the JWKS the block
    # wrote: on meeting the unknown key, at most every 30 s (a flood of made-up kids must not
    # make them read it on every request).
    # The block's TV app starts a device sign-in (it has no password grant: that is legacy).
    started = srv.form("/device_authorization", {"client_id": "tv-app", "scope": "search"})
    assert started.status == 200 and started.json()["user_code"], started.body
    refused = srv.form("/token", {"grant_type": "password", "client_id": "tv-app", "username": "alice", "password": password})
    assert refused.json()["error"] == "unauthorized_client", refused.body
    time.sleep(2)
    # Alice signs in through the demo client, which keeps the legacy password grant.
    login = srv.form("/token", {"grant_type": "password", "client_id": "oasis-demo", "username": "alice", "password": password})
    assert login.status == 200, login.body
    token = login.json()["access_token"]
    assert kid(token) == new_kid, "the token function did not pick up the promoted key"
    deadline = time.time() + 45
    while True:
        found = srv.request("GET", "/search?q=local%20heroes", headers={"Authorization": f"Bearer {token}"})
        if found.status != 401 or time.time() > deadline:
            break
        time.sleep(2)
    assert found.status == 200, f"the new key's tokens are still refused after 45 s: {found.body}"
    assert [t["title"] for t in found.json()["results"]] == ["Local Heroes"]

    # Locked by the token function's own counting, lifted by the admin tool: the two agree on
    # where the counter lives.
    wrong = {"grant_type": "password", "client_id": "oasis-demo", "username": "alice", "password": "not alice's password"}
    for _ in range(5):
        assert srv.form("/token", wrong).status == 400
    right = dict(wrong, password=password)
    assert srv.form("/token", right).status == 400, "alice is locked out"
    env = "set -a; source \"$OASIS_DIR/local.env\"; set +a; target/debug/oasis-admin user unlock alice"
    unlocked = run_block(env, srv.url, srv.state)
    assert unlocked.returncode == 0 and unlocked.stdout.startswith("unlocked user alice (was locked until "), unlocked
    assert srv.form("/token", right).status == 200, "unlocked"
    run_walkthrough(srv)


def test_make_dev_refuses_a_busy_port_naming_it(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = dict(os.environ, PORT=str(port), OASIS_DEV_DIR=str(tmp_path))
        out = subprocess.run(["make", "--no-print-directory", "dev"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0, out.stdout
    assert f"port {port} on 127.0.0.1 is already in use" in out.stderr, out.stderr


def test_make_dev_needs_only_cargo_lambda():
    wanted = [line.split("==")[0] for line in (ROOT / "requirements-dev.txt").read_text().splitlines() if "==" in line]
    assert wanted == ["cargo-lambda"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^dev: \$\(VENV\)/\.dev-installed$", makefile, re.M), "make dev must not depend on the test tools"
    assert shutil.which("cargo-lambda", path=str(ROOT / ".venv/bin"))


def test_unknown_paths_get_oasis_own_404_not_a_list_of_binaries(server):
    for path in ["/", "/nope", "/secure-data/", "/token/extra"]:
        r = server.request("GET", path)
        assert r.status == 404, (path, r.body)
        assert r.json() == {"error": "not_found"}, (path, r.body)
        assert "oasis-admin" not in r.body and "oasis-bench" not in r.body


def test_every_log_line_of_the_functions_carries_a_timestamp(server):
    server.request("GET", "/.well-known/jwks.json")
    docs = []
    for line in server.logs().splitlines():
        if line.startswith("{"):
            try:
                docs.append(json.loads(line))
            except ValueError:
                pass
    logs = [d for d in docs if "level" in d]
    assert logs, "no JSON log lines"
    for line in logs:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", line.get("timestamp", "")), line


def started_block(script, server, stdin=False):
    env = dict(os.environ, OASIS_URL=server.url, OASIS_DIR=str(server.state))
    return subprocess.Popen(
        ["bash", "-c", script], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
    )


@pytest.mark.parametrize("backend", ["server", "dynamodb_server"])
def test_the_readme_tv_sign_in_works_as_written_while_a_person_approves_in_chromium(backend, request, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    srv = request.getfixturevalue(backend)
    creds = srv.creds()
    tv = started_block(block("device-flow"), srv)
    try:
        first = tv.stdout.readline()
        m = re.fullmatch(r"On your phone, open (\S+) and enter ([A-Z]{4}-[A-Z]{4})\n", first)
        assert m, first + tv.stderr.read()
        assert m.group(1) == f"{srv.url}/device"
        assert tv.stdout.readline().startswith(f"or open {srv.url}/device?user_code={m.group(2)} (its QR code: ")
        browser.delete_all_cookies()
        browser.get(m.group(1))
        WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.ID, "user_code"))
        browser.find_element(By.ID, "user_code").send_keys(m.group(2))
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(browser, 30).until(lambda b: "Oasis for TV" in b.page_source and b.find_elements(By.ID, "password"))
        browser.find_element(By.ID, "username").send_keys(creds["OASIS_DEMO_USER"])
        browser.find_element(By.ID, "password").send_keys(creds["OASIS_DEMO_PASSWORD"])
        browser.find_element(By.CSS_SELECTOR, "button[value=approve]").click()
        WebDriverWait(browser, 60).until(lambda b: "Device signed in" in b.page_source)
        out, err = tv.communicate(timeout=120)
    finally:
        tv.kill()
    assert tv.returncode == 0, err
    assert out == "Demo Viewer\n", (out, err)


def test_the_readme_code_flow_block_exchanges_the_code_a_person_brought_back_from_chromium(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    creds = server.creds()
    app = started_block(block("code-flow"), server, stdin=True)
    try:
        first = app.stdout.readline()
        assert first.startswith(f"Sign in at: {server.url}/authorize?"), first + app.stderr.read()
        browser.delete_all_cookies()
        browser.get(first.removeprefix("Sign in at: ").strip())
        WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.ID, "password"))
        browser.find_element(By.ID, "username").send_keys(creds["OASIS_DEMO_USER"])
        browser.find_element(By.ID, "password").send_keys(creds["OASIS_DEMO_PASSWORD"])
        browser.find_element(By.CSS_SELECTOR, "button[value=signin]").click()
        # Nothing serves the demo app's redirect URI: the browser shows an error page there,
        # and its address is what a person pastes back.
        redirect = creds["OASIS_DEMO_WEB_REDIRECT_URI"]
        WebDriverWait(browser, 60).until(lambda b: b.current_url.startswith(redirect + "?"))
        out, err = app.communicate(browser.current_url + "\n", timeout=60)
    finally:
        app.kill()
    assert app.returncode == 0, err
    assert out == "Demo Viewer\n", (out, err)
