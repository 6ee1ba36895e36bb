"""End-to-end fixtures: the real function binaries under `cargo lambda watch`, started by the
same script as the README's local run, on a private port and a private state directory."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


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


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    state = tmp_path_factory.mktemp("oasis-state")
    log = state / "watch.log"
    port = free_port()
    # The venv that `make tools` fills holds cargo-lambda.
    path = f"{ROOT / '.venv/bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    env = dict(os.environ, PATH=path, OASIS_DEV_DIR=str(state), PORT=str(port), OASIS_WATCH_ARGS="--ignore-changes")
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(ROOT / "scripts/dev.sh")], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    srv = Server(f"http://127.0.0.1:{port}", state, log, port)
    deadline = time.time() + 900
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"local run exited with {proc.returncode}:\n{srv.logs()[-4000:]}")
            try:
                if srv.request("GET", "/.well-known/jwks.json").status == 200:
                    break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.time() > deadline:
                raise RuntimeError(f"local run not ready after 900 s:\n{srv.logs()[-4000:]}")
            time.sleep(1)
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
