"""End-to-end fixtures: the real function binaries under `cargo lambda watch`, started by the
same script as the README's local run, on a private port and a private state directory."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from readme_blocks import block  # noqa: E402
# Local runs started by this session, named, so a failing test's report carries their logs.
RUNNING: list[tuple[str, "Server"]] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body) if self.body else None

    def header(self, name):
        return self.headers.get(name)


class Server:
    def __init__(self, url, state, log, port):
        self.url = url
        self.state = state
        self.log = log
        self.port = port

    def creds(self) -> dict:
        out = {}
        for line in (self.state / "demo.env").read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                out[k] = v
        return out

    def request(self, method, path, body=None, headers=None) -> Reply:
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return Reply(r.status, r.headers, r.read().decode())
        except urllib.error.HTTPError as e:
            return Reply(e.code, e.headers, e.read().decode())

    def form(self, path, fields: dict, headers=None) -> Reply:
        from urllib.parse import urlencode

        h = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return self.request("POST", path, urlencode(fields), h)

    def logs(self) -> str:
        return self.log.read_text(errors="replace")


def wait_until(ready, proc, describe, timeout=900):
    deadline = time.time() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{describe} exited with {proc.returncode}")
        try:
            if ready():
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if time.time() > deadline:
            raise RuntimeError(f"{describe} not ready after {timeout} s")
        time.sleep(0.5)


def start_local_run(state, extra_env=None, command=("make", "--no-print-directory", "dev")):
    """`make dev`, the README's command, on a free port with private state (or `command`, a
    README block that runs it, in its own session so stopping it stops all it started)."""
    log = state / "watch.log"
    port = free_port()
    env = dict(os.environ, OASIS_DEV_DIR=str(state), PORT=str(port), OASIS_WATCH_ARGS="--ignore-changes")
    env.update(extra_env or {})
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            list(command), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    srv = Server(f"http://127.0.0.1:{port}", state, log, port)
    try:
        # One request per function: each must be up before a test times its requests.
        wait_until(lambda: srv.request("GET", "/.well-known/jwks.json").status == 200, proc, "token function")
        wait_until(lambda: srv.request("GET", "/secure-data").status == 401, proc, "secure-data function")
        wait_until(lambda: srv.request("GET", "/search?q=x").status == 401, proc, "search function")
        wait_until(lambda: srv.request("GET", "/device").status == 200, proc, "signin function")
    except RuntimeError as e:
        stop(proc)
        raise RuntimeError(f"{e}:\n{tail(srv.log)}") from None
    RUNNING.append((state.name, srv))
    return srv, proc


def tail(log: Path, lines=60, width=400) -> str:
    text = log.read_text(errors="replace").splitlines()[-lines:] if log.exists() else ["(no log)"]
    free = shutil.disk_usage(ROOT).free / 2**30
    return "\n".join(line[:width] for line in text) + f"\n(disk free beside the checkout: {free:.1f} GiB)"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test's report ends with the local runs' recent logs: the cause of a hang or a
    500 is usually there, and CI shows only what pytest prints."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for name, srv in RUNNING:
            report.sections.append((f"cargo lambda watch log ({name})", tail(srv.log)))


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv, proc = start_local_run(tmp_path_factory.mktemp("oasis-state"))
    try:
        yield srv
    finally:
        stop(proc)


# The token functions of these runs re-read their keys every second, so a rotation made by a
# test is signed with at once (the default is 300 s).
FAST_KEYS = {"OASIS_KEYS_CACHE_SECONDS": "1"}


@pytest.fixture(scope="session")
def dynamodb_server(tmp_path_factory):
    """The local run on DynamoDB, started by the README's own block (moto one request at a time,
    then `make dev`) with its ports moved to free ones."""
    readme = block("dynamodb-local")
    assert readme.count("8000") == 2, "the block's server port, given and used: the test moves both"
    script = readme.replace("8000", str(free_port()))
    srv, proc = start_local_run(tmp_path_factory.mktemp("oasis-dynamodb"), FAST_KEYS, ("bash", "-euo", "pipefail", "-c", script))
    try:
        yield srv
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    """A local run on SQLite for tests that change its keys and data."""
    srv, proc = start_local_run(tmp_path_factory.mktemp("oasis-own"), FAST_KEYS)
    try:
        yield srv
    finally:
        stop(proc)


def stop(proc):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
