"""`inv demo`: the whole runbook on the embedded sandbox, from nothing.

1. the sandbox PostgreSQL 18, reset to the legacy state (the seed's scenario B);
2. the sandbox's HTTP API, under the `command` app controller, or with `--app compose` as the
   `backend` service of a Docker Compose file (`service.sandbox_compose`; needs a running engine);
3. two backup locations (`.sandbox/copies/…`);
4. `migrate-prod` end to end: verify, backup, analyze, gate, migrate (baseline 0000-0010
   with evidence, then the 43 indexes of 0011), validate (API included), post-backup, report.

`--break` writes one extra user through a second connection right after migrate, the drift
the seed's phase 6.2 fears ("Si les nombres diffèrent → ROLLBACK IMMÉDIAT"): validation
sees it and the run rolls back by itself, restoring the backup (the drifted database is
kept, renamed) and restarting the API.

It ends as a tour: the run's recap, then the exact commands to look at what it did
(`look_commands`: `inv runs`, `inv report -r RUN` and its `--html`, `inv verify`), which need no `-i`: the
demo's runs go where the default inventory (`inventory/sandbox.yml`, which follows
PGRUNBOOK_SANDBOX_DIR) looks for them; and what became of the API it started (`api_note`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

from . import sandbox
from .config import Config, load_config
from .errors import UsageError
from .events import SUMMARY, Emit, Event, discard
from .runner import ProdOptions, ProdResult, migrate_prod
from .runs import Run
from .sandbox.data import SANDBOX_LOGIN

DEMO_DIR = sandbox.SANDBOX_ROOT / "demo"


def api_port() -> int:
    return int(os.environ.get("PGRUNBOOK_DEMO_API_PORT", "8787"))


def backup_dir(root: Path) -> Path:
    """Where the demo's backups and runs go: the default inventory's folder, so that `inv runs`,
    `inv report` and `inv rollback` find the demo's runs without `-i`: `backups/` for the default
    sandbox, `<PGRUNBOOK_SANDBOX_DIR>/backups` for an isolated one (inventory/sandbox.yml's
    `backup.dir` follows that variable)."""
    if root.resolve() == (sandbox.PROJECT_ROOT / ".sandbox").resolve():
        return sandbox.PROJECT_ROOT / "backups"
    return root / "backups"


def compose_project(root: Path) -> str:
    """One compose project per sandbox folder: the default sandbox's is `pgrunbook-demo`."""
    import hashlib

    if root.resolve() == (sandbox.PROJECT_ROOT / ".sandbox").resolve():
        return "pgrunbook-demo"
    return "pgrunbook-demo-" + hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:8]


def _app_section(app: str, root: Path, c, dsn: str, port: int) -> dict:  # noqa: ANN001
    """The inventory's `app:` for the API under `command` (a pidfile) or `compose` (service backend)."""
    if app == "compose":
        from .service.sandbox_compose import SERVICE, default_binary, write_compose_file

        file = write_compose_file(root / "demo" / "compose", port=port, dsn=dsn, passfile=c.passfile)
        return {"controller": "compose", "compose": {"file": str(file), "service": SERVICE, "binary": default_binary(),
                                                     "project": compose_project(root)}, "health_timeout": 60}
    if app != "command":
        raise UsageError(f"--app must be command or compose, not {app!r}")
    api = f"env PGRUNBOOK_API_DSN={dsn} {sys.executable} -m pgrunbook.sandbox.api"
    pidfile = root / "demo" / "api.pid"
    return {
        "controller": "command",
        "command": {
            "start": f"{api} start --port {port} --pidfile {pidfile} --passfile {c.passfile}",
            "stop": f"{api} stop --pidfile {pidfile}",
            "health": f"{api} health --port {port}",
        },
        "health_timeout": 30,
    }


def demo_inventory(root: Path = sandbox.SANDBOX_ROOT, app: str = "command") -> Path:
    """The sandbox inventory plus the API under the `command` or `compose` controller (absolute paths, no secret)."""
    c = sandbox.cluster(root)
    demo = root / "demo"
    demo.mkdir(parents=True, exist_ok=True)
    dsn = f"postgresql://postgres@127.0.0.1:{c.port}/{sandbox.APP_DB}"  # no password: the API reads the 0600 passfile
    port = api_port()
    data = {
        "name": "sandbox-demo",
        "sandbox": True,
        "database": {"url": dsn, "passfile": str(c.passfile)},
        "migrations": {"dir": str(root / "app" / "drizzle")},
        "backup": {
            "dir": str(backup_dir(root)), "format": "custom", "min_copies": 2,
            "targets": [{"name": "second-disk", "type": "local", "path": str(root / "copies" / "second-disk")},
                        {"name": "offsite", "type": "local", "path": str(root / "copies" / "offsite")}],
        },
        "app": _app_section(app, root, c, dsn, port),
        "api": {
            "base_url": f"http://127.0.0.1:{port}",
            # The fixture's published login (sandbox/fixture/README.md) as the default, so that this
            # inventory also works with `-i` in a shell that never ran the demo.
            "login": {"email": SANDBOX_LOGIN[0], "password": "${PGRUNBOOK_DEMO_API_PASSWORD:-" + SANDBOX_LOGIN[1] + "}"},
            "endpoints": [{"path": "/api/users/all-members", "budget_ms": 100}, {"path": "/api/campaigns", "budget_ms": 100}],
            "requests": 20,
        },
    }
    path = inventory_path(root)
    path.write_text(f"# written by `inv demo`: the sandbox with its API under the {app} controller\n" + yaml.safe_dump(data, sort_keys=False))
    return path


