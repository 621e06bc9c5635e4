"""TLS off this machine: which sslmode qcode connects with, and what it refuses. No server
needed: the decision is a pure function, and connect_url is checked with psycopg's
connect replaced."""

from __future__ import annotations

import pytest

from qcode.errors import StoreError
from qcode.store.postgres import is_local_host, tls_mode, url_target

pytest.importorskip("psycopg")


@pytest.mark.parametrize("host", [None, "", "/tmp/qcode-pg.abc", "/var/run/postgresql",
                                  "@abstract", "localhost", "LOCALHOST", "127.0.0.1",
                                  "127.0.1.1", "::1", "[::1]", "/tmp/a,localhost"])
def test_this_machine_keeps_the_users_sslmode(host):
    assert is_local_host(host)
    for sslmode in (None, "disable", "prefer", "require", "verify-full"):
        assert tls_mode(host, sslmode) == sslmode


@pytest.mark.parametrize("host", ["db.example.org", "10.0.0.7", "2001:db8::1",
                                  "localhost,db.example.org", "localhost.example.org"])
def test_off_this_machine_tls_is_required(host):
    assert not is_local_host(host)
    assert tls_mode(host, None) == "require"
    for strong in ("require", "verify-ca", "verify-full"):
        assert tls_mode(host, strong) == strong
    for weak in ("disable", "allow", "prefer", "PREFER"):
        with pytest.raises(StoreError, match=f"sslmode={weak} .* use sslmode=require, or "
                                             "verify-full") as refused:
            tls_mode(host, weak)
        assert "\n" not in str(refused.value)


def test_the_host_and_sslmode_come_from_the_url_else_the_environment():
    env = {"PGHOST": "/tmp/socket", "PGSSLMODE": "prefer"}
    assert url_target("postgresql:///study", env) == ("/tmp/socket", "prefer")
    assert url_target("postgresql://db.example.org/study", env) == ("db.example.org", "prefer")
    assert url_target("postgresql://db.example.org/study?sslmode=verify-full", env) == (
        "db.example.org", "verify-full")
    assert url_target("postgresql:///study?host=/run/pg", {}) == ("/run/pg", None)
    assert url_target("postgresql:///study", {}) == (None, None)
    assert url_target("postgresql://%2Frun%2Fpg/study", {}) == ("/run/pg", None)
    # hostaddr is where libpq connects: a socket named as host does not make it local
    assert url_target("postgresql:///study?hostaddr=10.0.0.7", {"PGHOST": "/tmp/s"}) == (
        "/tmp/s,10.0.0.7", None)
    assert not is_local_host("/tmp/s,10.0.0.7")


class _Connected(Exception):
    pass


@pytest.fixture
def attempts(monkeypatch):
    """The keyword arguments connect_url hands psycopg.connect (which then stops)."""
    import psycopg

    seen: list[dict] = []

    def connect(url, **kwargs):
        seen.append(kwargs)
        raise _Connected

    monkeypatch.setattr(psycopg, "connect", connect)
    for name in ("PGHOST", "PGHOSTADDR", "PGSSLMODE", "PGSERVICE"):
        monkeypatch.delenv(name, raising=False)
    return seen


def test_connect_url_requires_tls_to_a_remote_server(attempts, monkeypatch):
    from qcode.store.postgres import connect_url

    with pytest.raises(_Connected):
        connect_url("postgresql://db.example.org/study")
    assert attempts[-1]["sslmode"] == "require"
    with pytest.raises(_Connected):
        connect_url("postgresql://db.example.org/study?sslmode=verify-full")
    assert attempts[-1]["sslmode"] == "verify-full"
    with pytest.raises(_Connected):  # a socket: the user's settings, untouched
        connect_url("postgresql:///study?host=/run/pg")
    assert "sslmode" not in attempts[-1]
    count = len(attempts)
    with pytest.raises(StoreError, match="sslmode=disable would let"):
        connect_url("postgresql://db.example.org/study?sslmode=disable")
    monkeypatch.setenv("PGSSLMODE", "prefer")
    with pytest.raises(StoreError, match="sslmode=prefer would let"):
        connect_url("postgresql://db.example.org/study")
    monkeypatch.setenv("PGHOST", "db.example.org")
    with pytest.raises(StoreError, match="sslmode=prefer would let"):
        connect_url("postgresql:///study")
    assert len(attempts) == count  # refused before any connection was tried
