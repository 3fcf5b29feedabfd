"""Benchmark: where `inv backup`'s time goes beyond raw `pg_dump -Fc -Z1` (issue 11), in one run (not a test).

    python bench/bench_backup_overhead.py [--scale 15000] [--rounds 6] [--keep]

A throwaway embedded PostgreSQL 18 cluster (fsync off) with the sandbox's legacy schema and
data at `--scale` (15000 ≈ 1,020,000 users, 5.6 M rows). Each round runs, in an order that
rotates from round to round:

  raw        `pg_dump -Fc -Z1 -f FILE` (the same compression `inv backup` uses by default)
  inv        `inv backup --json` in a new process, as an operator runs it: process start,
             run observation, dump + every table counted in its snapshot + sha256 + archive
             walk + two local copies fsynced and compared + manifest + journal
  engine     the same backup in a warm process (`commands.backup`, as `inv migrate-prod` runs
             it): everything above but the process start
  start      the new process alone: `python -c "import tasks, pgrunbook.cli, ..."`, what
             `inv backup` imports before it connects (Python, invoke, psycopg, pydantic, rich)

Prints each round's ratios to raw and the medians; writes bench/results/backup_overhead.json.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pgrunbook.pg import default_bin_dir  # noqa: E402
from _sandbox import bench_arguments, client_env, cluster_url, load_sandbox, two_copies_inventory  # noqa: E402

BIN = default_bin_dir()
DB = "bench_db"
IMPORTS = "import tasks, pgrunbook.cli, pgrunbook.commands, pgrunbook.console, pgrunbook.config, pgrunbook.backup.engine, pgrunbook.pg"


def main() -> None:
    args = bench_arguments(rounds=6).parse_args()
    loaded = load_sandbox("pgrunbook-bench-bo-", scale=args.scale, state="legacy", dbname=DB)
    work, cluster = loaded.work, loaded.cluster
    try:
        env, url = client_env(cluster), cluster_url(cluster, DB)
        inventory = two_copies_inventory(work, cluster, url)
        os.environ["PGPASSFILE"] = str(cluster.passfile)
        from pgrunbook import commands
        from pgrunbook.config import load_config

        cfg = load_config(inventory)

        def clean() -> None:
            for p in [*(work / "backups").glob("*"), *(work / "copies").rglob("*.dump")]:
                if p.is_file():  # backups/runs holds the run journals, kept
                    p.unlink()

        def raw() -> float:
            started = time.perf_counter()
            subprocess.run([str(BIN / "pg_dump"), "-Fc", "-Z1", "-f", str(work / "raw.dump"), url], env=env, check=True)
            took = time.perf_counter() - started
            (work / "raw.dump").unlink()
            return took

        def inv() -> float:
            started = time.perf_counter()
            out = subprocess.run([sys.executable, "-m", "invoke", "backup", "-i", str(inventory), "--json"], cwd=ROOT, env=env,
                                 capture_output=True, text=True)
            took = time.perf_counter() - started
            if out.returncode != 0:
                raise SystemExit(f"inv backup failed: {out.stderr[-2000:]}")
            clean()
            return took

        def engine() -> float:
            started = time.perf_counter()
            result = commands.backup(cfg)
            took = time.perf_counter() - started
            assert result.ok, result.as_json()
            clean()
            return took

        def start() -> float:
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", IMPORTS], cwd=ROOT, env=env, check=True)
            return time.perf_counter() - started

        contenders = {"raw": raw, "inv": inv, "engine": engine, "start": start}
        times: dict[str, list[float]] = {k: [] for k in contenders}
        order = list(contenders)
        for round_no in range(args.rounds):
            for name in order:
                times[name].append(round(contenders[name](), 3))
            order = order[1:] + order[:1]  # rotate: no contender always follows the same one
            r = times["raw"][-1]
            print(f"round {round_no + 1}: raw {r:.2f}s, inv {times['inv'][-1]:.2f}s ({times['inv'][-1] / r:.2f}x), "
                  f"engine {times['engine'][-1]:.2f}s ({times['engine'][-1] / r:.2f}x), start {times['start'][-1]:.2f}s", flush=True)
        ratios = {k: [round(a / b, 3) for a, b in zip(times[k], times["raw"])] for k in ("inv", "engine")}
        results = {"scale": args.scale, "rows": loaded.rows, "cpus": os.cpu_count(), "seconds": times, "ratios_per_round": ratios,
                   "median_seconds": {k: round(statistics.median(v), 3) for k, v in times.items()},
                   "median_ratio": {k: round(statistics.median(v), 3) for k, v in ratios.items()},
                   "best_ratio": {k: round(min(times[k]) / min(times["raw"]), 3) for k in ("inv", "engine")}}
        out = ROOT / "bench" / "results" / "backup_overhead.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
        print("\n| contender | median (s) | best (s) | median ratio to raw (per round) | best / best |\n| --- | ---: | ---: | ---: | ---: |")
        for k in contenders:
            ratio = results["median_ratio"].get(k)
            best = results["best_ratio"].get(k)
            print(f"| {k} | {results['median_seconds'][k]:.2f} | {min(times[k]):.2f} | {'' if ratio is None else f'{ratio:.2f}x'} | "
                  f"{'' if best is None else f'{best:.2f}x'} |")
    finally:
        cluster.destroy()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
