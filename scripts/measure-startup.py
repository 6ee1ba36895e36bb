#!/usr/bin/env python3
"""Lambda-style benchmark of each function's release binary (DESIGN §8), against a minimal
Lambda Runtime API served here on loopback, with a hello-world lambda_http binary (example
`hello` of oasis-bench) measured in the same run as the floor.

Per case (one binary and one kind of event):
  init             process spawn -> its first GET /runtime/invocation/next; median and max of
                   BENCH_COLD cold starts (after one discarded start that warms the page cache).
  cold first call  spawn -> the POST of the first response, same cold starts (median).
  warm p50 / p99   BENCH_WARM invocations in ONE process, after its first (cold) one: from the
                   emulator writing the event (end of the GET /next reply) to having read the
                   POST of the response, time.perf_counter. The emulator's own cost is in the
                   floor's number too, so "warm p50 - floor" is the function's share.
  peak RSS         VmHWM of /proc/PID/status once the last warm response is in.
  binary / zip     size of target/release/<bin> and of target/lambda/<fn>/bootstrap.zip
                   (built by `make package`; "–" when absent). Every MB here is a MiB.
Every response must be statusCode 200: any other (or an /error POST) fails the run (exit 2).
The refresh grant rotates its token, and presenting a used one revokes the family, so each
refresh event carries the refresh token of the previous response (cold starts included).

The function process is pinned to CPU 0 with `taskset -c 0` when available (Lambda at small
memory sizes gives about one vCPU) and the emulator to the other CPUs, so they do not compete.
The emulator speaks keep-alive HTTP/1.1 (one thread per connection, and the runtime client
keeps one connection), with Nagle off and each reply written in one send. Functions log at
INFO to /dev/null, as deployed (terraform/functions.tf).

Usage: scripts/measure-startup.py [--check]   (builds what it needs; state in a temp directory)
  BENCH_WARM=1000  warm invocations per case     BENCH_COLD=10  cold starts per case
  BENCH_CASES=signin,secure-data  only the cases whose name contains one of these (the floor
                   is always measured too, in the same run)
  BENCH_RUNS=6     measure everything that many times and print each cell as the median of
                   the runs, with the lowest and highest in brackets (a noisy VM's answer)
  --check or BENCH_CHECK=1: exit 1 if a peak RSS budget is broken (token 48 MB, secure-data,
  search and signin 16 MB). Init above 1.3x the floor is only reported: it is too noisy to fail on."""

import argparse
import base64
import http.server
import json
import math
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "target/release"
WARM = int(os.environ.get("BENCH_WARM", "1000"))
COLD = int(os.environ.get("BENCH_COLD", "10"))
RUNS = int(os.environ.get("BENCH_RUNS", "1"))
ONLY = [c.strip() for c in os.environ.get("BENCH_CASES", "").split(",") if c.strip()]
RSS_BUDGET_MB = {"token": 48, "secure-data": 16, "search": 16, "signin": 16}
INIT_BUDGET = 1.3  # x the floor; reported, never failed
FUNCTION_CPU = 0
PIN = ["taskset", "-c", str(FUNCTION_CPU)] if shutil.which("taskset") else []
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
NEXT = "/2018-06-01/runtime/invocation/next"


# ---------------------------------------------------------------------------------------------
# Events and what the emulator hands out


def event(method, path, headers, body=None, query=None):
    """An API Gateway REST event, shaped like the samples in events/."""
    e = json.loads((ROOT / "events/token-jwks.json").read_text())
    e.update(resource=path, path=path, httpMethod=method, headers=headers, body=body,
             multiValueHeaders={k: [v] for k, v in headers.items()},
             queryStringParameters=query, multiValueQueryStringParameters={k: [v] for k, v in query.items()} if query else None)
    e["requestContext"].update(resourcePath=path, httpMethod=method, path="/v1" + path)
    return json.dumps(e).encode()


def token_event(fields):
    return event("POST", "/token", FORM, urlencode(fields))


def reply_body(reply):
    """The JSON body of a Lambda proxy response."""
    body = reply.get("body") or ""
    return json.loads(base64.b64decode(body) if reply.get("isBase64Encoded") else body)


class Fixed:
    """The same event every time; keeps the last reply (to read a minted token from)."""

    def __init__(self, body):
        self.body, self.last = body, None

    def event(self):
        return self.body

    def observe(self, reply):
        self.last = reply


