"""Benchmark: `inv verify` on a 300-migration drizzle 1.0 folder (issue 13: under 1 s).

    python bench/bench_verify_drizzle1.py [--migrations 300] [--runs 5] [--scale 200]

Generates the folder: the sandbox's 12 migrations converted by the real `drizzle-kit up`
(`sandbox/fixture/drizzle-1.0`), then generated ones up to `--migrations`, each a
`<YYYYMMDDHHMMSS>_<name>/migration.sql` (a few statements: a column, an index, a table
every tenth) with a `snapshot.json` in drizzle-kit 1.0's diff shape (`id`, `prevIds` = the
previous one, its deltas), one line of history. Two ledgers, each its own database built
from the sandbox ("tracked", `--scale`):

- `ledger 1.0`: the ledger upgraded by pgrunbook's recorder, every migration but the last
  50 recorded with its name (verify reconciles by name, the graph against the ledger);
- `ledger 0.45`: the old ledger holding every migration but the last 50 (verify predicts
  drizzle 1.0's upgrade, one match per row).

Times the whole `commands.verify` (loading and hashing the folder, every snapshot's header,
the journal, tool versions, the READ ONLY facts, the checks), median of `--runs`, and the
loader alone.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

from pgrunbook import commands
from pgrunbook.config import load_config
from pgrunbook.drizzle import load_migrations, reconcile
from pgrunbook.drizzle.recorder import Recorder
from pgrunbook.sandbox import FIXTURE_DRIZZLE_V1

from _sandbox import load_sandbox

PENDING = 50


def generate(folder: Path, total: int) -> Path:
    """The fixture's 12 converted migrations, then generated ones up to `total`, one line of history."""
    shutil.copytree(FIXTURE_DRIZZLE_V1, folder, ignore=shutil.ignore_patterns("README.md"))
    last = sorted(p for p in folder.iterdir() if p.is_dir())[-1]
    parent = json.loads((last / "snapshot.json").read_text())["id"]
    start = datetime(2025, 10, 1, 9, 0, 0, tzinfo=timezone.utc)
    for n in range(total - 12):
        name = f"{(start + timedelta(hours=n)).strftime('%Y%m%d%H%M%S')}_generated_{n:04d}"
        table = f"bench_t{n // 10}"
        statements = [f'CREATE TABLE IF NOT EXISTS "{table}" ("id" serial PRIMARY KEY, "created_at" timestamp DEFAULT now())'] \
            if n % 10 == 0 else []
        statements += [f'ALTER TABLE "{table}" ADD COLUMN IF NOT EXISTS "c{n}" text',
                       f'CREATE INDEX IF NOT EXISTS "idx_{table}_c{n}" ON "{table}" ("c{n}")']
        (folder / name).mkdir()
        (folder / name / "migration.sql").write_text(";\n--> statement-breakpoint\n".join(statements) + ";\n")
        snapshot_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"pgrunbook-bench/{name}"))
        deltas = [{"entityType": "columns", "table": table, "name": f"c{n}", "type": "text", "notNull": False}
                  for _ in range(20)]  # a diff snapshot's body: drizzle-kit writes the changed entities
        (folder / name / "snapshot.json").write_text(json.dumps(
            {"type": "diff", "version": "9", "dialect": "postgres", "id": snapshot_id, "prevIds": [parent],
             "footprints": [f"columns:{table}:c{n}"], "deltas": deltas}, indent=2))
        parent = snapshot_id
    return folder


def record_ledger(url: str, folder: Path, *, v1: bool) -> int:
    """Every migration but the last PENDING recorded: in 1.0's shape (upgraded, named) or 0.45's."""
    import psycopg

    local = load_migrations(folder)
    with psycopg.connect(url, autocommit=True) as conn:
        recorder = Recorder(conn)
        if v1:
            recorder.upgrade_to_v1(reconcile(local, recorder.rows()).upgrade)
        known = {r.hash for r in recorder.rows()}
        for m in local.entries[:-PENDING]:
            if m.hash not in known:
                recorder.record(m.hash, m.when, m.name_v1 if v1 else None)
        return len(recorder.rows())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--migrations", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scale", type=int, default=200)
    args = parser.parse_args()

    loaded = load_sandbox("pgrunbook-bench-verify1-", scale=args.scale, state="tracked", dbname="htf_sunup_db")
    cluster = loaded.cluster
    try:
        folder = generate(loaded.work / "drizzle-1.0", args.migrations)
        import psycopg

        with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
            admin.execute('CREATE DATABASE "htf_v045" TEMPLATE "htf_sunup_db"')
        results = {}
        for label, dbname, v1 in (("ledger 1.0", "htf_sunup_db", True), ("ledger 0.45", "htf_v045", False)):
            rows = record_ledger(cluster.url(dbname), folder, v1=v1)
            inventory = loaded.work / f"inventory-{dbname}.yml"
            inventory.write_text(yaml.safe_dump({"name": "bench", "database": {"url": cluster.url(dbname)},
                                                 "migrations": {"dir": str(folder), "drizzle": "1.0"},
                                                 "backup": {"dir": str(loaded.work / "backups")}}))  # its run journals stay in the throwaway folder
            cfg = load_config(inventory)
            report = commands.verify(cfg)
            data = report.as_json()["drizzle"]
            history = next(c for c in report.checks if c.id == "migration-history")
            assert len(data["pending"]) == PENDING and history.status.value == "ok", (data["pending"][:3], history)
            results[label] = (rows, timed(lambda: commands.verify(cfg), args.runs))
        loader = timed(lambda: load_migrations(folder), args.runs)
        print(f"{args.migrations} migrations (drizzle 1.0 folder, snapshot.json each), {PENDING} pending; median of {args.runs}:")
        for label, (rows, seconds) in results.items():
            print(f"  inv verify (commands.verify), {label} ({rows} rows): {seconds:.3f}s")
        print(f"  the loader alone (read, hash, snapshot headers):        {loader:.3f}s")
    finally:
        cluster.destroy()
        shutil.rmtree(loaded.work, ignore_errors=True)


def timed(action, runs: int) -> float:
    action()  # warm-up
    samples = []
    for _ in range(runs):
        started = time.monotonic()
        action()
        samples.append(time.monotonic() - started)
    return statistics.median(samples)


if __name__ == "__main__":
    sys.exit(main())
