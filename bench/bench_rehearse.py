"""Benchmark: the rehearsal vs restore + migrate done by hand, side by side in one run (not a test).

    python bench/bench_rehearse.py [--scale 15000] [--rounds 2] [--keep]

Builds a throwaway embedded PostgreSQL 18 cluster (fsync off) with the sandbox's tracked
schema and data at `--scale` (15000 ≈ 1,020,000 users, 5.6 M rows; 0011, 43 indexes + 11
ANALYZE, pending), takes one `inv backup` (custom format, gzip level 1), then in each
round, alternating which goes first:

  1. by hand: `createdb` + `pg_restore -j 2 --no-owner --no-acl` of that dump + `psql
     --single-transaction -f 0011_add_performance_indexes.sql` (then `dropdb`);
  2. the rehearsal (`pgrunbook.rehearse.rehearse`, what `inv gate --rehearse` runs after the
     other criteria): CREATE DATABASE + settings, pg_restore -j 2, every table counted and
     the protected tables fingerprinted (READ ONLY), the plan observed on the copy, the
     executor applying 0011 with each statement observed (locks, rows), counts and
     fingerprints again, compare, DROP DATABASE (guarded, WITH (FORCE)).

Once, at the end: `inv gate --rehearse --json` end to end in a subprocess (the operator's
command: facts, lint with squawk, every criterion, then the rehearsal). Best of `--rounds`
is reported; bench/results/rehearse.json holds every figure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pgrunbook.pg import default_bin_dir  # noqa: E402
from _sandbox import bench_arguments, client_env, cluster_url, load_sandbox  # noqa: E402

BIN = default_bin_dir()
DB = "bench_db"
MIGRATION = "0011_add_performance_indexes"


def main() -> None:
    args = bench_arguments(rounds=2).parse_args()

    loaded = load_sandbox("pgrunbook-bench-rh-", scale=args.scale, state="tracked", dbname=DB)
    work, cluster = loaded.work, loaded.cluster
    results: dict[str, object] = {"scale": args.scale, "cpus": os.cpu_count(), "load_seconds": loaded.load_seconds, "rows": loaded.rows}
    try:
        env, base = client_env(cluster), cluster_url(cluster)
        inventory = work / "bench.yml"
        inventory.write_text(f"""name: bench
sandbox: true
database: {{url: "{base}/{DB}", passfile: "{cluster.passfile}"}}
migrations: {{dir: "{loaded.drizzle_dir}"}}
backup: {{dir: "{work / 'backups'}", min_copies: 0, jobs: 2}}
""")
        from pgrunbook import commands
        from pgrunbook.config import load_config
        from pgrunbook.pg import connect, read_only
        from pgrunbook.planning import observe_and_plan
        from pgrunbook.rehearse import rehearse

        cfg = load_config(inventory)
        started = time.perf_counter()
        backup = commands.backup(cfg)
        results["backup_seconds"] = round(time.perf_counter() - started, 2)
        assert backup.ok, backup.as_json()
        manifest = backup.manifest
        dump = manifest.dump_path
        results["dump_bytes"] = dump.stat().st_size
        with connect(cfg.inventory.database) as conn, read_only(conn):
            plan = observe_and_plan(conn, cfg).plan
        assert [s.tag for s in plan.apply] == [MIGRATION], plan
        migration_file = loaded.drizzle_dir / f"{MIGRATION}.sql"

        def run(*argv: str) -> None:
            subprocess.run([str(BIN / argv[0]), *argv[1:]], env=env, check=True, stdout=subprocess.DEVNULL)

        def by_hand(round_no: int) -> dict[str, float]:
            target = f"by_hand_{round_no}"
            t0 = time.perf_counter()
            run("createdb", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", target)
            t1 = time.perf_counter()
            run("pg_restore", "-j", "2", "--no-owner", "--no-acl", "-d", f"{base}/{target}", str(dump))
            t2 = time.perf_counter()
            run("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", str(migration_file), f"{base}/{target}")
            t3 = time.perf_counter()
            run("dropdb", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", target)
            t4 = time.perf_counter()
            return {"createdb": t1 - t0, "pg_restore": t2 - t1, "migrate": t3 - t2, "dropdb": t4 - t3, "total": t3 - t0,
                    "total_with_drop": t4 - t0}

        def rehearsal(_round_no: int) -> dict[str, float]:
            t0 = time.perf_counter()
            result = rehearse(cfg, plan, manifest, createdb=True)
            wall = time.perf_counter() - t0
            assert result.outcome == "ok" and result.dropped, result.reason
            return {**{k: float(v) for k, v in result.seconds.items()}, "total_with_drop": wall, "total": wall - result.seconds["drop"]}

        rounds: list[dict[str, dict[str, float]]] = []
        for round_no in range(args.rounds):
            order = [("by_hand", by_hand), ("rehearsal", rehearsal)]
            if round_no % 2:
                order.reverse()
            measured = {name: fn(round_no) for name, fn in order}
            rounds.append(measured)
            print(f"round {round_no + 1}: " + ", ".join(f"{k} {v['total_with_drop']:.1f}s ({v['total']:.1f}s without the drop)"
                                                        for k, v in measured.items()), flush=True)

        started = time.perf_counter()
        gate = subprocess.run([sys.executable, "-m", "invoke", "gate", "--rehearse", "-i", str(inventory), "--json"], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        gate_seconds = time.perf_counter() - started
        assert gate.returncode == 0, gate.stderr[-2000:]
        decision = json.loads(gate.stdout)
        results["inv_gate_rehearse_seconds"] = round(gate_seconds, 2)
        results["inv_gate_rehearse_check"] = next(c for c in decision["checks"] if c["id"] == "rehearsal")

        def best(name: str, key: str) -> float:
            return round(min(r[name][key] for r in rounds), 2)

        results["rounds"] = [{n: {k: round(v, 3) for k, v in m.items()} for n, m in r.items()} for r in rounds]
        results["best"] = {n: {k: best(n, k) for k in rounds[0][n]} for n in ("by_hand", "rehearsal")}
        results["ratios"] = {
            "rehearsal_vs_by_hand": round(best("rehearsal", "total") / best("by_hand", "total"), 3),
            "rehearsal_vs_by_hand_with_drop": round(best("rehearsal", "total_with_drop") / best("by_hand", "total_with_drop"), 3),
        }
        out = ROOT / "bench" / "results" / f"rehearse_scale{args.scale}.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps({"best": results["best"], "ratios": results["ratios"], "inv_gate_rehearse_seconds": results["inv_gate_rehearse_seconds"]},
                         indent=2))
    finally:
        cluster.destroy()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
