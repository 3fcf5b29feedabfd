"""Benchmark: applying 0011 (43 indexes) on ~1M users while a writer keeps writing.

    python bench/bench_migrate.py [--scale 15000] [--writer-seconds 8]

One throwaway embedded cluster; a template database in the tracked state is loaded once,
each measurement runs on a fresh clone of it. Side by side in one run:

1. the writer alone (INSERT a user, UPDATE a user, alternately): its latency with no migration;
2. `inv migrate`'s executor, plain CREATE INDEX (one transaction for the migration), with the writer;
3. the same with `--online` (CREATE INDEX CONCURRENTLY, autocommit), with the writer;
4. drizzle-orm's own migrator (Node, tests/interop) on the same plan, no writer, vs our
   executor on the same plan, no writer: the overhead of our apply.

For (4) the migration's journal `when` is moved above 0010's, so that drizzle does not skip it
(in the fixture it is stranded on purpose). Writer loops are bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import psycopg
from psycopg import sql

from pgrunbook.config import MigratePolicy
from pgrunbook.drizzle import load_migrations, reconcile
from pgrunbook.drizzle.plan import make_plan
from pgrunbook.drizzle.recorder import Recorder
from pgrunbook.executor import Executor
from pgrunbook.sandbox.cluster import Cluster

from _sandbox import load_sandbox

ROOT = Path(__file__).resolve().parents[1]
INTEROP = ROOT / "tests" / "interop"
MAX_WRITES = 200_000


def timed_writer(url: str, action) -> tuple[float, list[float]]:
    """A writer process runs from 1 s before `action` until 1 s after: (action's seconds, write latencies in ms)."""
    queue: mp.Queue = mp.Queue()
    stop = mp.Value("d", 0.0)
    process = mp.Process(target=_writer_until_flag, args=(url, stop, queue))
    process.start()
    time.sleep(1.0)
    started = time.perf_counter()
    action()
    duration = time.perf_counter() - started
    time.sleep(1.0)
    stop.value = 1.0
    latencies = queue.get(timeout=120)
    process.join(30)
    return duration, latencies


def _writer_until_flag(url: str, stop, out: mp.Queue) -> None:
    latencies = []
    with psycopg.connect(url, autocommit=True) as conn:
        password = conn.execute("SELECT password FROM users LIMIT 1").fetchone()[0]
        for i in range(MAX_WRITES):
            if stop.value:
                break
            started = time.perf_counter()
            if i % 2 == 0:
                conn.execute("INSERT INTO users (email, password, first_name, last_name, role) VALUES (%s, %s, 'W', 'R', 'fbo')",
                             [f"writer{os.getpid()}_{i}@bench.test", password])
            else:
                conn.execute("UPDATE users SET updated_at = now() WHERE id = %s", [1 + (i * 7919) % 1000])
            latencies.append((time.perf_counter() - started) * 1000)
    out.put(latencies)


def stats(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {"writes": len(ordered), "p50_ms": statistics.median(ordered), "p99_ms": ordered[int(0.99 * (len(ordered) - 1))],
            "max_ms": ordered[-1]}


def clone(cluster: Cluster, template: str, name: str) -> str:
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
    return cluster.url(name)


def apply_ours(url: str, drizzle_dir: Path, *, online: bool) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        local = load_migrations(drizzle_dir)
        plan = make_plan(local, reconcile(local, Recorder(conn).rows()))
        tables = frozenset(f"public.{r[0]}" for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
        executor = Executor(conn, Recorder(conn), MigratePolicy(lock_timeout="5s"))
        executor.acquire_lock()
        executor.run(plan, local, online=online, existing_tables=tables)
        executor.release_lock()


def apply_drizzle(url: str, drizzle_dir: Path) -> None:
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run(["node", str(INTEROP / "drizzle.mjs"), "migrate", str(drizzle_dir)], env=env, check=True, capture_output=True)


def unstranded_copy(source: Path, target: Path) -> Path:
    """The fixture's drizzle folder with 0011's `when` after 0010's, so drizzle applies it."""
    shutil.copytree(source, target)
    journal = target / "meta" / "_journal.json"
    data = json.loads(journal.read_text())
    data["entries"][-1]["when"] = data["entries"][-2]["when"] + 1000
    journal.write_text(json.dumps(data, indent=2))
    return target


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=15000)
    parser.add_argument("--writer-seconds", type=float, default=8)
    args = parser.parse_args()
    loaded = load_sandbox("pgrunbook-bench-migrate-", scale=args.scale, state="tracked", dbname="tmpl")
    root, cluster, drizzle_dir = loaded.work, loaded.cluster, loaded.drizzle_dir
    results: dict[str, object] = {}
    try:

        url = clone(cluster, "tmpl", "idle")
        _, idle = timed_writer(url, lambda: time.sleep(args.writer_seconds))
        results["writer, no migration"] = stats(idle)

        for label, online in (("migrate (plain CREATE INDEX)", False), ("migrate --online (CONCURRENTLY)", True)):
            url = clone(cluster, "tmpl", "run")
            duration, latencies = timed_writer(url, lambda u=url, o=online: apply_ours(u, drizzle_dir, online=o))
            results[label] = {"migration_s": round(duration, 2), **stats(latencies)}

        fair = unstranded_copy(drizzle_dir, root / "app-unstranded")
        ours_s, theirs_s = [], []
        for _ in range(3):
            url = clone(cluster, "tmpl", "ours")
            t = time.perf_counter()
            apply_ours(url, fair, online=False)
            ours_s.append(time.perf_counter() - t)
            url = clone(cluster, "tmpl", "theirs")
            t = time.perf_counter()
            apply_drizzle(url, fair)
            theirs_s.append(time.perf_counter() - t)
        results["ours vs drizzle (same plan, no writer, median of 3)"] = {
            "ours_s": round(statistics.median(ours_s), 2), "drizzle_s": round(statistics.median(theirs_s), 2),
            "ratio": round(statistics.median(ours_s) / statistics.median(theirs_s), 3)}
        for key, value in results.items():
            print(f"{key}: {value}")
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        (out / "migrate.json").write_text(json.dumps(results, indent=2))
    finally:
        cluster.destroy()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
