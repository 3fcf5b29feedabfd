"""A real embedded PostgreSQL 18 for the sandbox fixture's tests, and fresh databases on it."""

from __future__ import annotations

import itertools

import pytest

from tests.servers import spawned  # noqa: F401 - fixture

_names = itertools.count()


@pytest.fixture(scope="session")
def sandbox_cluster(pg_cluster):
    """The session's one embedded cluster (tests/conftest.py)."""
    return pg_cluster


def loaded_database(cluster, name: str) -> tuple[str, dict[str, int]]:
    """(Re)create `name` with migrations 0000-0010 run and load_data(scale=1), as the superuser."""
    import psycopg
    from psycopg import sql

    from pgrunbook.sandbox import apply_fixture_migrations
    from pgrunbook.sandbox.data import load_data

    with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = cluster.url(name)
    with psycopg.connect(url) as conn:
        apply_fixture_migrations(conn)
        conn.commit()
        rows = load_data(conn)
    return url, rows


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
