"""Fleet benchmark: N tenants at scale 1 on two embedded clusters (two instances, one run at a
time on each), the fleet with 2 parallel runs vs the sum of the single-tenant times / 2, and the
fleet's own overhead per target (outside runner.migrate_prod: journal, scheduling, summary).

    python bench/bench_fleet.py --tenants 12

Single-tenant times: each tenant's `runner.migrate_prod` alone, one after the other, on fresh
copies (same process, same inventories as the fleet builds them). Then fresh copies again and
`fleet.migrate_prod` with no canary, one wave, policy.max_parallel 2, instances' max_parallel 1.
"""

from __future__ import annotations

import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _sandbox import bench_arguments  # noqa: E402

from pgrunbook.fleet.inventory import load_fleet  # noqa: E402
from pgrunbook.fleet.rollout import FleetOptions, migrate_prod  # noqa: E402
from pgrunbook.runner import ProdOptions  # noqa: E402
from pgrunbook.runner import migrate_prod as runbook  # noqa: E402
from pgrunbook.sandbox import build_app_database, fresh_app_copy  # noqa: E402
from pgrunbook.sandbox.cluster import Cluster, free_port  # noqa: E402


def copies(clusters: dict[str, Cluster], per_instance: int, prefix: str) -> dict[str, list[str]]:
    import psycopg

    made: dict[str, list[str]] = {}
    for instance, cluster in clusters.items():
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
            made[instance] = []
            for i in range(per_instance):
                name = f"{prefix}_{i}"
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.execute(f'CREATE DATABASE "{name}" TEMPLATE tmpl')
                made[instance].append(name)
    return made


def write_fleet(work: Path, clusters: dict[str, Cluster], tenants: dict[str, list[str]], tag: str) -> Path:
    data = {"name": f"bench-{tag}", "base": str(work / "base.yml"), "dir": str(work / f"fleet-{tag}"),
            "instances": {i: {"url": f"postgresql://postgres:${{BENCH_PW}}@127.0.0.1:{c.port}/postgres", "max_parallel": 1,
                              "databases": tenants[i]} for i, c in clusters.items()},
            "policy": {"canary": 0, "waves": ["100%"], "max_parallel": 2}}
    path = work / f"fleet-{tag}.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def main() -> None:
    parser = bench_arguments(rounds=1, scale=1)
    parser.add_argument("--tenants", type=int, default=12)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pgrunbook-bench-fleet-"))
    work.chmod(0o755)
    password = secrets.token_urlsafe(18)
    os.environ["BENCH_PW"] = password
    clusters = {name: Cluster(work / name, free_port(), password) for name in ("a", "b")}
    try:
        for cluster in clusters.values():
            cluster.ensure_running()
            build_app_database(cluster, "tmpl", "legacy", scale=args.scale, drizzle_dir=fresh_app_copy(work / "tmpl-app"))
        drizzle = fresh_app_copy(work / "app")
        (work / "base.yml").write_text(yaml.safe_dump({
            "name": "tenant", "sandbox": True, "database": {"url": "postgresql://postgres@127.0.0.1:1/x"},
            "migrations": {"dir": str(drizzle)}, "backup": {"dir": str(work / "unused"), "min_copies": 0}}))
        per = args.tenants // 2

        fleet = load_fleet(write_fleet(work, clusters, copies(clusters, per, "single"), "single"))
        singles = []
        for name in fleet.target_names():
            target = fleet.target(name)
            started = time.perf_counter()
            result = runbook(target.config, options=ProdOptions(yes=True))
            singles.append(time.perf_counter() - started)
            assert result.outcome == "ok", (name, result.outcome, result.reason)
        total_single = sum(singles)

        fleet = load_fleet(write_fleet(work, clusters, copies(clusters, per, "fleet"), "fleet"))
        started = time.perf_counter()
        result = migrate_prod(fleet, options=FleetOptions())
        wall = time.perf_counter() - started
        assert result.outcome == "ok", result.as_json()
        overhead = [o.seconds - o.runbook_seconds for o in result.targets.values()]
        ideal = total_single / 2
        print(f"{len(singles)} tenants at scale {args.scale} on 2 instances (max 1 run each, 2 overall)")
        print(f"single-tenant runs, one after the other: sum {total_single:.1f} s (median {statistics.median(singles):.2f} s per tenant)")
        print(f"fleet, 2 parallel runs: {wall:.1f} s = {wall / ideal:.2f}x (sum / 2 = {ideal:.1f} s); "
              f"peak runs at once {result.max_overall}, per instance {result.max_concurrency}")
        print(f"fleet overhead per target (outside the runbook): median {statistics.median(overhead) * 1000:.0f} ms, "
              f"max {max(overhead) * 1000:.0f} ms")
    finally:
        for cluster in clusters.values():
            cluster.destroy()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
