"""A small fleet on two embedded PostgreSQL 18 clusters (two instances): tenant databases cloned
from the legacy template, a base inventory and a fleet inventory written per test."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import psycopg
import pytest
import yaml
from psycopg import sql

from pgrunbook.sandbox import build_app_database, fresh_app_copy
from pgrunbook.sandbox.cluster import Cluster

from ..conftest import running_cluster

_counter = itertools.count()


@pytest.fixture(scope="session")
def second_cluster():
    yield from running_cluster("pgrunbook-test-pg2-")


@pytest.fixture(scope="session")
def second_template(second_cluster, tmp_path_factory):
    build_app_database(second_cluster, "tmpl_legacy", "legacy", drizzle_dir=fresh_app_copy(tmp_path_factory.mktemp("tmpl2")))
    return "tmpl_legacy"


class FleetEnv:
    """Tenants `<prefix>_<i>` on instance `a` (listed) and `b` (discovered by pattern)."""

    def __init__(self, clusters: dict[str, Cluster], tenants: dict[str, list[str]], workdir: Path, prefix: str) -> None:
        self.clusters, self.tenants, self.workdir, self.prefix = clusters, tenants, workdir, prefix
        self.drizzle_dir = fresh_app_copy(workdir / "app")
        self.base = workdir / "base.yml"
        self.base.write_text(yaml.safe_dump({
            "name": "tenant", "sandbox": True,
            "database": {"url": "postgresql://postgres@127.0.0.1:1/placeholder"},
            "migrations": {"dir": str(self.drizzle_dir)},
            "backup": {"dir": str(workdir / "unused"), "min_copies": 0},
        }, sort_keys=False))

    @property
    def names(self) -> list[str]:
        return [f"{i}/{db}" for i, dbs in self.tenants.items() for db in dbs]

    def write(self, policy: dict | None = None, limits: dict | None = None, overrides: dict | None = None) -> Path:
        limits = limits or {}
        data = {
            "name": "testfleet", "base": str(self.base), "dir": str(self.workdir / "fleet"),
            "instances": {
                "a": {"url": self.url("a"), "max_parallel": limits.get("a", 1), "databases": self.tenants["a"]},
                "b": {"url": self.url("b"), "max_parallel": limits.get("b", 1), "discover": f"{self.prefix}_b*",
                      "exclude": ["*_before_rollback_*", "*_restore_*"]},
            },
            "policy": {"canary": 1, "waves": ["100%"], "max_parallel": 2, **(policy or {})},
        }
        for instance in data["instances"].values():
            instance["overrides"] = overrides or {}
        path = self.workdir / f"fleet-{next(_counter)}.yml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def url(self, instance: str) -> str:
        return f"postgresql://postgres:${{PGRB_TEST_PW}}@127.0.0.1:{self.clusters[instance].port}/postgres"

    def connect(self, target: str):
        instance, _, db = target.partition("/")
        return psycopg.connect(self.clusters[instance].url(db), autocommit=True)

    def indexes(self, target: str) -> int:
        with self.connect(target) as conn:
            return conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'idx\\_%'").fetchone()[0]

    def users(self, target: str) -> int:
        with self.connect(target) as conn:
            return conn.execute("SELECT count(*) FROM users").fetchone()[0]

    def drift(self, *targets: str):
        """`after_migrate` for FleetOptions: one user written behind the migration's back on these targets."""
        def hook(target):
            if target.name not in targets:
                return None

            def inject(run):
                with self.connect(target.name) as conn:
                    conn.execute("INSERT INTO users (email, password, first_name, last_name, role) "
                                 "SELECT 'drift@x.test', password, 'D', 'R', 'fbo' FROM users WHERE id = 1")
            return inject
        return hook


@pytest.fixture
def fleet_env(pg_cluster, templates, second_cluster, second_template, tmp_path):
    created: list[tuple[Cluster, str]] = []
    prefix = f"tenant{next(_counter)}x{int(time.time() * 1000) % 100000}"

    def make(per_instance: int = 3) -> FleetEnv:
        tenants: dict[str, list[str]] = {"a": [], "b": []}
        for instance, cluster, template in (("a", pg_cluster, templates("legacy")), ("b", second_cluster, second_template)):
            with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
                for i in range(per_instance):
                    name = f"{prefix}_{instance}{i}"
                    admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
                    tenants[instance].append(name)
            created.append((cluster, prefix))
        return FleetEnv({"a": pg_cluster, "b": second_cluster}, tenants, tmp_path, prefix)

    yield make
    for cluster, pfx in set(created):
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
            names = [r[0] for r in admin.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [pfx + "%"])]
            for name in names:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class SessionSampler:
    """Counts, every few ms, the tenants of each cluster that have a pgrunbook session (client tools included)."""

    def __init__(self, env: FleetEnv) -> None:
        self.env, self.peak = env, {"a": 0, "b": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> SessionSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        conns = {i: psycopg.connect(c.url("postgres"), autocommit=True) for i, c in self.env.clusters.items()}
        try:
            while not self._stop.is_set():
                for instance, conn in conns.items():
                    rows = conn.execute("SELECT DISTINCT datname FROM pg_stat_activity WHERE application_name = 'pgrunbook' "
                                        "AND datname LIKE %s", [self.env.prefix + "%"]).fetchall()
                    tenants = {t for (name,) in rows for t in self.env.tenants[instance] if name.startswith(t)}
                    self.peak[instance] = max(self.peak[instance], len(tenants))
                time.sleep(0.005)
        finally:
            for conn in conns.values():
                conn.close()