class RefreshChain:
    """Refresh grants that each present the refresh token of the previous response."""

    def __init__(self, client_id, refresh_token):
        self.client_id, self.token = client_id, refresh_token

    def event(self):
        return token_event({"grant_type": "refresh_token", "client_id": self.client_id, "refresh_token": self.token})

    def observe(self, reply):
        if reply.get("statusCode") == 200:
            self.token = reply_body(reply)["refresh_token"]


# ---------------------------------------------------------------------------------------------
# The Runtime API emulator


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    """GET /next hands out the source's events up to the limit, then holds the request (the
    process is measured and killed meanwhile); POST .../response records the time and checks
    the status."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # the event and the 202 are small; never wait for an ACK

    def log_message(self, *_):
        pass

    def reply(self, status, headers=(), body=b""):
        # One send per reply: split writes would add syscalls to the measured path.
        head = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}", f"Content-Length: {len(body)}", *headers]
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)

    def do_GET(self):
        emu, now = self.server, time.perf_counter()
        if self.path != NEXT:
            return self.reply(404)
        if emu.first_next is None:
            emu.first_next = now
        if emu.served >= emu.limit:
            emu.done.set()  # no answer: the runtime waits, idle, until it is killed
            return
        emu.served += 1
        body = emu.source.event()
        self.reply(200, (
            f"Lambda-Runtime-Aws-Request-Id: req-{emu.served}",
            f"Lambda-Runtime-Deadline-Ms: {int(time.time() * 1000) + 30_000}",
            "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:eu-west-1:123456789012:function:bench",
            "Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000",
            "Content-Type: application/json",
        ), body)
        emu.sent_at = time.perf_counter()

    def do_POST(self):
        emu = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        now = time.perf_counter()  # first, so the checks below stay out of the measurement
        self.reply(202)
        if self.path.endswith("/response"):
            try:
                reply = json.loads(body)
            except ValueError:
                reply = {"unparsable": body[:300].decode(errors="replace")}
            emu.record(now, reply)
        else:  # /invocation/{id}/error or /init/error
            emu.fail(f"{self.path}: {body[:300]!r}")


class Emulator(http.server.ThreadingHTTPServer):
    """One run of one process: `limit` events from `source`, with the timings of each."""

    daemon_threads = True

    def __init__(self, source, limit):
        super().__init__(("127.0.0.1", 0), RuntimeApi)
        self.source, self.limit = source, limit
        self.served = 0
        self.first_next = self.first_reply = self.sent_at = None
        self.warm = []  # seconds, invocations 2..limit
        self.failures = []
        self.pid = None
        # RSS after the first tenth of the warm invocations, to see growth per invocation.
        self.probe_at = 1 + max(1, (limit - 1) // 10)
        self.probe_rss_kib = None
        self.done = threading.Event()

    def record(self, now, reply):
        if self.first_reply is None:
            self.first_reply = now
        else:
            self.warm.append(now - self.sent_at)
        if reply.get("statusCode") != 200:
            self.fail(f"invocation {self.served}: {json.dumps(reply)[:300]}")
        if self.served == self.probe_at and self.pid:
            self.probe_rss_kib = proc_status(self.pid)["VmRSS"]
        self.source.observe(reply)

    def fail(self, what):
        self.failures.append(what)
        if self.first_reply is None:  # an init error: nothing else will come
            self.done.set()


def proc_status(pid):
    """The kB fields of /proc/PID/status."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if value.strip().endswith(" kB"):
            fields[key] = int(value.split()[0])
    return fields


@dataclass
class Run:
    init: float
    first_call: float
    warm: list
    failures: list
    peak_kib: int
    growth_kib: int | None


