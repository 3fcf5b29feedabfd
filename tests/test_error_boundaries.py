"""The translation boundaries (`pg.map_errors`, `ssh.map_errors`, `pg.error_message`), the
`changed` defaults of the error classes, and output that never hard-wraps when piped."""

from __future__ import annotations

import io

import paramiko
import psycopg
import pytest
from invoke.exceptions import CommandTimedOut

from pgrunbook import pg, ssh
from pgrunbook.conninfo import DatabaseUrl
from pgrunbook.errors import (
    NOTHING_CHANGED,
    CheckFailed,
    ConnectionFailure,
    ControllerError,
    LockHeld,
    MigrationFailed,
    RolledBack,
    RuntimeFailure,
    TargetError,
    UsageError,
)


def server_error(cluster, statement: str) -> psycopg.Error:
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as caught:
            conn.execute(statement)
    return caught.value


@pytest.mark.integration
def test_error_message_is_the_servers_primary_message(pg_cluster):
    exc = server_error(pg_cluster, "SELECT 1 / 0")
    assert pg.error_message(exc) == "division by zero"
    duplicate = server_error(pg_cluster, "CREATE TEMP TABLE t (k int PRIMARY KEY); INSERT INTO t VALUES (1), (1)")
    assert "\n" in str(duplicate) and "\n" not in pg.error_message(duplicate, detail=True)  # DETAIL and others: one line
    assert pg.error_message(duplicate, detail=True).endswith("(Key (k)=(1) already exists.)")


def test_error_message_of_ours_and_of_anything_else():
    assert pg.error_message(RuntimeFailure("the swap failed", changed="x")) == "the swap failed"
    assert pg.error_message(ValueError("  spaced out \n")) == "spaced out"
    assert pg.error_message(EOFError()) == "EOFError"


def test_pg_map_errors_translates_psycopg_errors_only():
    url = DatabaseUrl("postgresql://u:s3cret-pw@db.example:5432/app", environ={})
    with pytest.raises(ConnectionFailure) as caught:
        with pg.map_errors("cannot connect", error=ConnectionFailure, changed=NOTHING_CHANGED, url=url,
                           next_step=lambda message: f"hint for {message.split(':')[0]}"):
            raise psycopg.OperationalError("password s3cret-pw rejected: no")
    assert caught.value.what == "cannot connect: password *** rejected: no"
    assert caught.value.changed == NOTHING_CHANGED and caught.value.next_step == "hint for password s3cret-pw rejected"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no chained driver text
    ours = LockHeld("held")
    with pytest.raises(LockHeld) as passed, pg.map_errors("x", changed="y", next_step="z"):
        raise ours
    assert passed.value is ours


def test_ssh_map_errors_names_the_host_and_what_changed():
    cases = [
        (paramiko.SSHException("Channel closed."), "failed: Channel closed."),
        (EOFError(), "failed: EOFError"),
        (TimeoutError("timed out"), "stopped answering (timed out)"),
        (CommandTimedOut(None, timeout=7), "timed out on u@h:22 after 7s"),
    ]
    for raised, said in cases:
        with pytest.raises(ControllerError) as caught:
            with ssh.map_errors("running `x`", "u@h:22", error=ControllerError, changed="unknown: `x` may have run"):
                raise raised
        assert caught.value.what.startswith("running `x`: ") and said in caught.value.what, caught.value.what
        assert caught.value.changed == "unknown: `x` may have run"
    with pytest.raises(TargetError) as redacted:
        with ssh.map_errors("copy", "u@h:22", changed=NOTHING_CHANGED, redact=lambda text: text.replace("tok", "***")):
            raise OSError("refused tok")
    assert "tok" not in redacted.value.what


def test_changed_is_required_where_an_error_may_follow_a_change():
    with pytest.raises(TypeError):
        RolledBack("rolled back")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        MigrationFailed("failed", next_step="x")  # type: ignore[call-arg]
    for raised_after_acting in (RuntimeFailure, ConnectionFailure, ControllerError):
        with pytest.raises(TypeError):  # only the raiser knows what it had done: never "nothing was changed" by default
            raised_after_acting("failed")  # type: ignore[call-arg]
    for before_acting in (UsageError("bad option"), CheckFailed("NO-GO"), LockHeld("held")):
        assert before_acting.changed == NOTHING_CHANGED


def test_piped_output_is_never_hard_wrapped(monkeypatch):
    from pgrunbook import console

    monkeypatch.setenv("COLUMNS", "40")
    piped = console._Console(file=io.StringIO(), highlight=False)
    command = "ALTER DATABASE " + "x" * 60 + " RENAME TO " + "y" * 60
    piped.print(f"  1. {command}", markup=False)
    assert piped.file.getvalue() == f"  1. {command}\n"
    assert piped.width == console.PIPED_WIDTH
