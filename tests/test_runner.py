"""`inv migrate-prod`: the phases chained, journaled, resumable; refused twice at once; drift rolls back."""

from __future__ import annotations

import json

import pytest

from pgrunbook.config import load_config
from pgrunbook.errors import CheckFailed
from pgrunbook.runner import ProdOptions, migrate_prod

from .conftest import TEST_PASSWORD
from .phases import write_playbook

pytestmark = pytest.mark.integration


def idx_count(db) -> int:
    with db.connect() as conn:
        return conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'idx\\_%'").fetchone()[0]


def test_end_to_end_on_the_legacy_database(app_db):
    db = app_db("legacy")
    result = migrate_prod(load_config(db.inventory()), options=ProdOptions(yes=True))
    assert result.outcome == "ok" and idx_count(db) == 43
    phases = [(r.phase, r.event, r.status) for r in result.run.read().records]
    for phase in ("verify", "backup", "analyze", "migrate", "validate", "post-backup"):
        assert (phase, "end", "ok") in phases, phase
    assert ("gate", "decision", "go") in phases and ("run", "end", "ok") in phases
    assert {"en", "fr", "json"} <= set(result.report_paths)
    for path in (result.run.journal, *map(type(result.run.journal), result.report_paths.values())):
        assert TEST_PASSWORD not in path.read_text()


def test_report_has_every_section_of_the_seed_with_values(app_db):
    db = app_db("legacy")
    result = migrate_prod(load_config(db.inventory(environment="Production")), options=ProdOptions(yes=True))
    fr = open(result.report_paths["fr"]).read()
    for section in ("# Rapport de Migration Performance - Production", "| Date |", "| Exécuté par |", "| Durée totale |",
                    "## État Avant Migration", "## Backup", "## Migrations Appliquées", "## État Après Migration",
                    "## Tests de Validation", "## Problèmes Rencontrés", "## Décision Finale", "## Signatures"):
        assert section in fr, section
    assert "Utilisateurs managers : **8**" in fr and "Utilisateurs FBOs : **60**" in fr and "Total utilisateurs : **68**" in fr
    assert "- [x] 0011_add_performance_indexes.sql" in fr and "Indexes créés : **43**" in fr
    assert "- [x] ✅ Migration réussie" in fr and "**\\_**" not in fr and "___" not in fr
    en = open(result.report_paths["en"]).read()
    assert "## State Before Migration" in en and "- [x] ✅ Migration succeeded" in en
    data = json.loads(open(result.report_paths["json"]).read())
    assert data["before"]["by_role"] == {"fbo": 60, "manager": 8} and data["after"]["total"] == 68


def test_a_crash_is_never_closed_ok(app_db):
    """An unexpected exception (a bug) mid-run: the run is failed in its journal, report and `inv runs`, never "ok"."""
    db = app_db("legacy")

    def crash(run):
        raise TypeError("a bug")

    with pytest.raises(TypeError):
        migrate_prod(load_config(db.inventory()), options=ProdOptions(yes=True, after_migrate=crash))
    journal = next((db.workdir / "backups" / "runs").iterdir()) / "journal.jsonl"
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert ("run", "end", "ok") not in [(r["phase"], r["event"], r["status"]) for r in records]
    assert records[-1]["event"] == "error" and records[-1]["status"] == "failed" and "TypeError: a bug" in records[-1]["data"]["error"]


def test_a_no_go_stops_before_any_change(app_db):
    db = app_db("tracked")
    path = db.drizzle_dir / "0011_add_performance_indexes.sql"
    path.write_text(path.read_text() + "\n--> statement-breakpoint\nDROP TABLE proofs;\n")
    with pytest.raises(CheckFailed, match="analysis refused"):
        migrate_prod(load_config(db.inventory()), options=ProdOptions(yes=True))
    assert idx_count(db) == 0


def test_second_run_is_refused_while_the_first_holds_the_lock(app_db):
    from pgrunbook.executor import LOCK_KEY_SQL, LOCK_NAMESPACE

    db = app_db("tracked")
    with db.connect() as first:
        first.execute(f"SELECT pg_advisory_lock({LOCK_KEY_SQL})", [LOCK_NAMESPACE])
        with pytest.raises(CheckFailed, match="no-other-run"):
            migrate_prod(load_config(db.inventory()), options=ProdOptions(yes=True))
    assert idx_count(db) == 0


