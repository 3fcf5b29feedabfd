"""Benchmark: recovery time of `inv rollback --full` vs the raw tools, side by side in one run (not a test).

    python bench/bench_rollback.py [--scale 15000] [--rounds 2] [--keep]

Builds a throwaway embedded PostgreSQL 18 cluster (fsync off) with the sandbox's legacy
schema and data at `--scale` (15000 ≈ 1,020,000 users, 5.6 M rows), takes one `inv backup`
(custom format, gzip level 1) and one plain `pg_dump > dump.sql` (the seed's file), then in
each round, alternating:

  1. raw `createdb` + `pg_restore -j 2 -d` of the same custom dump (what the rollback runs)
  2. the seed's way: `DROP DATABASE` + `CREATE DATABASE` + `psql < dump.sql` (on a copy, so
     that the database itself stays for the others)
  3. `inv rollback --full --yes --json`, end to end in a subprocess: sha256 check of the dump,
     CREATE DATABASE, pg_restore -j 2, count every table vs the manifest, block + terminate +
     rename (the replaced database is kept), ANALYZE, counts after and of the kept database.
  4. the same with `--online` (the app stopped only for the swap): its downtime.

Best of `--rounds` is reported; bench/results/rollback.json holds every figure. The
password is in a 0600 passfile; nothing here touches the sandbox or any other database.
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
from _sandbox import bench_arguments, client_env, cluster_url, inv_json, load_sandbox, raw_restore_seconds  # noqa: E402
from _sandbox import psql as raw_psql  # noqa: E402

BIN = default_bin_dir()
DB = "bench_db"


def main() -> None:
    args = bench_arguments(rounds=2).parse_args()

    loaded = load_sandbox("pgrunbook-bench-rb-", scale=args.scale, state="legacy", dbname=DB)
    work, cluster, rows = loaded.work, loaded.cluster, loaded.rows
    results: dict[str, object] = {"scale": args.scale, "cpus": os.cpu_count(), "load_seconds": loaded.load_seconds, "rows": rows}
    try:
        env, base, url = client_env(cluster), cluster_url(cluster), cluster_url(cluster, DB)
        inventory = work / "bench.yml"
        inventory.write_text(f"""name: bench
sandbox: true
database: {{url: "{url}", passfile: "{cluster.passfile}"}}
migrations: {{dir: "{work / 'app' / 'drizzle'}"}}
backup: {{dir: "{work / 'backups'}", min_copies: 0, jobs: 2}}
""")

        def inv(*argv: str) -> dict:
            return inv_json(inventory, env, *argv)

        def psql(dbname: str, command: str) -> None:
            raw_psql(BIN, f"{base}/{dbname}", env, command)

        manifest = inv("backup")["manifest"]
        dump = work / "backups" / manifest["dump"]["file"]
        plain = work / "seed_dump.sql"
        with open(plain, "wb") as handle:
            subprocess.run([str(BIN / "pg_dump"), url], env=env, check=True, stdout=handle)
        results["dump_bytes"] = {"custom_Z1": dump.stat().st_size, "plain": plain.stat().st_size}

        names = ("raw_pg_restore_j2", "seed_psql_plain", "inv_rollback_full", "inv_rollback_downtime",
                 "inv_rollback_online", "inv_rollback_online_downtime")
        times: dict[str, list[float]] = {k: [] for k in names}
        breakdowns: list[dict] = []
        for round_no in range(args.rounds):
            times["raw_pg_restore_j2"].append(raw_restore_seconds(BIN, cluster, env, dump, f"raw_restore_{round_no}"))

            seed = f"seed_copy_{round_no}"
            psql("postgres", f'CREATE DATABASE "{seed}"')  # stands for the production database the seed drops
            started = time.perf_counter()
            psql("postgres", f'DROP DATABASE "{seed}"')
            psql("postgres", f'CREATE DATABASE "{seed}"')
            with open(plain, "rb") as handle:
                subprocess.run([str(BIN / "psql"), "-X", "-q", f"{base}/{seed}"], env=env, check=True, stdin=handle,
                               stdout=subprocess.DEVNULL)
            times["seed_psql_plain"].append(time.perf_counter() - started)
            psql("postgres", f'DROP DATABASE "{seed}"')

            started = time.perf_counter()
            result = inv("rollback", "--full", "--yes", "--backup", manifest["id"])
            times["inv_rollback_full"].append(time.perf_counter() - started)
            times["inv_rollback_downtime"].append(result["downtime_seconds"])
            assert result["ok"], result["checks"]
            breakdowns.append(result["timings"])
            psql("postgres", f'DROP DATABASE "{result["kept_db"]}"')  # the benchmark's cleanup; the tool never drops it

            started = time.perf_counter()  # --online: the app would serve during the restore; stopped for the swap only
            result = inv("rollback", "--full", "--online", "--yes", "--backup", manifest["id"])
            times["inv_rollback_online"].append(time.perf_counter() - started)
            times["inv_rollback_online_downtime"].append(result["downtime_seconds"])
            assert result["ok"], result["checks"]
            psql("postgres", f'DROP DATABASE "{result["kept_db"]}"')
            print(f"round {round_no + 1}: " + ", ".join(f"{k} {v[-1]:.1f}s" for k, v in times.items()), flush=True)

        best = {k: round(min(v), 2) for k, v in times.items()}
        results["seconds"] = {k: [round(x, 2) for x in v] for k, v in times.items()}
        results["best"] = best
        results["inv_rollback_timings"] = breakdowns
        results["ratios"] = {
            "inv_rollback_vs_raw_pg_restore_j2": round(best["inv_rollback_full"] / best["raw_pg_restore_j2"], 2),
            "seed_psql_vs_inv_rollback": round(best["seed_psql_plain"] / best["inv_rollback_full"], 2),
        }
        out = ROOT / "bench" / "results" / "rollback.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
        print("\n| contender | best of %d (s) |\n| --- | ---: |" % args.rounds)
        for k in names:
            print(f"| {k} | {best[k]:.2f} |")
        print(f"\nratios: {results['ratios']}\ninv rollback breakdown (best round): "
              + json.dumps(min(breakdowns, key=lambda b: sum(b.values()))))
    finally:
        cluster.destroy()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
