"""Abuse under load, on loopback against the local run (issue 13, point 5), bounded in time:

- 2,000 password-grant attempts spraying one password over 500 accounts from 20 source
  addresses: no 5xx, every address locked out, only accounts whose password *is* the sprayed
  one ever get a token, and the password checks are bounded by the lock-outs;
- 10,000 searches from 50 tokens, 32 in flight: no 5xx;
- 1,000 parallel refreshes of one refresh token, on SQLite and on DynamoDB (moto): exactly one
  rotation, every other answer `invalid_grant`, and then the rotated token is dead too (the
  family is revoked on reuse).

The local runs here are `make dev` with `cargo lambda watch --concurrency 4`: up to four
instances of each function, so parallel requests really run in parallel against one store.

Timings are reported, never asserted (printed, and written to target/load-report.json); the
README's "Abuse under load" figures come from a run of this file.

Source addresses. `cargo lambda watch` answers HTTP by building an API Gateway v2 event whose
`requestContext.http.sourceIp` is always "127.0.0.1", whatever the client's socket address, so
twenty client addresses on loopback would all count as one. The spray therefore goes where
API Gateway's own events go: to the local run's Lambda invoke endpoint
(`/2015-03-31/functions/token/invocations`, what `cargo lambda invoke` and events/ use), as
REST API proxy events whose `identity.sourceIp` is the address the sending socket is bound
to (127.0.0.2 ... 127.0.0.21) — the part API Gateway plays in production, played by the test.
The functions read the address only from the request context, never from a header.
"""

import http.client
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from urllib.parse import urlencode

import pytest

from conftest import ROOT, start_local_run, stop

# The refresh bursts below show reuse detection itself, so the grace window is off in these
# runs (with it, every refresh of the burst gets the one successor: tests/e2e/test_token_e2e.py,
# and 100-way races in functions/token/tests/api/refresh_grace.rs and tests/integration).
CONCURRENT = {"OASIS_WATCH_ARGS": "--ignore-changes --concurrency 4", "OASIS_REFRESH_GRACE_SECONDS": "0"}
REPORT = ROOT / "target" / "load-report.json"
ADMIN = ROOT / "target" / "debug" / "oasis-admin"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

ACCOUNTS = 500
ADDRESSES = [f"127.0.0.{n}" for n in range(2, 22)]
ATTEMPTS = 2_000
SPRAYED = "Summer2026!Summer"
# The per-address policy (shared/login LockoutPolicy::SOURCE_IP): the 20th failure takes a
# 30 s lock; the per-account one needs five failures, more than a spray spends on one account.
IP_THRESHOLD, IP_LOCK_SECONDS = 20, 30