def test_resume_skips_what_is_done(app_db):
    db = app_db("tracked")
    cfg = load_config(db.inventory())
    path = db.drizzle_dir / "0011_add_performance_indexes.sql"
    good = path.read_text()
    path.write_text(good + "\n--> statement-breakpoint\nCREATE INDEX IF NOT EXISTS broken_nope_index ON users (nope);\n")
    playbook = write_playbook(db.workdir / "pb.yml", rollback={"on_failure": "never"})
    cfg = load_config(db.inventory(), playbook)
    with pytest.raises(Exception):
        migrate_prod(cfg, options=ProdOptions(yes=True))
    run = sorted((db.workdir / "backups" / "runs").iterdir())[-1].name
    assert idx_count(db) == 0
    path.write_text(good + "\n--> statement-breakpoint\nCREATE INDEX IF NOT EXISTS broken_nope_index ON users (email);\n")
    with pytest.raises(CheckFailed, match="plan changed"):  # an edited migration needs a new GO
        migrate_prod(cfg, options=ProdOptions(yes=True, resume=run))
    path.write_text(good + "\n--> statement-breakpoint\nCREATE INDEX IF NOT EXISTS broken_nope_index ON users (nope);\n")
    with db.connect() as conn:
        conn.execute("ALTER TABLE users ADD COLUMN nope int")  # the operator fixes the database instead
    result = migrate_prod(cfg, options=ProdOptions(yes=True, resume=run))
    assert result.outcome == "ok" and idx_count(db) == 43
    starts = [r for r in result.run.read().records if r.phase == "verify" and r.event == "start"]
    assert len(starts) == 1  # verify ran once, in the first attempt