def run(binary, source, limit, env):
    """Spawns `binary` against a fresh emulator, serves `limit` events, measures, kills it."""
    emu = Emulator(source, limit)
    # A short poll interval: shutdown() waits for it, once per run.
    threading.Thread(target=emu.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{emu.server_address[1]}")
    # stderr to a file, not a pipe: a pipe nobody reads would block a chatty function.
    with tempfile.TemporaryFile() as stderr:
        try:
            start = time.perf_counter()
            proc = subprocess.Popen([*PIN, str(binary)], env=env, stdout=subprocess.DEVNULL, stderr=stderr)
            emu.pid = proc.pid  # taskset execs the binary: same pid
            try:
                wait_done(emu, proc, stderr, timeout=60 + 0.2 * limit)
                status = proc_status(proc.pid)
            finally:
                proc.kill()
                proc.wait()
        finally:
            emu.shutdown()
            emu.server_close()
        if emu.failures:
            emu.failures[0] += f" (stderr: {tail(stderr)})"
    growth = status["VmRSS"] - emu.probe_rss_kib if emu.probe_rss_kib else None
    return Run((emu.first_next or math.nan) - start, (emu.first_reply or math.nan) - start, emu.warm, emu.failures,
               status["VmHWM"], growth)


def tail(file):
    file.seek(0)
    return file.read()[-500:].decode(errors="replace")


def wait_done(emu, proc, stderr, timeout):
    deadline = time.monotonic() + timeout
    while not emu.done.wait(0.05):
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[-1]} exited ({proc.returncode}): {tail(stderr)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{proc.args[-1]}: {emu.served}/{emu.limit} events after {timeout:.0f} s")


# ---------------------------------------------------------------------------------------------
# Cases and their numbers


@dataclass
class Case:
    name: str
    function: str | None  # None for the floor
    binary: Path
    source: object  # () -> an event source, made just before the case runs (tokens stay fresh)


@dataclass
class Result:
    case: Case
    cold: list
    warm: Run
    failures: list = field(default_factory=list)

    @property
    def init_p50(self):
        return statistics.median(r.init for r in self.cold)

    @property
    def init_max(self):
        return max(r.init for r in self.cold)

    @property
    def first_call_p50(self):
        return statistics.median(r.first_call for r in self.cold)

    def warm_pct(self, p):
        ordered = sorted(self.warm.warm)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]  # nearest rank

    @property
    def peak_mb(self):
        return self.warm.peak_kib / 1024


def measure(case, env):
    print(f"  {case.name} …", file=sys.stderr, flush=True)
    source = case.source()
    runs = [run(case.binary, source, 1, env) for _ in range(COLD + 1)]
    warm = run(case.binary, source, WARM + 1, env)
    failures = [f for r in [*runs, warm] for f in r.failures]
    return Result(case, runs[1:], warm, failures)  # the first start only warmed the page cache


def mint(env, fields):
    """A token response (as JSON) from the token binary itself."""
    source = Fixed(token_event(fields))
    run(RELEASE / "token", source, 1, env)
    assert source.last and source.last.get("statusCode") == 200, source.last
    return reply_body(source.last)


def cases(env, creds):
    password = {"grant_type": "password", "client_id": creds["OASIS_DEMO_CLIENT"], "username": creds["OASIS_DEMO_USER"],
                "password": creds["OASIS_DEMO_PASSWORD"]}
    client_credentials = {"grant_type": "client_credentials", "client_id": creds["OASIS_SERVICE_CLIENT"],
                          "client_secret": creds["OASIS_SERVICE_SECRET"], "scope": "search"}

    def bearer(method, path, query=None):
        def source():
            headers = {"Authorization": f"Bearer {mint(env, password)['access_token']}"}
            return Fixed(event(method, path, headers, query=query))
        return source

    def refresh_chain():
        return RefreshChain(creds["OASIS_DEMO_CLIENT"], mint(env, password)["refresh_token"])

    return [
        Case("hello-world lambda_http (floor)", None, RELEASE / "examples/hello", lambda: Fixed(event("GET", "/", {}))),
        Case("token: client_credentials grant", "token", RELEASE / "token", lambda: Fixed(token_event(client_credentials))),
        Case("token: password grant (argon2id)", "token", RELEASE / "token", lambda: Fixed(token_event(password))),
        Case("token: refresh grant (rotating)", "token", RELEASE / "token", refresh_chain),
        Case("secure-data: GET /secure-data", "secure-data", RELEASE / "secure-data", bearer("GET", "/secure-data")),
        Case("search: q=matrix (10,000 titles)", "search", RELEASE / "search",
             bearer("GET", "/search", {"q": "matrix", "limit": "20"})),
        Case("search: q=the matr (10,000 titles)", "search", RELEASE / "search",
             bearer("GET", "/search", {"q": "the matr", "limit": "20"})),
        # The sign-in pages as a browser first loads them (no password checked: that is argon2,
        # measured by the password grant above).
        Case("signin: GET /authorize (sign-in page)", "signin", RELEASE / "signin",
             lambda: Fixed(event("GET", "/authorize", {}, query=authorize_query(creds)))),
        Case("signin: GET /device (code entry page)", "signin", RELEASE / "signin", lambda: Fixed(event("GET", "/device", {}))),
        Case("signin: GET /device/qr (SVG)", "signin", RELEASE / "signin",
             lambda: Fixed(event("GET", "/device/qr", {}, query={"user_code": "BCDF-GHJK"}))),
    ]


