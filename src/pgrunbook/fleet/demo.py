"""`inv demo --fleet`: a small fleet on the sandbox cluster, end to end.

Five tenant databases (`fleetdemo_t1` … `fleetdemo_t5`, the legacy state at scale 1) on the
sandbox's PostgreSQL, discovered by pattern; the policy: a canary, then waves of half the rest
(two waves of two), two runs at once. Drift is injected into one tenant of wave 1 right after
its migration (as `inv demo --break` does): its run rolls back by itself, the wave goes on
(`on_failure: continue`), and the recap shows it. Everything lives in `.sandbox/fleet-demo/`.
"""

from __future__ import annotations

import shutil

import yaml

from .. import sandbox
from ..events import Emit, Event, discard
from .inventory import Target, load_fleet
from .rollout import FleetOptions, FleetResult, migrate_prod

TENANTS = tuple(f"fleetdemo_t{i}" for i in range(1, 6))
BROKEN = "fleetdemo_t3"


def run_fleet_demo(emit: Emit = discard) -> FleetResult:
    import psycopg
    from psycopg import sql

    root = sandbox.SANDBOX_ROOT / "fleet-demo"
    shutil.rmtree(root, ignore_errors=True)  # the previous fleet demo's folder (backups, journals): ours, under .sandbox
    root.mkdir(parents=True)
    c = sandbox.up()
    emit(Event("demo", "step", f"sandbox: {len(TENANTS)} tenant databases in the legacy state on 127.0.0.1:{c.port}"))
    sandbox.build_app_database(c, TENANTS[0], "legacy", drizzle_dir=sandbox.fresh_app_copy(root / "template-app"))
    with psycopg.connect(c.url("postgres"), autocommit=True) as admin:
        # the sandbox's own cluster only: earlier fleet demos' tenants and the databases their rollbacks kept
        leftovers = [r[0] for r in admin.execute("SELECT datname FROM pg_database WHERE datname LIKE 'fleetdemo\\_%%' AND datname <> %s",
                                                 [TENANTS[0]])]
        for name in leftovers:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        for name in TENANTS[1:]:
            admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(TENANTS[0])))
    base = root / "base.yml"
    base.write_text("# written by `inv demo --fleet`: what every tenant's inventory starts from\n" + yaml.safe_dump({
        "name": "tenant", "sandbox": True,
        "database": {"url": f"postgresql://postgres@127.0.0.1:{c.port}/postgres", "passfile": str(c.passfile)},
        "migrations": {"dir": str(sandbox.fresh_app_copy(root / "app"))},
        "backup": {"dir": str(root / "unused"), "min_copies": 0}}, sort_keys=False))
    path = root / "fleet.yml"
    path.write_text("# written by `inv demo --fleet`: the tenants of the sandbox, in waves\n" + yaml.safe_dump({
        "name": "fleet-demo", "base": str(base), "dir": str(root / "fleet"),
        "instances": {"sandbox": {"url": f"postgresql://postgres@127.0.0.1:{c.port}/postgres", "passfile": str(c.passfile),
                                  "max_parallel": 2, "discover": "fleetdemo_t?"}},
        "policy": {"canary": 1, "waves": ["50%"], "max_parallel": 2, "max_failures": 2, "on_failure": "continue"}}, sort_keys=False))
    emit(Event("demo", "step", f"fleet inventory {path}: canary, then waves of half the rest; drift injected into {BROKEN}"))
    fleet = load_fleet(path)
    return migrate_prod(fleet, emit, FleetOptions(yes=True, after_migrate=_drift_into(BROKEN)))


def _drift_into(database: str):
    def hook(target: Target):
        if target.database != database:
            return None

        def inject(run) -> None:  # noqa: ANN001
            from ..pg import connect

            with connect(target.config.inventory.database) as conn:
                conn.execute("INSERT INTO users (email, password, first_name, last_name, role) "
                             "SELECT 'intruder@htf-sunup.test', password, 'Drift', 'Injected', role FROM users WHERE role = 'fbo' LIMIT 1")
                conn.commit()
        return inject

    return hook
