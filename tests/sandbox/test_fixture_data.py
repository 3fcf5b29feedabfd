"""load_data on a real PostgreSQL 18: counts, consistency, sequences, determinism, logins."""

from __future__ import annotations

import bcrypt
import psycopg
import pytest

from pgrunbook.sandbox import apply_fixture_migrations, data
from pgrunbook.sandbox.data import (
    LEGACY_SCHEMA,
    SANDBOX_FBO_LOGIN,
    SANDBOX_LOGIN,
    TABLES,
    expected_rows,
    load_data,
)

from .conftest import loaded_database


def counts(conn: psycopg.Connection) -> dict[str, int]:
    return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in TABLES}


def fingerprint(conn: psycopg.Connection) -> dict[str, str]:
    """md5 of every table's rows in id order: equal fingerprints, equal data."""
    return {t: conn.execute(f'SELECT md5(string_agg(x::text, E\'\\n\' ORDER BY x.id)) FROM "{t}" x').fetchone()[0]
            for t in TABLES}


def orphans(conn: psycopg.Connection) -> dict[str, int]:
    """Rows whose foreign key points nowhere, per FK constraint (all are single-column, to id)."""
    found = {}
    fks = conn.execute("""
        SELECT conname, conrelid::regclass::text, a.attname, confrelid::regclass::text
        FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace""").fetchall()
    assert len(fks) == 19
    for name, child, column, parent in fks:
        found[name] = conn.execute(
            f'SELECT count(*) FROM {child} c WHERE c."{column}" IS NOT NULL '
            f'AND NOT EXISTS (SELECT FROM {parent} p WHERE p.id = c."{column}")').fetchone()[0]
    return found


@pytest.fixture(scope="module")
def loaded(sandbox_cluster):
    """Migrations 0000-0010 + load_data(scale=1) as the superuser, as the sandbox does."""
    return loaded_database(sandbox_cluster, "data_scale1")


def test_scale_1_counts(loaded):
    url, rows = loaded
    assert rows == expected_rows(1)
    with psycopg.connect(url) as conn:
        assert counts(conn) == rows
        assert all(n > 0 for n in rows.values())
        roles = dict(conn.execute("SELECT role::text, count(*) FROM users GROUP BY 1").fetchall())
        assert roles == {"manager": 8, "fbo": 60}
        # every FBO reports to a manager; managers report to nobody
        assert conn.execute("""
            SELECT count(*) FROM users f JOIN users m ON m.id = f.manager_id
            WHERE f.role = 'fbo' AND m.role = 'manager'""").fetchone()[0] == 60
        assert conn.execute("SELECT count(*) FROM users WHERE role = 'manager' AND manager_id IS NOT NULL").fetchone()[0] == 0
        teams = [r[0] for r in conn.execute("SELECT count(*) FROM users WHERE role = 'fbo' GROUP BY manager_id")]
        assert sorted(teams) == [7, 7, 7, 7, 8, 8, 8, 8]
        assert conn.execute("SELECT count(*) FROM campaigns WHERE status = 'active'").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM challenges GROUP BY campaign_id").fetchall() == [(5,), (5,)]


def test_scale_1_is_consistent(loaded):
    """Loaded as superuser the FK triggers were skipped: the data must hold every FK anyway."""
    url, _ = loaded
    with psycopg.connect(url) as conn:
        assert set(orphans(conn).values()) == {0}
        # user_actions point to an action of the challenge they name
        assert conn.execute("""
            SELECT count(*) FROM user_actions ua JOIN actions a ON a.id = ua.action_id
            WHERE a.challenge_id <> ua.challenge_id""").fetchone()[0] == 0
        # every proof targets exactly one thing, and a completed action
        assert conn.execute("""
            SELECT count(*) FROM proofs p LEFT JOIN user_actions ua ON ua.id = p.user_action_id
            WHERE (p.user_action_id IS NULL) = (p.daily_bonus_id IS NULL) OR (ua.id IS NOT NULL AND NOT ua.completed)
            """).fetchone()[0] == 0
        # challenge dates lie within their campaign
        assert conn.execute("""
            SELECT count(*) FROM challenges ch JOIN campaigns c ON c.id = ch.campaign_id
            WHERE ch.date NOT BETWEEN c.start_date AND c.end_date""").fetchone()[0] == 0
        # the foreign keys are enforced again after the load (explicit id: the sequence is left alone)
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute("INSERT INTO user_actions (id, user_id, action_id, challenge_id) VALUES (-1, 999999, 1, 1)")


