"""The refresh grace window's end, over HTTP: a local run of its own with a 2-second window
(`OASIS_REFRESH_GRACE_SECONDS`), so a test can wait it out. Inside the window a retry gets the
same successor; after it, the old token is a thief's replay and revokes the family."""

import time

import pytest

from conftest import start_local_run, stop

WINDOW = 2


@pytest.fixture(scope="module")
def short_window(tmp_path_factory):
    srv, proc = start_local_run(tmp_path_factory.mktemp("oasis-grace"), {"OASIS_REFRESH_GRACE_SECONDS": str(WINDOW)})
    try:
        yield srv
    finally:
        stop(proc)


def login(srv):
    creds = srv.creds()
    r = srv.form("/token", {"grant_type": "password", "client_id": creds["OASIS_DEMO_CLIENT"],
                            "username": creds["OASIS_DEMO_USER"], "password": creds["OASIS_DEMO_PASSWORD"]})
    assert r.status == 200, r.body
    return creds["OASIS_DEMO_CLIENT"], r.json()["refresh_token"]


def test_a_thief_replaying_a_rotated_refresh_token_after_the_window_revokes_the_family(short_window):
    srv = short_window
    client, first = login(srv)
    form = {"grant_type": "refresh_token", "client_id": client}
    rotated = srv.form("/token", {**form, "refresh_token": first})
    assert rotated.status == 200, rotated.body
    retry = srv.form("/token", {**form, "refresh_token": first})
    assert retry.status == 200 and retry.json()["refresh_token"] == rotated.json()["refresh_token"], retry.body
    time.sleep(WINDOW + 1.5)
    replay = srv.form("/token", {**form, "refresh_token": first})
    assert (replay.status, replay.json()["error"]) == (400, "invalid_grant")
    # The rightful client's token died with the family: reuse means two parties hold it.
    after = srv.form("/token", {**form, "refresh_token": rotated.json()["refresh_token"]})
    assert (after.status, after.json()["error"]) == (400, "invalid_grant")
