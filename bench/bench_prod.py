"""Benchmark: the whole `migrate-prod` on the demo vs the sum of its raw steps, side by side.

    python bench/bench_prod.py [--scale 1] [--runs 3]

Ours: `migrate-prod` on a fresh legacy database (verify, backup + 2 verified copies, analyze
with squawk, gate, baseline + 0011, validate, post-migration backup, reports).
Raw: what an operator would type from the seed, timed as subprocesses: the five phase-1
psql queries, `pg_dump -Fc`, two `cp` + `sha256sum`, the baseline INSERTs and 0011 through
`psql -f`, the phase-6 count queries, and a second `pg_dump -Fc`. The raw steps check
nothing; the difference is what the checks, the journal and the reports cost.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import yaml
from psycopg import sql

from pgrunbook.config import load_config
from pgrunbook.drizzle import load_migrations
from pgrunbook.pg import default_bin_dir
from pgrunbook.runner import ProdOptions, migrate_prod
from pgrunbook.sandbox.cluster import Cluster

from _sandbox import load_sandbox

PHASE1 = [
    "SELECT version();",
    "SELECT role, COUNT(*) FROM users GROUP BY role ORDER BY role;",
    "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = 'drizzle');",
    "SELECT COUNT(*), COUNT(*) FILTER (WHERE indexname LIKE 'idx_%') FROM pg_indexes WHERE schemaname = 'public';",
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name;",
]


def clone(cluster: Cluster, template: str, name: str) -> None:
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))


def ours(cluster: Cluster, root: Path, drizzle_dir: Path) -> float:
    clone(cluster, "tmpl", "ours")
    workdir = Path(tempfile.mkdtemp(dir=root))
    inventory = workdir / "inventory.yml"
    inventory.write_text(yaml.safe_dump({
        "name": "bench", "sandbox": True,
        "database": {"url": f"postgresql://postgres@127.0.0.1:{cluster.port}/ours", "passfile": str(cluster.passfile)},
        "migrations": {"dir": str(drizzle_dir)},
        "backup": {"dir": str(workdir / "backups"), "min_copies": 2,
                   "targets": [{"name": "a", "type": "local", "path": str(workdir / "a")},
                               {"name": "b", "type": "local", "path": str(workdir / "b")}]},
    }))
    started = time.perf_counter()
    result = migrate_prod(load_config(inventory), options=ProdOptions(yes=True))
    seconds = time.perf_counter() - started
    assert result.outcome == "ok", result.reason
    return seconds


def raw(cluster: Cluster, root: Path, drizzle_dir: Path) -> float:
    clone(cluster, "tmpl", "raw")
    bin_dir = default_bin_dir()
    env = {**os.environ, "PGPASSWORD": cluster.password}
    url = f"postgresql://postgres@127.0.0.1:{cluster.port}/raw"
    workdir = Path(tempfile.mkdtemp(dir=root))
    local = load_migrations(drizzle_dir)
    baseline = workdir / "baseline.sql"
    baseline.write_text(
        "CREATE SCHEMA IF NOT EXISTS drizzle;\nCREATE TABLE IF NOT EXISTS drizzle.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint);\n"
        + "".join(f"INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('{m.hash}', {m.when});\n" for m in local.entries[:11]))

    def run(*argv: str) -> None:
        subprocess.run(argv, env=env, check=True, capture_output=True)

    started = time.perf_counter()
    for query in PHASE1:
        run(str(bin_dir / "psql"), url, "-qAt", "-c", query)
    dump = workdir / "dump.dump"
    run(str(bin_dir / "pg_dump"), "-Fc", "-f", str(dump), url)
    for copy in ("a", "b"):
        (workdir / copy).mkdir()
        run("cp", str(dump), str(workdir / copy))
        run("sha256sum", str(workdir / copy / dump.name))
    run(str(bin_dir / "psql"), url, "-q", "-v", "ON_ERROR_STOP=1", "-f", str(baseline))
    run(str(bin_dir / "psql"), url, "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", str(local.entries[11].path))
    run(str(bin_dir / "psql"), url, "-qAt", "-c", PHASE1[1])
    run(str(bin_dir / "psql"), url, "-qAt", "-c", PHASE1[3])
    run(str(bin_dir / "pg_dump"), "-Fc", "-f", str(workdir / "post.dump"), url)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    loaded = load_sandbox("pgrunbook-bench-prod-", scale=args.scale, state="legacy", dbname="tmpl")
    root, cluster, drizzle_dir = loaded.work, loaded.cluster, loaded.drizzle_dir
    try:
        ours_s = [ours(cluster, root, drizzle_dir) for _ in range(args.runs)]
        raw_s = [raw(cluster, root, drizzle_dir) for _ in range(args.runs)]
        o, r = statistics.median(ours_s), statistics.median(raw_s)
        print(f"scale {args.scale}: migrate-prod {o:.2f}s, raw steps {r:.2f}s (medians of {args.runs}); overhead {o - r:+.2f}s ({o / r:.2f}x)")
    finally:
        cluster.destroy()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