def test_sequences_follow_the_loaded_ids(loaded):
    url, _ = loaded
    with psycopg.connect(url) as conn:
        for table in TABLES:
            seq = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table]).fetchone()[0]
            last_value, is_called = conn.execute(f"SELECT last_value, is_called FROM {seq}").fetchone()
            max_id = conn.execute(f'SELECT max(id) FROM "{table}"').fetchone()[0]
            assert (last_value, is_called) == (max_id, True), table
        new_id = conn.execute(
            "INSERT INTO users (email, password, first_name, last_name, role) "
            "VALUES ('new@htf-sunup.test', 'x', 'New', 'User', 'fbo') RETURNING id").fetchone()[0]
        assert new_id == 69
        conn.execute("INSERT INTO campaigns (name, start_date, end_date, created_by) VALUES ('x', '2025-11-01', '2025-11-05', 1)")
        conn.rollback()


def test_fixture_logins_match_the_hashes(loaded):
    url, _ = loaded
    with psycopg.connect(url) as conn:
        for email, password in (SANDBOX_LOGIN, SANDBOX_FBO_LOGIN):
            stored, active = conn.execute("SELECT password, is_active FROM users WHERE email = %s", [email]).fetchone()
            assert active and stored.startswith("$2b$10$")
            assert bcrypt.checkpw(password.encode(), stored.encode())
            assert not bcrypt.checkpw(b"wrong", stored.encode())
        assert conn.execute("SELECT id, role::text FROM users WHERE email = %s", [SANDBOX_LOGIN[0]]).fetchone() == (1, "manager")
        assert conn.execute("SELECT count(DISTINCT password) FROM users").fetchone()[0] == 2


def test_scale_3_is_three_times_scale_1_and_deterministic(sandbox_cluster, new_db, loaded, monkeypatch):
    """Scale 3, once inline and once through the child-process producer: same rows, 3x scale 1."""
    prints = []
    for threshold in (1000, 2):  # inline, then child process
        monkeypatch.setattr(data, "PROCESS_THRESHOLD", threshold)
        url = sandbox_cluster.url(new_db("data_scale3"))
        with psycopg.connect(url) as conn:
            apply_fixture_migrations(conn)
            conn.commit()
            rows = load_data(conn, scale=3)
            assert rows == {t: 3 * n for t, n in expected_rows(1).items()}
            assert counts(conn) == rows
            assert dict(conn.execute("SELECT role::text, count(*) FROM users GROUP BY 1").fetchall()) == {"manager": 24, "fbo": 180}
            assert set(orphans(conn).values()) == {0}
            prints.append(fingerprint(conn))
    assert prints[0] == prints[1]
    # The first unit of scale 3 is scale 1, except the users' created_at, spread over the whole set.
    with psycopg.connect(loaded[0]) as conn:
        one = fingerprint(conn)
    with psycopg.connect(url) as conn:
        first_unit = conn.execute(
            "SELECT md5(string_agg(x::text, E'\\n' ORDER BY x.id)) FROM campaign_bonus_config x WHERE id <= 2").fetchone()[0]
    assert first_unit == one["campaign_bonus_config"]


def test_load_as_a_non_superuser_owner_checks_every_foreign_key(sandbox_cluster, new_db, loaded):
    """As the app's own role (no superuser) the FK triggers run for every row: same data, no violation."""
    role, password = "htf_app_fixture", "fixture-role-pw"
    name = new_db("data_owner")
    with psycopg.connect(sandbox_cluster.url("postgres"), autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
            admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        admin.execute(f"ALTER DATABASE {name} OWNER TO {role}")
    with psycopg.connect(sandbox_cluster.url(name)) as admin_db:
        admin_db.execute(f"ALTER SCHEMA public OWNER TO {role}")
    url = f"postgresql://{role}:{password}@127.0.0.1:{sandbox_cluster.port}/{name}"
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0] is False
        conn.execute(LEGACY_SCHEMA.read_text(encoding="utf-8"))
        conn.commit()
        assert load_data(conn) == expected_rows(1)
        owner_print = fingerprint(conn)
    with psycopg.connect(loaded[0]) as conn:
        assert fingerprint(conn) == owner_print


def test_different_seed_different_names_same_shape(sandbox_cluster, new_db, loaded):
    url = sandbox_cluster.url(new_db("data_seed"))
    with psycopg.connect(url) as conn:
        apply_fixture_migrations(conn)
        conn.commit()
        assert load_data(conn, seed=7) == expected_rows(1)
        other = fingerprint(conn)
        stored = conn.execute("SELECT password FROM users WHERE email = %s", [SANDBOX_LOGIN[0]]).fetchone()[0]
        assert bcrypt.checkpw(SANDBOX_LOGIN[1].encode(), stored.encode())
    with psycopg.connect(loaded[0]) as conn:
        assert fingerprint(conn)["users"] != other["users"]


def test_bad_scale():
    with pytest.raises(ValueError):
        load_data(None, scale=0)  # type: ignore[arg-type]