def selected(all_cases):
    """The floor, then every case BENCH_CASES names (all of them when it is unset)."""
    floor, rest = all_cases[0], all_cases[1:]
    chosen = [c for c in rest if not ONLY or any(part in c.name for part in ONLY)]
    if not chosen:
        sys.exit(f"BENCH_CASES={','.join(ONLY)} names no case; the cases: " + "; ".join(c.name for c in rest))
    return [floor] + chosen


def authorize_query(creds):
    return {"response_type": "code", "client_id": creds["OASIS_DEMO_WEB_CLIENT"],
            "redirect_uri": creds["OASIS_DEMO_WEB_REDIRECT_URI"], "scope": "data:read search", "state": "bench",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256"}


# ---------------------------------------------------------------------------------------------
# Setup, report, budgets


def build():
    cargo = ["cargo", "build", "--quiet"]
    subprocess.run([*cargo, "--release", "-p", "token", "-p", "secure-data", "-p", "search", "-p", "signin"], cwd=ROOT, check=True)
    subprocess.run([*cargo, "--release", "-p", "oasis-bench", "--example", "hello"], cwd=ROOT, check=True)
    subprocess.run([*cargo, "-p", "oasis-admin"], cwd=ROOT, check=True)


def seed(state):
    """Keys, demo clients and users and the catalog in a fresh SQLite store; the environment
    the functions run with, and the demo credentials."""
    env = dict(os.environ, OASIS_SQLITE_PATH=str(state / "oasis.db"), OASIS_KEYS_FILE=str(state / "keys.json"),
               OASIS_JWKS_FILE=str(state / "jwks.json"), OASIS_CURSOR_KEY_FILE=str(state / "cursor.key"),
               OASIS_ISSUER="http://127.0.0.1:9000")
    admin = str(ROOT / "target/debug/oasis-admin")
    for args in (["keys", "init"], ["dev-seed", "--out", str(state)], ["catalog", "load", str(ROOT / "tools/admin/data/catalog.jsonl")]):
        subprocess.run([admin, *args], env=env, check=True, capture_output=True)
    (state / "cursor.key").write_text(secrets.token_urlsafe(32))
    creds = dict(l.split("=", 1) for l in (state / "demo.env").read_text().splitlines() if "=" in l and not l.startswith("#"))
    env.update(AWS_LAMBDA_FUNCTION_NAME="bench", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128", AWS_LAMBDA_FUNCTION_VERSION="1",
               AWS_LAMBDA_LOG_LEVEL="info")
    return env, creds


def pin_emulator():
    """Keeps this process (and the threads it starts from now on) off the function's CPU.
    Returns the CPUs it had, i.e. what `nproc` reports."""
    cpus = os.sched_getaffinity(0)
    if PIN and FUNCTION_CPU in cpus and len(cpus) > 1:
        os.sched_setaffinity(0, cpus - {FUNCTION_CPU})
    return cpus


def size_mb(path):
    return f"{path.stat().st_size / 2**20:.1f}" if path and path.exists() else "–"


def table(results):
    floor = results[0]
    floor_p50 = floor.warm_pct(50)
    lines = ["| case | init p50 ms | init max ms | × floor | cold first call ms | warm p50 µs | warm p99 µs "
             "| warm p50 − floor µs | peak RSS MB | binary MB | zip MB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        zip_path = ROOT / f"target/lambda/{r.case.function}/bootstrap.zip" if r.case.function else None
        lines.append(f"| {r.case.name} | {r.init_p50 * 1e3:.1f} | {r.init_max * 1e3:.1f} | {r.init_p50 / floor.init_p50:.2f} "
                     f"| {r.first_call_p50 * 1e3:.1f} | {r.warm_pct(50) * 1e6:.0f} | {r.warm_pct(99) * 1e6:.0f} "
                     f"| {(r.warm_pct(50) - floor_p50) * 1e6:.0f} | {r.peak_mb:.1f} | {size_mb(r.case.binary)} | {size_mb(zip_path)} |")
    return "\n".join(lines)


def machine(cpus, load):
    model = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                  if l.startswith("model name")), "unknown CPU")
    pinned = (f"function pinned to CPU {FUNCTION_CPU} (taskset -c {FUNCTION_CPU}: Lambda at small memory sizes gives "
              f"about one vCPU), emulator on CPUs {sorted(os.sched_getaffinity(0))}" if PIN else "taskset absent: not pinned")
    # Other work on the machine inflates every number (ratios to the floor suffer least).
    return (f"Machine: nproc {len(cpus)}, {model}, load average {load:.2f} before measuring; {pinned}. "
            f"Per case: {COLD} cold starts (+1 discarded), "
            f"{WARM} warm invocations in one process.")