def inventory_path(root: Path = sandbox.SANDBOX_ROOT) -> Path:
    """The inventory the demo writes (the sandbox plus its API): `--resume` of a demo run needs it."""
    return root / "demo" / "inventory.yml"


def run_demo(emit: Emit = discard, *, break_it: bool = False, scale: int = 1, app_kind: str = "command",
             drizzle: str = "0.45", on_end=None) -> ProdResult:  # noqa: ANN001 - on_end: ProdOptions.on_end
    from .service import controller_for

    # The fixture login is published on purpose (sandbox only); it still travels as a secret.
    os.environ.setdefault("PGRUNBOOK_DEMO_API_PASSWORD", SANDBOX_LOGIN[1])
    sandbox.fixture_folder(drizzle)  # an unknown --drizzle is a usage error before anything starts
    sandbox.up()
    cfg = load_config(demo_inventory(app=app_kind))
    if app_kind == "compose":
        _create_compose_service(cfg, emit)
    # listen=None: this first stop ends a previous demo's API; another program on the port is
    # _require_free_port's to report, not a failed stop.
    with controller_for(cfg.inventory, emit=emit, listen=None) as app:
        app.stop()  # a previous demo's API holds connections to the database we recreate
        _require_free_port(api_port())
        emit(Event("demo", "step", "sandbox: PostgreSQL 18 on 127.0.0.1, legacy state (scenario B: no drizzle tracking), "
                                   f"drizzle {drizzle} migrations folder", {"level": SUMMARY}))
        sandbox.reset("legacy", scale=scale, drizzle=drizzle)
        emit(Event("demo", "step", f"starting the sandbox API on port {api_port()} ({app_kind} controller)", {"level": SUMMARY}))
        app.start()
    options = ProdOptions(yes=True, after_migrate=_inject_drift(cfg, emit) if break_it else None, on_end=on_end)
    return migrate_prod(cfg, emit, options)


def look_commands(run_id: str) -> tuple[str, ...]:
    """The commands to look at what the demo did, exactly as they run (no -i: the default
    inventory is the sandbox; tests/test_demo.py runs each)."""
    return ("inv runs", f"inv report -r {run_id}", f"inv report -r {run_id} --html", "inv verify")


def api_note(root: Path = sandbox.SANDBOX_ROOT) -> str:
    """What became of the API the demo started: it keeps running (the report's API figures can
    be measured again), and how to stop it."""
    compose = root / "demo" / "compose"
    url = f"http://127.0.0.1:{api_port()}"
    if (root / "demo" / "inventory.yml").exists() and "controller: compose" in (root / "demo" / "inventory.yml").read_text():
        return (f"the sandbox API keeps running on {url} (compose service backend, project {compose_project(root)}): "
                f"`docker-compose -p {compose_project(root)} -f {compose}/docker-compose.yml stop backend` stops it")
    return f"the sandbox API keeps running on {url}: `inv sandbox.down` stops it, with the sandbox"


def tour_lines(run_id: str) -> tuple[str, ...]:
    return ("look at what it did:", *(f"  {command}" for command in look_commands(run_id)), api_note())


def _create_compose_service(cfg: Config, emit: Emit) -> None:
    from .service.sandbox_compose import create_service

    compose = cfg.inventory.app.compose
    assert compose is not None and compose.project is not None
    emit(Event("demo", "step", f"docker compose: the backend service of {compose.file} (project {compose.project}), created if missing"))
    create_service(Path(compose.file), project=compose.project, binary=compose.binary, service=compose.service)


def _require_free_port(port: int) -> None:
    import socket

    with socket.socket() as sock:
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            raise UsageError(f"port {port} on 127.0.0.1 is taken by another program, so the sandbox API cannot start there",
                             next_step=f"stop that program (`ss -ltnp | grep {port}`), or run `PGRUNBOOK_DEMO_API_PORT=<free port> inv demo`")


def _inject_drift(cfg: Config, emit: Emit):
    def inject(run: Run) -> None:
        from .pg import connect

        emit(Event("demo", "warn", "--break: a second connection writes one user behind the migration's back"))
        with connect(cfg.inventory.database) as conn:
            conn.execute(
                "INSERT INTO users (email, password, first_name, last_name, role) "
                "SELECT 'intruder@htf-sunup.test', password, 'Drift', 'Injected', role FROM users WHERE role = 'fbo' LIMIT 1"
            )
            conn.commit()

    return inject
