"""console.EventView (-v / -q / the default), statements shortened, next steps keeping -i/-p.

Under pytest stderr is not a terminal: what a log file or a pipe receives is exactly what is
asserted here (a terminal would also see the details in passing, on one rewritten line)."""

from __future__ import annotations

import pytest

from pgrunbook import console
from pgrunbook.events import DETAIL, PHASE, SUMMARY, Event

EVENTS = [
    Event("migrate", "step", "phase 5/8: migrate", {"level": PHASE}),
    Event("migrate", "step", "0011_x: 3 statements", {"level": DETAIL}),
    Event("migrate", "progress", "0011_x:1 CREATE INDEX … — running", {"level": DETAIL, "done": 0, "total": 3, "running": True,
                                                                         "migration": "0011_x", "statement": "CREATE INDEX …"}),
    Event("migrate", "progress", "0011_x:1 CREATE INDEX i ON t (a) — 1 ms", {"level": DETAIL, "done": 1, "total": 3,
                                                                               "migration": "0011_x", "statement": "CREATE INDEX …"}),
    Event("migrate", "done", "0011_x: 3/3 statements in 0.1s, applied and recorded (row 12)", {"level": SUMMARY}),
    Event("backup", "progress", "pg_dump app", {"task": "dump", "done": 10, "total": None}),
    Event("backup", "step", "target offsite (local) is ready"),
    Event("rollback", "warn", "rolling back: drift"),
]


def _shown(capsys, level, compact) -> list[str]:
    view = console.EventView(level, compact=compact)
    for event in EVENTS:
        view(event)
    view.close()
    return capsys.readouterr().err.splitlines()


def test_default_under_migrate_prod_shows_phases_summaries_and_warnings_only(capsys):
    assert _shown(capsys, console.NORMAL, True) == [
        "phase 5/8: migrate", "migrate: 0011_x: 3/3 statements in 0.1s, applied and recorded (row 12)", "rollback: rolling back: drift"]


def test_default_for_a_task_alone_keeps_its_steps_but_not_each_statement(capsys):
    assert _shown(capsys, console.NORMAL, False) == [
        "phase 5/8: migrate", "migrate: 0011_x: 3/3 statements in 0.1s, applied and recorded (row 12)",
        "backup: target offsite (local) is ready", "rollback: rolling back: drift"]


def test_verbose_shows_every_statement_once_and_quiet_nothing(capsys):
    verbose = _shown(capsys, console.VERBOSE, True)
    assert "migrate: 0011_x:1 CREATE INDEX i ON t (a) — 1 ms" in verbose and not [line for line in verbose if "running" in line]
    assert len(verbose) == len(EVENTS) - 1
    assert _shown(capsys, console.QUIET, True) == []


def test_verbose_and_quiet_together_is_a_usage_error():
    from pgrunbook.errors import UsageError

    with pytest.raises(UsageError):
        console.verbosity(True, True)


@pytest.mark.parametrize(("sql", "short"), [
    ('CREATE INDEX IF NOT EXISTS "idx_campaigns_status_dates" ON "campaigns" ("status", "start_date", "end_date");',
     "CREATE INDEX idx_campaigns_status_dates ON campaigns"),
    ("CREATE UNIQUE INDEX CONCURRENTLY i ON ONLY public.t USING btree (a)", "CREATE UNIQUE INDEX CONCURRENTLY i ON public.t"),
    ('ANALYZE "users"', "ANALYZE users"),
    ('ALTER TABLE "users" ADD COLUMN "last_login_at" timestamp with time zone DEFAULT now() NOT NULL',
     "ALTER TABLE users ADD COLUMN last_login_at timestamp with…"),
])
def test_statements_are_shortened_sensibly(sql, short):
    assert console.shorten_sql(sql) == short
    assert len(console.shorten_sql(sql)) <= 60


def test_next_steps_keep_the_users_inventory_and_playbook():
    flags = " -i inventory/prod.yml -p 'my play.yml'"
    text = "fix, then `inv migrate-prod --resume R1`; `inv sandbox.up`; `inv verify -i other.yml`; `inv demo`"
    assert console.with_flags(text, flags) == ("fix, then `inv migrate-prod -i inventory/prod.yml -p 'my play.yml' --resume R1`; "
                                               "`inv sandbox.up`; `inv verify -p 'my play.yml' -i other.yml`; `inv demo`")
    assert console.with_flags(text, "") == text


def test_a_recap_prints_whole_lines_when_piped(capsys):
    from pgrunbook.recap import PhaseLine, Recap

    long_figure = "x" * 150
    recap = Recap("R1", "postgres@db:5432/app", "migrate-prod", "ok", "", 3.0,
                  (PhaseLine("verify", "ok", 0.2, long_figure), PhaseLine("post-backup", "not run", None, "")),
                  next_step="run `inv report -r R1 -i inventory/production.yml --lang fr` and sign it",
                  reports={"en": "/r/report.en.md", "fr": "/r/report.fr.md"})
    console.show_recap(recap, label="migrate-prod", extra=("  inv runs",))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "RECAP run R1 · postgres@db:5432/app"
    assert lines[1].startswith("  verify       ok        0.2s  x") and lines[1].endswith(long_figure)  # columns fit the longest
    assert lines[2] == "  post-backup  not run"
    assert lines[3:] == ["migrate-prod: ok in 3.0s (run R1)",
                         "next: run `inv report -r R1 -i inventory/production.yml --lang fr` and sign it",
                         "report: /r/report.en.md (fr: report.fr.md)", "  inv runs"]


def test_the_status_line_a_terminal_sees_in_passing():
    view = console.EventView(console.NORMAL, compact=True)
    statement = Event("migrate", "progress", "", {"migration": "0011_x", "done": 10, "total": 40, "elapsed": 5.0, "running": True,
                                                  "statement": 'CREATE INDEX IF NOT EXISTS "idx_users_role" ON "users" ("role")'})
    assert view._status_text(statement) == "migrate: 0011_x 10/40 · CREATE INDEX idx_users_role ON users · 5.0s · ETA ~15.0s"
    now = [100.0]
    view._clock = lambda: now[0]
    copy = Event("backup", "progress", "copy to offsite", {"task": "offsite", "done": 0, "total": 8 << 20})
    view._status_text(copy)  # first seen at t=100
    now[0] = 104.0
    halfway = Event("backup", "progress", "copy to offsite", {"task": "offsite", "done": 4 << 20, "total": 8 << 20})
    assert view._status_text(halfway) == "backup: copy to offsite · 4.0 MiB / 8.0 MiB · 1.0 MiB/s · ETA 4.0s"
    tables = Event("rollback", "progress", "restoring db: table data 3/11", {"task": "restore", "unit": "tables", "done": 3,
                                                                             "total": 11})
    view._started["restore"] = 98.0
    assert view._status_text(tables).startswith("rollback: restoring db: table data 3/11 · ETA ")


def test_on_a_narrow_terminal_an_error_keeps_each_line_whole(monkeypatch):
    import io

    from pgrunbook.errors import PgRunbookError

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    monkeypatch.setattr(console, "err", console._Console(file=screen, width=40, highlight=False, color_system=None))
    long = "`inv migrate-prod -i inventory/production.yml --resume 20261125_162112_853ce9` continues it"
    console.show_error(PgRunbookError("a failure", changed="nothing was changed", next_step=long))
    assert screen.getvalue().splitlines() == ["error: a failure", "changed: nothing was changed", f"next: {long}"]