def _state(db):
    with db.connect() as conn:
        return {
            "indexes": sorted(r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")),
            "tracking": conn.execute("SELECT to_regclass('drizzle.__drizzle_migrations') IS NOT NULL AND "
                                     "(SELECT count(*) FROM drizzle.__drizzle_migrations) > 0").fetchone()[0]
            if conn.execute("SELECT to_regclass('drizzle.__drizzle_migrations')").fetchone()[0] else False,
            "users": conn.execute("SELECT count(*), md5(string_agg(md5(u::text), '' ORDER BY id)) FROM users u").fetchone(),
        }


def test_drift_after_migrate_rolls_back_automatically(app_db):
    from pgrunbook.errors import RolledBack

    db = app_db("legacy")
    before = _state(db)

    def drift(run):
        with db.connect() as conn:
            conn.execute("INSERT INTO users (email, password, first_name, last_name, role) "
                         "SELECT 'drift@x.test', password, 'D', 'R', 'fbo' FROM users WHERE id = 1")

    with pytest.raises(RolledBack) as exc:
        migrate_prod(load_config(db.inventory()), options=ProdOptions(yes=True, after_migrate=drift))
    assert "fbo users 60 → 61" in exc.value.what and exc.value.exit_code == 4
    assert _state(db) == before  # the backup is back: no idx_*, no tracking, the 68 users
    with db.cluster and db.connect() as conn:
        kept = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{db.name}_before_rollback_%"]).fetchall()
    assert len(kept) == 1  # the drifted database is kept, renamed, never dropped
    report = sorted((db.workdir / "backups" / "runs").iterdir())[-1] / "report.fr.md"
    assert "- [x] ❌ Rollback effectué - Analyse requise" in report.read_text()


def test_failure_halfway_rolls_back_to_the_pre_state(app_db):
    from pgrunbook.errors import RolledBack

    db = app_db("legacy")
    before = _state(db)
    path = db.drizzle_dir / "0011_add_performance_indexes.sql"
    path.write_text(path.read_text() + "\n--> statement-breakpoint\nCREATE INDEX IF NOT EXISTS later_index ON users (no_such_column);\n")
    with pytest.raises(RolledBack) as exc:
        migrate_prod(load_config(db.inventory()), options=ProdOptions(yes=True))
    assert "failed halfway" in exc.value.what
    assert _state(db) == before  # the baseline rows this run wrote are removed, no index is left
    # the rollback left drizzle's table empty: the next run plans the baseline again (scenario B)
    path.write_text(path.read_text().replace("(no_such_column)", "(email)"))
    again = migrate_prod(load_config(db.inventory()), options=ProdOptions(yes=True))
    assert again.outcome == "ok" and len(_state(db)["indexes"]) == len(before["indexes"]) + 44


def test_report_of_phases_run_one_by_one(app_db):
    from pgrunbook import commands
    from pgrunbook.report import render_markdown, report_data

    from .phases import gone_through_gate

    db = app_db("legacy")
    cfg, run = gone_through_gate(db.inventory())
    commands.migrate(cfg, yes=True)
    commands.validate(cfg)
    data = report_data(run, cfg)
    assert data["backup"]["id"] and data["before"]["tracking_rows"] == 0 and data["before"]["indexes_total"] > 0
    fr = render_markdown(data, "fr")
    assert "Fichier : aucun backup" not in fr and "Migrations Drizzle : **0**" in fr and "Migrations Drizzle : **12**" in fr


def _every_table(db) -> dict[str, int]:
    from pgrunbook.backup.snapshot import count_rows
    from pgrunbook.config import RoleCount

    with db.connect() as conn:
        return count_rows(conn, RoleCount())["tables"]


def test_rows_lost_in_an_unprotected_table_roll_back(app_db):
    """A migration empties daily_bonus; the playbook's policy allows `delete` on purpose, so the static
    analysis lets it through and only the every-table count catches it: rollback, exit 4, no row lost."""
    from pgrunbook.errors import RolledBack

    db = app_db("tracked")
    before = _every_table(db)
    assert before["public.daily_bonus"] > 0
    path = db.drizzle_dir / "0011_add_performance_indexes.sql"
    path.write_text(path.read_text() + "\n--> statement-breakpoint\nDELETE FROM daily_bonus;\n")
    playbook = write_playbook(db.workdir / "pb.yml", policy={"allow": ["delete"]})
    with pytest.raises(RolledBack) as exc:
        migrate_prod(load_config(db.inventory(), playbook), options=ProdOptions(yes=True))
    assert exc.value.exit_code == 4
    assert f"public.daily_bonus {before['public.daily_bonus']} → 0" in exc.value.what
    assert _every_table(db) == before and idx_count(db) == 0
    report = (sorted((db.workdir / "backups" / "runs").iterdir())[-1] / "report.en.md").read_text()
    assert f"| `public.daily_bonus` | {before['public.daily_bonus']} | 0 | ❌ rows lost |" in report
    assert "| `public.proofs` |" in report  # its rows went with daily_bonus's (ON DELETE CASCADE)
    assert "- [x] ❌ Rollback performed" in report


def test_a_waiver_covers_only_the_tables_it_names(app_db):
    """daily_bonus is listed, but its rows cascade into proofs (ON DELETE CASCADE): still caught."""
    from pgrunbook.errors import RolledBack

    db = app_db("tracked")
    before = _every_table(db)
    path = db.drizzle_dir / "0011_add_performance_indexes.sql"
    path.write_text(path.read_text() + "\n--> statement-breakpoint\nDELETE FROM daily_bonus;\n")
    listed = write_playbook(db.workdir / "pb.yml", policy={"allow": ["delete"]}, validate={"allow_row_loss": ["public.daily_bonus"]})
    with pytest.raises(RolledBack) as exc:
        migrate_prod(load_config(db.inventory(), listed), options=ProdOptions(yes=True))
    assert "rows lost in 1 table(s): public.proofs" in exc.value.what and "daily_bonus" not in exc.value.what
    assert _every_table(db) == before
    both = write_playbook(db.workdir / "pb2.yml", policy={"allow": ["delete"]},
                          validate={"allow_row_loss": ["public.daily_bonus", "public.proofs"]})
    result = migrate_prod(load_config(db.inventory(), both), options=ProdOptions(yes=True))
    assert result.outcome == "ok" and _every_table(db)["public.daily_bonus"] == 0


def test_the_in_place_strategy_rolls_back_in_place(app_db):
    """rollback.strategy: in-place (a role without CREATEDB): migrate-prod's automatic rollback restores in place."""
    from pgrunbook.errors import RolledBack

    db = app_db("legacy")
    before = _state(db)
    playbook = write_playbook(db.workdir / "in-place.yml", rollback={"strategy": "in-place"})

    def drift(run):
        with db.connect() as conn:
            conn.execute("DELETE FROM daily_bonus WHERE id IN (SELECT id FROM daily_bonus LIMIT 2)")

    with pytest.raises(RolledBack):
        migrate_prod(load_config(db.inventory(), playbook), options=ProdOptions(yes=True, after_migrate=drift))
    assert _state(db) == before
    with db.connect() as conn:  # in place: no renamed copy (the safety dump holds the replaced state)
        assert conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{db.name}_before_rollback_%"]).fetchall() == []
