"""The sandbox's drizzle 1.0 variant (issue 13 item 5) against the real drizzle-kit up and drizzle 1.0 migrator.

- the committed `fixture/drizzle-1.0/` is byte for byte what `kit.v1_copy` makes of `fixture/drizzle/`
  with drizzle-kit 1.0.0-rc.5 today (so its README's "how it was made" stays true);
- `tracked` with drizzle 1.0 writes the ledger drizzle 1.0's own migrator writes for 0000-0010
  (same columns, same rows: hash, created_at, name), and drizzle 1.0 then applies exactly 0011;
- `legacy` with drizzle 1.0 has no drizzle schema and the app's folder is the 1.0 one.
"""

from __future__ import annotations

import shutil

import pytest

from pgrunbook.drizzle import load_migrations, reconcile
from pgrunbook.drizzle.recorder import Recorder
from pgrunbook.sandbox import FIXTURE_DRIZZLE, FIXTURE_DRIZZLE_V1, build_app_database, fresh_app_copy
from tests.interop.kit import v1_copy
from tests.interop.test_drizzle_interop import _drizzle_installed, connect, drizzle, empty_db, ledger  # noqa: F401

pytestmark = pytest.mark.integration
INDEXES_V1 = "20250916180725_add_performance_indexes"


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "README.md"}


def test_committed_1_0_fixture_is_what_drizzle_kit_up_makes(tmp_path):
    fresh = v1_copy(FIXTURE_DRIZZLE, tmp_path / "drizzle")
    assert _files(FIXTURE_DRIZZLE_V1) == _files(fresh)
    assert "1.0.0-rc.5" in (FIXTURE_DRIZZLE_V1 / "README.md").read_text()
    local = load_migrations(FIXTURE_DRIZZLE_V1)
    assert local.format == "1.0" and len(local.entries) == 12 and local.entries[-1].tag == INDEXES_V1
    # the SQL is the 0.45 folder's, so the hashes are too
    assert [m.hash for m in local.entries] == [m.hash for m in load_migrations(FIXTURE_DRIZZLE).entries]


def _column_shape(conn):
    return conn.execute("SELECT column_name, data_type, column_default FROM information_schema.columns "
                        "WHERE table_schema = 'drizzle' AND table_name = '__drizzle_migrations' ORDER BY ordinal_position").fetchall()


def test_tracked_1_0_ledger_is_drizzle_1s_own_and_only_0011_is_pending(pg_cluster, empty_db, tmp_path):  # noqa: F811
    ours_url = empty_db()
    ours = ours_url.rsplit("/", 1)[1].split("?")[0]
    app = fresh_app_copy(tmp_path / "app", FIXTURE_DRIZZLE_V1)
    build_app_database(pg_cluster, ours, "tracked", drizzle_dir=app)
    partial = tmp_path / "partial"
    partial.mkdir()
    for folder in sorted(p for p in FIXTURE_DRIZZLE_V1.iterdir() if p.is_dir())[:11]:
        shutil.copytree(folder, partial / folder.name)
    theirs = empty_db()
    drizzle("migrate1", partial, theirs)
    with connect(theirs) as conn:
        their_ledger, their_columns = ledger(conn), _column_shape(conn)
    with connect(ours_url) as conn:
        assert ledger(conn) == their_ledger and len(their_ledger) == 11 and all(name for _, _, name in their_ledger)
        assert _column_shape(conn) == their_columns
        state = reconcile(load_migrations(app), Recorder(conn).rows())
        assert state.drizzle == "1.0" and state.pending == (INDEXES_V1,) and state.stranded == ()
        drizzle("migrate1", app, ours_url)  # drizzle 1.0 itself: runs 0011 and nothing else
        after = ledger(conn)
        assert after[:11] == their_ledger and [name for _, _, name in after[11:]] == [INDEXES_V1]


def test_legacy_1_0_has_no_ledger_and_a_1_0_folder(pg_cluster, empty_db, tmp_path):  # noqa: F811
    url = empty_db()
    app = fresh_app_copy(tmp_path / "app", FIXTURE_DRIZZLE_V1)
    build_app_database(pg_cluster, url.rsplit("/", 1)[1].split("?")[0], "legacy", drizzle_dir=app)
    assert not (app / "README.md").exists() and load_migrations(app).format == "1.0"
    with connect(url) as conn:
        assert conn.execute("SELECT to_regnamespace('drizzle')").fetchone()[0] is None
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 68
