"""A real embedded PostgreSQL 18 for the sandbox fixture's tests, and fresh databases on it."""

from __future__ import annotations

import itertools
import secrets
import shutil
import tempfile
from pathlib import Path

import pytest

from pgrunbook.sandbox.cluster import Cluster, free_port

_names = itertools.count()


@pytest.fixture(scope="session")
def sandbox_cluster():
    # Not pytest's tmp_path (0700): the server runs as `embedded_postgres`, which must traverse the root.
    root = Path(tempfile.mkdtemp(prefix="pgrunbook-sandbox-fixture-", dir="/tmp"))
    root.chmod(0o755)
    cluster = Cluster(root / "pg", free_port(), secrets.token_urlsafe(18))
    cluster.ensure_running()
    yield cluster
    cluster.destroy()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def new_db(sandbox_cluster):
    """`new_db(prefix)` -> name of a new empty database (dropped after the test)."""
    import psycopg
    from psycopg import sql

    created: list[str] = []

    def make(prefix: str = "t") -> str:
        name = f"{prefix}_{next(_names)}"
        with psycopg.connect(sandbox_cluster.url("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        created.append(name)
        return name

    yield make
    with psycopg.connect(sandbox_cluster.url("postgres"), autocommit=True) as admin:
        for name in created:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