def table_of_runs(runs):
    """Each cell the median over the runs; ratios and shares above the floor with their range."""
    def cells(results):
        floor = results[0]
        for r in results:
            yield (r.init_p50 * 1e3, r.init_p50 / floor.init_p50, r.first_call_p50 * 1e3, r.warm_pct(50) * 1e6,
                   r.warm_pct(99) * 1e6, (r.warm_pct(50) - floor.warm_pct(50)) * 1e6, r.peak_mb)
    per_run = [list(cells(results)) for results in runs]
    lines = [f"Median of {len(runs)} runs (lowest–highest):", "",
             "| case | init p50 ms | × floor | cold first call ms | warm p50 µs | warm p99 µs "
             "| warm p50 − floor µs | peak RSS MB (highest) | binary MB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for i, r in enumerate(runs[0]):
        column = lambda k: [run[i][k] for run in per_run]
        med = lambda k: statistics.median(column(k))
        spread = lambda k, f: f" ({f.format(min(column(k)))}–{f.format(max(column(k)))})" if i else ""
        lines.append(f"| {r.case.name} | {med(0):.1f} | {med(1):.2f}{spread(1, '{:.2f}')} | {med(2):.1f} "
                     f"| {med(3):,.0f} | {med(4):,.0f} | {med(5):,.0f}{spread(5, '{:,.0f}')} "
                     f"| {max(column(6)):.1f} | {size_mb(r.case.binary)} |")
    return "\n".join(lines)


def budgets(results):
    """(broken, notes): peak RSS over its budget breaks; init over 1.3x the floor is a note;
    so is RSS growing through the warm invocations."""
    broken, notes = [], []
    floor = results[0].init_p50
    for r in results[1:]:
        limit = RSS_BUDGET_MB[r.case.function]
        if r.peak_mb > limit:
            broken.append(f"BUDGET BROKEN: {r.case.name}: peak RSS {r.peak_mb:.1f} MB > {limit} MB")
        if r.init_p50 > INIT_BUDGET * floor:
            notes.append(f"note: {r.case.name}: init {r.init_p50 / floor:.2f}x the floor (> {INIT_BUDGET}x; noisy, not failed)")
        if r.warm.growth_kib is not None and r.warm.growth_kib > 1024:
            notes.append(f"note: {r.case.name}: RSS grew {r.warm.growth_kib / 1024:.1f} MB over the last 90% of the warm invocations")
    return broken, notes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", default=os.environ.get("BENCH_CHECK") == "1",
                        help="exit 1 if a peak RSS budget is broken (also BENCH_CHECK=1)")
    check = parser.parse_args().check
    if WARM < 1 or COLD < 1 or RUNS < 1:
        sys.exit("BENCH_WARM, BENCH_COLD and BENCH_RUNS must be at least 1")
    began = time.monotonic()
    build()  # before pinning: cargo should have every CPU
    built = time.monotonic()
    cpus, load = pin_emulator(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="oasis-startup-") as state:
        env, creds = seed(Path(state))
        print("measuring:", file=sys.stderr)
        runs = [[measure(case, env) for case in selected(cases(env, creds))] for _ in range(RUNS)]
    results = [r for run in runs for r in run]
    print(table(runs[0]) if RUNS == 1 else table_of_runs(runs))
    print()
    print(machine(cpus, load) + f" Took {time.monotonic() - built:.0f} s (+{built - began:.0f} s of cargo build).")
    broken, notes = [], []
    for run in runs:
        b, n = budgets(run)
        broken, notes = broken + b, notes + n
    budget = ", ".join(f"{f} {mb} MB" for f, mb in RSS_BUDGET_MB.items())
    for line in notes + (broken or [f"Peak RSS budgets ({budget}): met."]):
        print(line)
    failed = [(r.case.name, f) for r in results for f in r.failures]
    if failed:
        for name, what in failed[:20]:
            print(f"FAILED {name}: {what}", file=sys.stderr)
        print(f"{len(failed)} invocations were not statusCode 200: the numbers above are not valid", file=sys.stderr)
        sys.exit(2)
    if check and broken:
        sys.exit(1)


if __name__ == "__main__":
    main()