def spray_schedule():
    """Address `a` takes accounts a, a+20, a+40, ... of the list, four passes (100 attempts),
    one at a time: account k is tried from address k % 20 at positions k // 20, +25, +50, +75."""
    return [[(a + 20 * p) % ACCOUNTS for p in range(ATTEMPTS // len(ADDRESSES))] for a in range(len(ADDRESSES))]


# Accounts whose password is the sprayed one. Their address's lock (its 20th failure, at
# position 19) decides: tried before it, they get in; tried while it holds, they are refused
# like everyone else (a lock does not look at the password). 391 is its address's 20th attempt:
# it takes the lock, signs in and releases it, so its address locks one attempt later.
WEAK_BEFORE_LOCK = {7: (7, 0), 58: (18, 2), 139: (19, 6), 263: (3, 13), 391: (11, 19)}
WEAK_WHILE_LOCKED = {450: (10, 22), 491: (11, 24)}
WEAK = {**WEAK_BEFORE_LOCK, **WEAK_WHILE_LOCKED}


def username(k):
    return f"spray-{k:03d}"


# --- local runs ----------------------------------------------------------------------------


def local_env(srv) -> dict:
    """The environment of oasis-admin for a local run: its own settings (local.env), no others."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OASIS_")}
    for line in (srv.state / "local.env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            env[k] = v
    return env


def create_users(srv, users: dict, workers=2):
    """`oasis-admin user create` for each (username, password), `workers` at a time."""
    env = local_env(srv)

    def one(item):
        name, password = item
        out = subprocess.run([str(ADMIN), "user", "create", name], input=password + "\n", env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, f"{name}: {out.stderr}"

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, users.items()))


@pytest.fixture(scope="module")
def busy_run(tmp_path_factory):
    """A local run on SQLite with up to four instances of each function."""
    srv, proc = start_local_run(tmp_path_factory.mktemp("oasis-abuse"), CONCURRENT)
    try:
        yield srv
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def busy_dynamodb_run(dynamodb_server, tmp_path_factory):
    """A second `make dev` on the DynamoDB tables (and moto) of `dynamodb_server`, with up to
    four instances of each function: same store, its own keys; the catalog and demo data are
    already there (its demo.env is copied, so the seed is skipped)."""
    base = local_env(dynamodb_server)
    state = tmp_path_factory.mktemp("oasis-abuse-dynamodb")
    shutil.copy(dynamodb_server.state / "demo.env", state / "demo.env")
    env = {k: base[k] for k in ("OASIS_STORE", "OASIS_AWS_ENDPOINT", "OASIS_TABLE_PREFIX")}
    srv, proc = start_local_run(state, {**env, **CONCURRENT})
    try:
        yield srv
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def accounts(busy_run):
    """500 accounts: the WEAK ones with the sprayed password, each other with its own."""
    started = time.monotonic()
    users = {username(k): SPRAYED if k in WEAK else f"own-{k:03d}-{os.urandom(6).hex()}" for k in range(ACCOUNTS)}
    create_users(busy_run, users)
    seconds = time.monotonic() - started
    print(f"\n[abuse] {ACCOUNTS} accounts created with oasis-admin (2 at a time) in {seconds:.1f} s")
    record("accounts", {"count": ACCOUNTS, "seconds": round(seconds, 1)})
    return users


# --- clients and measurements -------------------------------------------------------------


class Conn:
    """One keep-alive HTTP connection to a local run, from a chosen loopback address."""

    def __init__(self, port, source="127.0.0.1"):
        self.port, self.source, self.conn = port, source, None

    def send(self, method, path, body=None, headers=None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120, source_address=(self.source, 0))
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body, headers or {})
            r = self.conn.getresponse()
            data = r.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = None
            raise
        return r.status, data, time.perf_counter() - started

    def close(self):
        if self.conn is not None:
            self.conn.close()


def rest_event(path, body, source_ip, request_id):
    """An API Gateway REST API proxy event, as API Gateway sends it to the function."""
    return json.dumps({
        "resource": path, "path": path, "httpMethod": "POST",
        "headers": {"Host": "127.0.0.1", "Content-Type": "application/x-www-form-urlencoded"},
        "multiValueHeaders": {"Host": ["127.0.0.1"], "Content-Type": ["application/x-www-form-urlencoded"]},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": None, "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "resourcePath": path, "httpMethod": "POST",
            "path": f"/v1{path}", "stage": "v1", "protocol": "HTTP/1.1", "requestId": request_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": "oasis-abuse-test"},
        },
        "body": body, "isBase64Encoded": False,
    })


def run_all(jobs, workers, budget_s, what):
    """Runs the callables in `jobs` on `workers` threads; fails if they take over `budget_s`."""
    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(j) for j in jobs]
        deadline = time.monotonic() + budget_s
        results = []
        for f in futures:
            left = deadline - time.monotonic()
            try:
                results.append(f.result(timeout=max(left, 0.1)))
            except TimeoutError:
                for g in futures:
                    g.cancel()
                raise AssertionError(f"{what} did not finish within {budget_s} s") from None
    return results


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds):
    return round(seconds * 1000, 1)


def record(section, data):
    """Adds a section to target/load-report.json (the figures of the last run of each part)."""
    REPORT.parent.mkdir(exist_ok=True)
    try:
        report = json.loads(REPORT.read_text())
    except (OSError, ValueError):
        report = {}
    report[section] = {**data, "cpus": os.cpu_count(), "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    REPORT.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")


def log_offset(srv):
    return srv.log.stat().st_size


def log_lines(srv, offset):
    """The JSON lines the local run logged since `offset` (tracing lines and EMF documents)."""
    with open(srv.log, "rb") as f:
        f.seek(offset)
        text = f.read().decode(errors="replace")
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def signals(lines, request_ids=None):
    """Counts of (signal, reason) in tracing lines, of the given requests only if named."""
    counted = Counter()
    for d in lines:
        fields, span = d.get("fields") or {}, d.get("span") or {}
        if "signal" not in fields or (request_ids is not None and not request_ids(span.get("request_id", ""))):
            continue
        counted[(fields["signal"], fields.get("reason"))] += 1
    return counted


def wait_for_logs(srv, offset, done, seconds=15):
    """The log lines since `offset`, once `done(lines)` holds (function output reaches the
    log a moment after the response), or as they are after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        lines = log_lines(srv, offset)
        if done(lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.2)


def instances(lines, function):
    """Instances of a function that started in these lines (one ColdStart each)."""
    return sum(1 for d in lines if d.get("function") == function and d.get("ColdStart"))


def password_grant(srv, user, password):
    return srv.form("/token", {"grant_type": "password", "client_id": "oasis-demo", "username": user, "password": password})


# --- the spray -----------------------------------------------------------------------------


def test_a_password_spray_from_twenty_addresses_locks_each_address_and_lets_in_only_owners_of_that_password(busy_run, accounts):
    schedule = spray_schedule()
    assert sum(map(len, schedule)) == ATTEMPTS and {k for row in schedule for k in row} == set(range(ACCOUNTS))
    for k, (a, p) in WEAK.items():
        assert schedule[a][p] == k, "the weak accounts sit where their comments say"
    offset = log_offset(busy_run)
    results = {}

    def spray_from(a):
        def run():
            conn, source = Conn(busy_run.port, ADDRESSES[a]), ADDRESSES[a]
            try:
                for p, k in enumerate(schedule[a]):
                    body = urlencode({"grant_type": "password", "client_id": "oasis-demo", "username": username(k), "password": SPRAYED})
                    status, data, took = conn.send("POST", "/2015-03-31/functions/token/invocations",
                                                   rest_event("/token", body, source, f"spray-{a:02d}-{p:02d}"),
                                                   {"Content-Type": "application/json"})
                    payload = json.loads(data) if status == 200 else {}
                    answer = json.loads(payload["body"]) if payload.get("body") else {}
                    results[(a, p)] = (k, status, payload.get("statusCode"), answer, took)
            finally:
                conn.close()
        return run

    started = time.monotonic()
    run_all([spray_from(a) for a in range(len(ADDRESSES))], len(ADDRESSES), 420, "the spray")
    seconds = time.monotonic() - started
    assert len(results) == ATTEMPTS

    invoke_failures = [(key, r[1:4]) for key, r in results.items() if r[1] != 200 or not isinstance(r[2], int)]
    assert not invoke_failures, f"invocations that did not return a response: {invoke_failures[:5]}"
    server_errors = [(key, r[2], r[3]) for key, r in results.items() if r[2] >= 500]
    assert not server_errors, f"5xx answers: {server_errors[:5]}"
    granted = {key: r for key, r in results.items() if r[2] == 200}
    # Nobody whose password is not the sprayed one ever got a token.
    assert {r[0] for r in granted.values()} <= set(WEAK), sorted(username(r[0]) for r in granted.values())
    assert all(r[3].get("access_token") for r in granted.values())
    # Everyone else got the one refusal, locked or not: a lock tells nothing.
    refusals = Counter((r[2], r[3].get("error")) for key, r in results.items() if key not in granted)
    assert set(refusals) == {(400, "invalid_grant")}, refusals
    # The holders of the sprayed password tried before their address's lock got in; the two
    # tried while it held were refused with the right password.
    for k, (a, p) in WEAK_BEFORE_LOCK.items():
        assert results[(a, p)][2] == 200, f"{username(k)} before the lock of {ADDRESSES[a]}: {results[(a, p)][3]}"
    for k, (a, p) in WEAK_WHILE_LOCKED.items():
        assert results[(a, p)][2] == 400, f"{username(k)} while {ADDRESSES[a]} was locked got in"

    # What the function did with them, from its log (each attempt's request id is its own).
    lines = wait_for_logs(busy_run, offset, lambda ls: sum(v for (s, _), v in signals(ls, lambda r: r.startswith("spray-")).items() if s.startswith("login_")) >= ATTEMPTS)
    seen = signals(lines, lambda r: r.startswith("spray-"))
    checked = seen[("login_failed", "bad_credentials")] + seen[("login_succeeded", None)]
    locked = seen[("login_failed", "locked")]
    assert seen[("login_succeeded", None)] == len(granted)
    assert checked + locked == ATTEMPTS, seen
    # Every address was locked, each by its own count: the function saw twenty addresses.
    assert seen[("source_locked", None)] >= len(ADDRESSES), seen
    with sqlite3.connect(f"file:{busy_run.state / 'oasis.db'}?mode=ro", uri=True) as db:
        rows = dict(db.execute("SELECT key, locked_until FROM login_attempts WHERE key LIKE 'ip:127.0.0.%'").fetchall())
    sprayed_from = {f"ip:{a}" for a in ADDRESSES}
    assert sprayed_from <= set(rows), sorted(sprayed_from - set(rows))
    assert all(rows[k] > time.time() - seconds for k in sprayed_from), "each address holds or held a lock from this spray"
    # At most 20 password checks per address before its lock, one more each time a lock ran
    # out (30 s, then doubling), and one per sign-in that got in; without lock-outs all 2,000.
    bound = len(ADDRESSES) * (IP_THRESHOLD + 1 + int(seconds // IP_LOCK_SECONDS)) + len(granted)
    assert checked <= bound, f"{checked} password checks for {ATTEMPTS} attempts (bound {bound})"
    # Exactly: 19 failures per address below the threshold, then one per lock taken (each
    # failure from there on takes one), plus the sign-ins (forgiven, so never counted).
    assert checked == len(ADDRESSES) * (IP_THRESHOLD - 1) + seen[("source_locked", None)] + len(granted), seen

    took = [r[4] for r in results.values()]
    summary = {
        "attempts": ATTEMPTS, "accounts": ACCOUNTS, "addresses": len(ADDRESSES), "seconds": round(seconds, 1),
        "attempts_per_s": round(ATTEMPTS / seconds, 1), "p50_ms": ms(pct(took, 0.5)), "p99_ms": ms(pct(took, 0.99)),
        "granted": len(granted), "granted_accounts": sorted({username(r[0]) for r in granted.values()}),
        "password_checks": checked, "refused_while_locked": locked, "check_bound": bound,
        "source_locks": seen[("source_locked", None)], "account_locks": seen[("account_locked", None)],
        "status_5xx": 0, "token_instances": instances(lines, "token"),
    }
    print(f"\n[abuse] spray: {ATTEMPTS} attempts over {ACCOUNTS} accounts from {len(ADDRESSES)} addresses in {seconds:.1f} s "
          f"({summary['attempts_per_s']}/s, p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms, 20 in flight); "
          f"{checked} password checks, {locked} refused by a lock, {len(granted)} sign-ins of "
          f"{', '.join(summary['granted_accounts'])}, {summary['source_locks']} address locks, "
          f"{summary['account_locks']} account locks, no 5xx")
    record("spray", summary)


# --- searches ------------------------------------------------------------------------------

SEARCHES, TOKENS, IN_FLIGHT = 10_000, 50, 32
QUERIES = ["q=matrix", "q=the+matr", "q=s", "q=river", "q=th&genre=drama&year=1980-2000", "q=s&limit=50", "q=m&genre=scifi"]


def test_ten_thousand_searches_from_fifty_tokens_all_succeed_without_a_5xx(busy_run, accounts):
    creds = busy_run.creds()
    tokens = []
    # 40 users through the password grant, 10 tokens of the partner service.
    for k in range(400, 440):
        r = password_grant(busy_run, username(k), accounts[username(k)])
        assert r.status == 200, r.body
        tokens.append(r.json()["access_token"])
    for _ in range(TOKENS - len(tokens)):
        r = busy_run.form("/token", {"grant_type": "client_credentials", "client_id": creds["OASIS_SERVICE_CLIENT"],
                                     "client_secret": creds["OASIS_SERVICE_SECRET"], "scope": "search"})
        assert r.status == 200, r.body
        tokens.append(r.json()["access_token"])
    assert len(set(tokens)) == TOKENS
    offset = log_offset(busy_run)
    statuses, took = Counter(), []
    lock = threading.Lock()

    def worker(w):
        def run():
            conn, mine, times = Conn(busy_run.port), Counter(), []
            try:
                for i in range(w, SEARCHES, IN_FLIGHT):
                    status, _, t = conn.send("GET", f"/search?{QUERIES[i % len(QUERIES)]}",
                                             headers={"Authorization": f"Bearer {tokens[i % TOKENS]}"})
                    mine[status] += 1
                    times.append(t)
            finally:
                conn.close()
                with lock:
                    statuses.update(mine)
                    took.extend(times)
        return run

    started = time.monotonic()
    run_all([worker(w) for w in range(IN_FLIGHT)], IN_FLIGHT, 420, "the searches")
    seconds = time.monotonic() - started
    assert sum(statuses.values()) == SEARCHES
    assert not [s for s in statuses if s >= 500], statuses
    assert statuses == Counter({200: SEARCHES}), statuses

    lines = wait_for_logs(busy_run, offset, lambda ls: sum(1 for d in ls if d.get("function") == "search" and "Latency" in d) >= SEARCHES)
    handler = [d["Latency"] for d in lines if d.get("function") == "search" and "Latency" in d]
    summary = {
        "searches": SEARCHES, "tokens": TOKENS, "in_flight": IN_FLIGHT, "seconds": round(seconds, 1),
        "per_s": round(SEARCHES / seconds, 1), "p50_ms": ms(pct(took, 0.5)), "p99_ms": ms(pct(took, 0.99)),
        "max_ms": ms(max(took)), "mean_ms": ms(statistics.fmean(took)), "status_5xx": 0,
        "function_p50_ms": round(pct(handler, 0.5), 2) if handler else None,
        "function_p99_ms": round(pct(handler, 0.99), 2) if handler else None,
        "search_instances": instances(log_lines(busy_run, 0), "search"),
    }
    print(f"\n[abuse] search: {SEARCHES} searches from {TOKENS} tokens, {IN_FLIGHT} in flight, in {seconds:.1f} s "
          f"({summary['per_s']}/s): client p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms, max {summary['max_ms']} ms; "
          f"in the function p50 {summary['function_p50_ms']} ms, p99 {summary['function_p99_ms']} ms; "
          f"{summary['search_instances']} instances; all 200")
    record("search", summary)


# --- parallel refreshes --------------------------------------------------------------------

REFRESHES, REFRESH_THREADS = 1_000, 100


@pytest.fixture(params=["sqlite", "dynamodb"])
def refresh_run(request):
    return request.getfixturevalue("busy_run" if request.param == "sqlite" else "busy_dynamodb_run"), request.param


def test_a_thousand_parallel_refreshes_of_one_token_rotate_it_once_and_revoke_its_family(refresh_run):
    srv, backend = refresh_run
    user, password = f"refresher-{os.urandom(4).hex()}", f"refresh-{os.urandom(8).hex()}"
    create_users(srv, {user: password}, workers=1)
    r = password_grant(srv, user, password)
    assert r.status == 200, r.body
    presented = r.json()["refresh_token"]
    body = urlencode({"grant_type": "refresh_token", "client_id": "oasis-demo", "refresh_token": presented})
    offset = log_offset(srv)
    answers, took = [], []
    lock = threading.Lock()
    gate = threading.Barrier(REFRESH_THREADS, timeout=120)

    def worker():
        conn, mine, times = Conn(srv.port), [], []
        try:
            # Connected first (a cheap request), then all released at once.
            assert conn.send("GET", "/.well-known/jwks.json")[0] == 200
            gate.wait()
            for _ in range(REFRESHES // REFRESH_THREADS):
                status, data, t = conn.send("POST", "/token", body, FORM)
                mine.append((status, json.loads(data) if data else {}))
                times.append(t)
        finally:
            conn.close()
            with lock:
                answers.extend(mine)
                took.extend(times)

    started = time.monotonic()
    run_all([worker] * REFRESH_THREADS, REFRESH_THREADS, 420, f"the refreshes on {backend}")
    seconds = time.monotonic() - started
    assert len(answers) == REFRESHES
    assert not [s for s, _ in answers if s >= 500], Counter(s for s, _ in answers)
    won = [a for s, a in answers if s == 200]
    assert len(won) == 1, f"{len(won)} rotations of one refresh token"
    rotated = won[0]["refresh_token"]
    assert rotated and rotated != presented
    assert Counter((s, a.get("error")) for s, a in answers if s != 200) == Counter({(400, "invalid_grant"): REFRESHES - 1})
    # The reuse revoked the family: the one rotated token is refused too.
    after = srv.form("/token", {"grant_type": "refresh_token", "client_id": "oasis-demo", "refresh_token": rotated})
    assert (after.status, after.json()["error"]) == (400, "invalid_grant")

    def refresh_signals(ls):
        return {k: v for k, v in signals(ls).items() if k[0].startswith("refresh_")}

    lines = wait_for_logs(srv, offset, lambda ls: sum(refresh_signals(ls).values()) >= REFRESHES + 1)
    seen = refresh_signals(lines)
    assert seen.get(("refresh_rotated", None)) == 1, seen
    reuse = seen.get(("refresh_reuse_detected", None), 0)
    revoked = seen.get(("refresh_failed", "revoked"), 0)
    assert reuse >= 1, seen
    # Every refusal is the reuse itself or a use of the family it revoked (the +1: `after`).
    assert reuse + revoked == REFRESHES, seen

    summary = {
        "refreshes": REFRESHES, "threads": REFRESH_THREADS, "seconds": round(seconds, 1),
        "per_s": round(REFRESHES / seconds, 1), "p50_ms": ms(pct(took, 0.5)), "p99_ms": ms(pct(took, 0.99)),
        "rotated": 1, "reuse_detected": reuse, "refused_family_revoked": revoked - 1, "status_5xx": 0,
        "token_instances": instances(log_lines(srv, 0), "token"),
    }
    print(f"\n[abuse] refresh on {backend}: {REFRESHES} refreshes of one token, {REFRESH_THREADS} threads released at once, "
          f"in {seconds:.1f} s ({summary['per_s']}/s, p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms): 1 rotation, "
          f"{reuse} reuse detections, {revoked - 1} refused on the revoked family, no 5xx; "
          f"{summary['token_instances']} token instances")
    record(f"refresh_{backend}", summary)
