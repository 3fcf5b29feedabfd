"""Benchmark: `inv verify` on a sandbox with about one million users.

    python bench/bench_verify.py [--scale 15000] [--runs 5]

Builds a throwaway embedded cluster (own port, own /tmp root), loads the fixture at
`scale` (15000 -> 120k managers + 900k FBOs = 1.02M users), then times the whole
`commands.verify` (journal, tool versions, connection, READ ONLY facts, checks) and,
side by side, the seed's raw phase-1 queries through psql for reference.
"""

from __future__ import annotations

import argparse
import statistics
import shutil
import subprocess
import sys
import time

import yaml

from pgrunbook import commands
from pgrunbook.config import load_config
from pgrunbook.pg import default_bin_dir
from pgrunbook.sandbox.cluster import Cluster

from _sandbox import load_sandbox

SEED_QUERIES = [
    "SELECT version();",
    "SELECT role, COUNT(*) as count FROM users GROUP BY role ORDER BY role;",
    "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = 'drizzle');",
    "SELECT COUNT(*) as total_indexes, COUNT(*) FILTER (WHERE indexname LIKE 'idx_%') FROM pg_indexes WHERE schemaname = 'public';",
    "SELECT table_name, (SELECT COUNT(*) FROM information_schema.columns WHERE table_name = t.table_name AND table_schema = 'public') "
    "FROM information_schema.tables t WHERE table_schema = 'public' ORDER BY table_name;",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=15000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    loaded = load_sandbox("pgrunbook-bench-verify-", scale=args.scale, state="tracked", dbname="htf_sunup_db")
    cluster = loaded.cluster
    try:
        inventory = loaded.work / "inventory.yml"
        inventory.write_text(yaml.safe_dump({
            "name": "bench", "database": {"url": cluster.url("htf_sunup_db")},
            "migrations": {"dir": str(loaded.drizzle_dir)},
        }))
        cfg = load_config(inventory)
        ours = timed(lambda: commands.verify(cfg), args.runs)
        psql = str(default_bin_dir() / "psql")
        seed = timed(lambda: run_seed_queries(psql, cluster), args.runs)
        print(f"inv verify (commands.verify), median of {args.runs}: {ours:.3f}s")
        print(f"seed's 5 psql invocations,    median of {args.runs}: {seed:.3f}s")
        print(f"ratio ours/seed: {ours / seed:.2f}x")
    finally:
        cluster.destroy()
        shutil.rmtree(loaded.work, ignore_errors=True)


def run_seed_queries(psql: str, cluster: Cluster) -> None:
    for query in SEED_QUERIES:
        subprocess.run([psql, cluster.url("htf_sunup_db"), "-qAt", "-c", query], check=True, capture_output=True)


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
