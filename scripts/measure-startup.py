#!/usr/bin/env python3
"""Cold start and peak memory of each function's release binary, against a minimal Lambda
Runtime API served here on loopback (DESIGN §8). Cold start = process spawn until the function
asks for its first event; the baseline is a hello-world lambda_http binary measured in the
same run. Peak memory = VmHWM after serving a few thousand warm events. Prints a Markdown table.

Usage: scripts/measure-startup.py   (builds what it needs; state in a temporary directory)"""

import http.server
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 15
WARM_EVENTS = 3000


class Runtime(http.server.BaseHTTPRequestHandler):
    """Lambda Runtime API: hands out `event` up to `limit` times, records the first request."""

    event = b"{}"
    limit = 0
    served = 0
    first_next = None
    done = threading.Event()

    def log_message(self, *_):
        pass

    def do_GET(self):
        cls = type(self)
        if cls.first_next is None:
            cls.first_next = time.perf_counter()
        if cls.served >= cls.limit:
            cls.done.set()
            time.sleep(30)  # the process is killed meanwhile
            return
        cls.served += 1
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", f"req-{cls.served}")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:bench")
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(cls.event)

    last_response = b""

    def do_POST(self):
        type(self).last_response = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(202)
        self.end_headers()


def run(binary, env, event, limit):
    Runtime.event, Runtime.limit, Runtime.served, Runtime.first_next = event, limit, 0, None
    Runtime.done.clear()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Runtime)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}", AWS_LAMBDA_FUNCTION_NAME="bench",
               AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128", AWS_LAMBDA_FUNCTION_VERSION="1", AWS_LAMBDA_LOG_LEVEL="error")
    start = time.perf_counter()
    proc = subprocess.Popen([str(binary)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not Runtime.done.wait(timeout=120) or Runtime.first_next is None:
        proc.kill()
        raise RuntimeError(f"{binary} never asked for an event (startup failed?)")
    cold = Runtime.first_next - start
    peak_kb = next(int(line.split()[1]) for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines() if line.startswith("VmHWM"))
    proc.kill()
    proc.wait()
    server.shutdown()
    return cold, peak_kb


def event(method, path, headers, body=None, query=None):
    """An API Gateway REST event, shaped like the samples in events/."""
    e = json.loads((ROOT / "events/token-jwks.json").read_text())
    e.update(resource=path, path=path, httpMethod=method, headers=headers, body=body,
             multiValueHeaders={k: [v] for k, v in headers.items()},
             queryStringParameters=query, multiValueQueryStringParameters={k: [v] for k, v in query.items()} if query else None)
    e["requestContext"].update(resourcePath=path, httpMethod=method, path="/v1" + path)
    return json.dumps(e).encode()


def main():
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "token", "-p", "secure-data", "-p", "search"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "oasis-bench", "--example", "hello"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--quiet", "-p", "oasis-admin"], cwd=ROOT, check=True)
    state = Path(tempfile.mkdtemp(prefix="oasis-startup-"))
    env = dict(os.environ, OASIS_SQLITE_PATH=str(state / "oasis.db"), OASIS_KEYS_FILE=str(state / "keys.json"),
               OASIS_JWKS_FILE=str(state / "jwks.json"), OASIS_CURSOR_KEY_FILE=str(state / "cursor.key"),
               OASIS_ISSUER="http://127.0.0.1:9000")
    admin = str(ROOT / "target/debug/oasis-admin")
    for args in (["keys", "init"], ["dev-seed", "--out", str(state)], ["catalog", "load", str(ROOT / "shared/admin/data/catalog.jsonl")]):
        subprocess.run([admin, *args], env=env, check=True, capture_output=True)
    (state / "cursor.key").write_text(__import__("secrets").token_urlsafe(32))
    creds = dict(l.split("=", 1) for l in (state / "demo.env").read_text().splitlines() if "=" in l and not l.startswith("#"))
    from urllib.parse import urlencode
    # A token for the warm resource events, from the token binary itself.
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    login = urlencode({"grant_type": "client_credentials", "client_id": creds["OASIS_SERVICE_CLIENT"], "client_secret": creds["OASIS_SERVICE_SECRET"], "scope": "search"})
    release = ROOT / "target/release"

    def access_token(fields):
        run(release / "token", env, event("POST", "/token", form, urlencode(fields)), 1)
        reply = json.loads(Runtime.last_response)
        assert reply.get("statusCode") == 200, reply
        return json.loads(reply["body"])["access_token"]

    user = access_token({"grant_type": "password", "client_id": creds["OASIS_DEMO_CLIENT"], "username": creds["OASIS_DEMO_USER"],
                         "password": creds["OASIS_DEMO_PASSWORD"]})
    bearer = {"Authorization": f"Bearer {user}"}
    cases = [
        ("hello-world lambda_http (baseline)", release / "examples/hello", event("GET", "/", {})),
        ("token (client_credentials grant)", release / "token", event("POST", "/token", form, login)),
        ("secure-data (GET /secure-data, valid token)", release / "secure-data", event("GET", "/secure-data", bearer)),
        ("search (q=the matr on 10,000 titles, valid token)", release / "search", event("GET", "/search", bearer, query={"q": "the matr", "limit": "20"})),
    ]
    rows = []
    for name, binary, ev in cases:
        run(binary, env, ev, 1)
        status = json.loads(Runtime.last_response).get("statusCode")
        assert status == 200, (name, Runtime.last_response[:300])
        colds = [run(binary, env, ev, 1)[0] for _ in range(RUNS)]
        _, peak = run(binary, env, ev, WARM_EVENTS)
        rows.append((name, statistics.median(colds) * 1000, max(colds) * 1000, peak / 1024, binary.stat().st_size / 1e6))
    base = rows[0][1]
    print("| binary (release, x86_64) | cold start p50 ms | max ms | × baseline | peak RSS MB after warm events | size MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, p50, worst, peak, size in rows:
        print(f"| {name} | {p50:.1f} | {worst:.1f} | {p50 / base:.2f} | {peak:.1f} | {size:.1f} |")


if __name__ == "__main__":
    main()
