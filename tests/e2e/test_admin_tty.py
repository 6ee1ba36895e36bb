"""oasis-admin at an operator's terminal: the password is asked for twice at a prompt that does
not echo it, and a user created that way can log in to the local run. A pseudo-terminal stands
in for the operator (what the Rust CLI tests cannot do: they pipe stdin)."""

import os
import pty
import select
import termios
import time

from conftest import ROOT

PASSWORD = "typed at a terminal 42"


def run_at_terminal(args, env, answers, timeout=120):
    """Runs oasis-admin on a pseudo-terminal, typing each answer after its prompt appears.
    Returns (exit code, everything the terminal showed)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(str(ROOT / "target/debug/oasis-admin"), ["oasis-admin", *args], env)
    shown = b""
    pending = list(answers)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            ready, _, _ = select.select([fd], [], [], 1)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
            if pending and shown.rstrip().endswith(pending[0][0].encode()):
                # A person types after the prompt is ready; typing earlier would race the program
                # turning echo off. Give it 5 s: a prompt that never does is caught by the echo.
                wait_for_echo_off(fd, 5)
                os.write(fd, pending.pop(0)[1].encode() + b"\n")
        else:
            raise AssertionError(f"oasis-admin did not finish in {timeout} s: {shown!r}")
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


def wait_for_echo_off(fd, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline and termios.tcgetattr(fd)[3] & termios.ECHO:
        time.sleep(0.01)


def admin_env(server):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OASIS_")}
    env.update(OASIS_STORE="sqlite", OASIS_SQLITE_PATH=str(server.state / "oasis.db"))
    return env


def login(server, username, password):
    creds = server.creds()
    return server.form(
        "/token",
        {"grant_type": "password", "client_id": creds["OASIS_DEMO_CLIENT"], "username": username, "password": password},
    )


def test_a_password_typed_at_the_prompt_is_not_echoed_and_the_user_can_log_in(server):
    code, shown = run_at_terminal(
        ["user", "create", "ttyuser", "--scopes", "data:read,search"],
        admin_env(server),
        [("Password:", PASSWORD), ("Again:", PASSWORD)],
    )
    assert code == 0, shown
    assert "Password:" in shown and "Again:" in shown and "created user ttyuser" in shown
    # A terminal echoes what is typed unless the prompt turns echo off.
    assert PASSWORD not in shown, shown
    r = login(server, "ttyuser", PASSWORD)
    assert r.status == 200, r.body


def test_two_different_passwords_at_the_prompt_create_nobody(server):
    code, shown = run_at_terminal(
        ["user", "create", "ttytypo"], admin_env(server), [("Password:", PASSWORD), ("Again:", PASSWORD + "x")]
    )
    assert code == 2, shown
    assert "passwords differ" in shown
    assert PASSWORD not in shown
    r = login(server, "ttytypo", PASSWORD)
    assert (r.status, r.json()["error"]) == (400, "invalid_grant"), r.body
