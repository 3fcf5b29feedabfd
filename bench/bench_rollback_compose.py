"""Benchmark: the app's downtime during `inv rollback --full` under Docker Compose vs the raw restore (not a test).

    DOCKER_HOST=unix:///path/docker.sock python bench/bench_rollback_compose.py [--scale 15000] [--rounds 2] [--keep]

Needs a running Docker engine and `docker-compose` (`.ci/run` installs both; start `dockerd`
yourself without systemd). Builds a throwaway embedded PostgreSQL 18 cluster with the
sandbox's legacy data at `--scale` (15000 ≈ 1,020,000 users), runs the sandbox API over it as
the `backend` service of a compose project (`service.sandbox_compose`), takes one `inv backup`,
then in each round:

  1. raw `createdb` + `pg_restore -j 2 -d` of the same custom dump (what the rollback restores);
  2. `inv rollback --full --yes --json` with `app.controller: compose`: compose stop (until the
     API's port refuses connections), restore beside, count, swap, compose start (until docker's
     health check passes), ANALYZE, counts. Its `downtime_seconds` runs from the stop command's
     launch to the health check passing.

Goal (issue 15): downtime ≤ 1.05 x raw restore + the compose stop/start time. Best of
`--rounds` is reported; bench/results/rollback_compose.json holds every figure.
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
from pgrunbook.sandbox.cluster import free_port  # noqa: E402
from pgrunbook.service.sandbox_compose import SERVICE, create_service, default_binary, write_compose_file  # noqa: E402
from _sandbox import bench_arguments, client_env, cluster_url, inv_json, load_sandbox, raw_restore_seconds  # noqa: E402
from _sandbox import psql as raw_psql  # noqa: E402

BIN = default_bin_dir()
DB = "bench_db"
PROJECT = "pgrunbook-bench-rb"


def main() -> None:
    args = bench_arguments(rounds=2).parse_args()
    binary = default_binary()
    loaded = load_sandbox("pgrunbook-bench-rbc-", scale=args.scale, state="legacy", dbname=DB)
    work, cluster, rows = loaded.work, loaded.cluster, loaded.rows
    results: dict[str, object] = {"scale": args.scale, "cpus": os.cpu_count(), "compose": binary, "rows": rows}
    port = free_port()
    compose = write_compose_file(work / "compose", port=port, dsn=f"postgresql://postgres@127.0.0.1:{cluster.port}/{DB}",
                                 passfile=cluster.passfile)
    base_compose = [*binary.split(), "-f", str(compose), "-p", PROJECT]
    try:
        env, base, url = client_env(cluster), cluster_url(cluster), cluster_url(cluster, DB)
        create_service(compose, project=PROJECT, binary=binary)
        subprocess.run([*base_compose, "start", SERVICE], check=True, capture_output=True)
        inventory = work / "bench.yml"
        inventory.write_text(f"""name: bench-compose
sandbox: true
database: {{url: "{url}", passfile: "{cluster.passfile}"}}
migrations: {{dir: "{work / 'app' / 'drizzle'}"}}
backup: {{dir: "{work / 'backups'}", min_copies: 0, jobs: 2}}
app:
  controller: compose
  compose: {{file: "{compose}", service: {SERVICE}, binary: {binary}, project: {PROJECT}}}
  health_timeout: 120
api: {{base_url: "http://127.0.0.1:{port}"}}
""")

        def inv(*argv: str) -> dict:
            return inv_json(inventory, env, *argv)

        def psql(dbname: str, command: str) -> None:
            raw_psql(BIN, f"{base}/{dbname}", env, command)

        manifest = inv("backup")["manifest"]
        dump = work / "backups" / manifest["dump"]["file"]
        names = ("raw_pg_restore_j2", "inv_rollback_full", "downtime", "database_part", "compose_part", "stop_app", "start_app", "restore")
        times: dict[str, list[float]] = {k: [] for k in names}
        for round_no in range(args.rounds):
            times["raw_pg_restore_j2"].append(raw_restore_seconds(BIN, cluster, env, dump, f"raw_restore_{round_no}"))

            started = time.perf_counter()
            result = inv("rollback", "--full", "--yes", "--backup", manifest["id"])
            times["inv_rollback_full"].append(time.perf_counter() - started)
            assert result["ok"], result["checks"]
            timings = result["timings"]
            times["downtime"].append(result["downtime_seconds"])
            # While the app is down: the compose stop (from its launch), then the database's part (what
            # raw pg_restore does, plus counting and the swap), then the compose start until healthy.
            database = sum(timings.get(k, 0.0) for k in ("create_db", "restore", "count_restored", "swap"))
            times["database_part"].append(database)
            times["compose_part"].append(result["downtime_seconds"] - database)
            for key in ("stop_app", "start_app", "restore"):
                times[key].append(timings[key])
            psql("postgres", f'DROP DATABASE "{result["kept_db"]}"')  # the benchmark's cleanup; the tool never drops it
            print(f"round {round_no + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()), flush=True)

        results["seconds"] = {k: [round(x, 2) for x in v] for k, v in times.items()}
        best = min(range(args.rounds), key=lambda i: times["downtime"][i])
        raw = min(times["raw_pg_restore_j2"])
        compose_cost = times["compose_part"][best]
        results["best_round"] = {k: round(v[best], 2) for k, v in times.items()}
        results["ratios"] = {
            "downtime_vs_raw_pg_restore_j2": round(times["downtime"][best] / raw, 2),
            "database_part_vs_raw_pg_restore_j2": round(times["database_part"][best] / raw, 2),
            "goal": "downtime <= 1.05 x raw + compose stop/start",
            "goal_met": times["downtime"][best] <= 1.05 * raw + compose_cost,
        }
        out = ROOT / "bench" / "results" / "rollback_compose.json"
        out.write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps({"best_round": results["best_round"], "raw_best": round(raw, 2), "ratios": results["ratios"]}, indent=2))
    finally:
        subprocess.run([*base_compose, "down", "--timeout", "5"], capture_output=True)
        cluster.destroy()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
