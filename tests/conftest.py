"""Shared fixtures: one real embedded PostgreSQL 18 cluster per test session, on 127.0.0.1.

Each test gets its own database, cloned in ~0.1 s from a per-state template database
(`legacy` or `tracked`) built once. The cluster's password is `TEST_PASSWORD`: tests grep
every artefact for it, so it must never appear in output, logs, journals or reports.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml

from pgrunbook.sandbox import build_app_database, fresh_app_copy
from pgrunbook.sandbox.cluster import Cluster, free_port

TEST_PASSWORD = "pgrb-Test-Secret-7c1f9e"
_counter = itertools.count()


def running_cluster(prefix: str):  # noqa: ANN201 - a generator for session fixtures
    """An embedded cluster for the session, destroyed after it."""
    # Not pytest's tmp_path: the server runs as `embedded_postgres`, which must traverse it.
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o755)
    cluster = Cluster(root, free_port(), TEST_PASSWORD)
    cluster.ensure_running()
    yield cluster
    cluster.destroy()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster():
    yield from running_cluster("pgrunbook-test-pg-")


@pytest.fixture(scope="session")
def templates(pg_cluster, tmp_path_factory):
    """Template databases per sandbox state, built on first use."""
    built: dict[str, str] = {}
    app = tmp_path_factory.mktemp("template-app")

    def get(state: str) -> str:
        if state not in built:
            name = f"tmpl_{state}"
            build_app_database(pg_cluster, name, state, drizzle_dir=fresh_app_copy(app))
            built[state] = name
        return built[state]

    return get


@pytest.fixture
def app_db(pg_cluster, templates, tmp_path):
    """`app_db(state)` -> AppDb: a fresh database in that state and a private drizzle folder."""
    import psycopg
    from psycopg import sql

    created = []

    def make(state: str = "legacy") -> AppDb:
        name = f"app_{state}_{next(_counter)}"
        with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(templates(state))))
        created.append(name)
        drizzle_dir = fresh_app_copy(tmp_path / name)
        return AppDb(pg_cluster, name, drizzle_dir, tmp_path / name)

    yield make
    with psycopg.connect(pg_cluster.url("postgres"), autocommit=True) as admin:
        for name in created:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class AppDb:
    def __init__(self, cluster: Cluster, name: str, drizzle_dir: Path, workdir: Path) -> None:
        self.cluster, self.name, self.drizzle_dir, self.workdir = cluster, name, drizzle_dir, workdir

    @property
    def url(self) -> str:
        return self.cluster.url(self.name)

    def connect(self, **kwargs):
        import psycopg

        return psycopg.connect(self.url, autocommit=True, **kwargs)

    def wait_for_sessions_to_end(self, timeout: float = 120) -> None:
        """Wait until no pgrunbook session (client tools included: they take its application_name)
        is connected to this database or one named after it (restore, kept), then return.

        A killed or interrupted pgrunbook's backends end only when the server notices, later on a
        loaded machine; until then they hold the run's advisory lock and block renames.
        """
        import psycopg

        from .servers import wait_for

        def ended() -> bool:
            with psycopg.connect(self.cluster.url("postgres"), autocommit=True) as conn:  # mid-swap, self.name may not exist
                return not conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgrunbook' AND pid <> pg_backend_pid() "
                    "AND left(datname, length(%s)) = %s", [self.name, self.name]).fetchone()[0]

        wait_for(ended, what=f"the sessions of a stopped pgrunbook on {self.name}* to end", timeout=timeout, interval=0.1)

    def inventory(self, **overrides) -> Path:
        """Write an inventory for this database; the password comes from ${PGRB_TEST_PW}."""
        data = {
            "name": f"test-{self.name}",
            "database": {"url": f"postgresql://postgres:${{PGRB_TEST_PW}}@127.0.0.1:{self.cluster.port}/{self.name}"},
            "migrations": {"dir": str(self.drizzle_dir)},
            "backup": {"dir": str(self.workdir / "backups"), "min_copies": 0},
        }
        _merge(data, overrides)
        path = self.workdir / f"inventory-{next(_counter)}.yml"  # each call its own file: earlier ones stay valid
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path


def _merge(base: dict, extra: dict) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


@pytest.fixture(autouse=True)
def _test_password_env(monkeypatch):
    monkeypatch.setenv("PGRB_TEST_PW", TEST_PASSWORD)
