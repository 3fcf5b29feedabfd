"""Benchmark: `inv backup` against the raw tools, side by side in one run (not a test).

    python bench/bench_backup.py [--scale 15000] [--rounds 2] [--keep]

Builds a throwaway embedded PostgreSQL 18 cluster (fsync off) with the sandbox's legacy
schema and fixture data at `--scale` (15000 ≈ 1,020,000 users, 5.6 M rows), then measures,
alternating the contenders in each round (best of `--rounds` reported):

  1. raw `pg_dump -Fc -f FILE` (gzip level 6, pg_dump's default) and raw `pg_dump -Fc -Z1`
  2. `inv backup` (dump + integrity + one-pass sha256 + 2 verified local copies; gzip level 1
     by default) and `inv backup --compress 6` (same compression as raw `pg_dump -Fc`)
  3. the seed's manual sequence: plain `pg_dump > FILE.sql`, 3 × `grep -c "COPY public.X"`, 2 × `cp`
  4. `inv backup --verify-restore`: its restore step (create scratch + pg_restore -j 2 + count + drop)
     vs raw `createdb` + `pg_restore -j 2 -d` of the same dump.

Prints a Markdown table and writes bench/results/backup.json. The password is in a 0600
passfile; nothing here touches the sandbox or any other database.
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
from _sandbox import bench_arguments, client_env, cluster_url, load_sandbox, two_copies_inventory  # noqa: E402

BIN = default_bin_dir()
DB = "bench_db"


def timed(argv: list[str] | str, env: dict[str, str], **kw) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=kw.pop("stdout", subprocess.DEVNULL), **kw)
    return time.perf_counter() - started


def main() -> None:
    args = bench_arguments(rounds=2).parse_args()

    loaded = load_sandbox("pgrunbook-bench-", scale=args.scale, state="legacy", dbname=DB)
    work, cluster, rows = loaded.work, loaded.cluster, loaded.rows
    results: dict[str, object] = {"scale": args.scale, "cpus": os.cpu_count(), "load_seconds": loaded.load_seconds, "rows": rows}
    try:
        env, url = client_env(cluster), cluster_url(cluster, DB)
        inventory = two_copies_inventory(work, cluster, url)
        def inv_backup(*extra: str) -> tuple[float, dict]:
            started = time.perf_counter()
            out = subprocess.run([sys.executable, "-m", "invoke", "backup", "-i", str(inventory), "--json", *extra], cwd=ROOT, env=env,
                                 capture_output=True, text=True)
            took = time.perf_counter() - started
            if out.returncode != 0:
                raise SystemExit(f"inv backup {' '.join(extra)} failed: {out.stderr[-2000:]}")
            return took, json.loads(out.stdout)["manifest"]

        def clean() -> None:
            for p in (work / "backups").glob("*"):
                if p.is_file():  # backups/runs holds the run journals, kept
                    p.unlink()
            for p in (work / "copies").rglob("*.dump"):
                p.unlink()

        names = ("raw_pg_dump_Fc", "raw_pg_dump_Fc_Z1", "inv_backup", "inv_backup_compress6", "seed_manual",
                 "inv_backup_verify_restore", "verify_restore_step", "verify_restore_pg_restore_only", "raw_pg_restore_j2")
        times: dict[str, list[float]] = {k: [] for k in names}
        sizes: dict[str, int] = {}
        for round_no in range(args.rounds):
            raw = work / f"raw{round_no}.dump"
            times["raw_pg_dump_Fc"].append(timed([str(BIN / "pg_dump"), "-Fc", "-f", str(raw), url], env))
            sizes["custom_Z6"] = raw.stat().st_size
            raw.unlink()
            times["raw_pg_dump_Fc_Z1"].append(timed([str(BIN / "pg_dump"), "-Fc", "-Z1", "-f", str(raw), url], env))
            sizes["custom_Z1"] = raw.stat().st_size
            raw.unlink()

            took, plain_manifest = inv_backup()
            times["inv_backup"].append(took)
            same_dump = work / "backups" / plain_manifest["dump"]["file"]  # what --verify-restore restores (same settings)
            kept = work / "kept.dump"
            shutil.copyfile(same_dump, kept)
            clean()
            took, _ = inv_backup("--compress", "6")
            times["inv_backup_compress6"].append(took)
            clean()

            sql = work / f"seed{round_no}.sql"
            started = time.perf_counter()
            with open(sql, "wb") as handle:
                subprocess.run([str(BIN / "pg_dump"), url], env=env, check=True, stdout=handle)
            for table in ("users", "campaigns", "challenges"):
                subprocess.run(["grep", "-c", f"COPY public.{table}", str(sql)], check=True, stdout=subprocess.DEVNULL)
            for copy in ("a", "b"):
                subprocess.run(["cp", str(sql), str(work / f"seed{round_no}.{copy}.sql")], check=True)
            times["seed_manual"].append(time.perf_counter() - started)
            sizes["plain"] = sql.stat().st_size
            for p in work.glob(f"seed{round_no}*.sql"):
                p.unlink()

            def raw_restore() -> None:
                target = f"bench_restore_{round_no}"
                started = time.perf_counter()
                subprocess.run([str(BIN / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", target], env=env, check=True)
                subprocess.run([str(BIN / "pg_restore"), "-j", "2", "--no-owner", "--no-acl", "-d",
                                f"postgresql://postgres@127.0.0.1:{cluster.port}/{target}", str(kept)], env=env, check=True)
                times["raw_pg_restore_j2"].append(time.perf_counter() - started)
                subprocess.run([str(BIN / "dropdb"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", target], env=env, check=True)

            if round_no % 2:  # alternate which restore goes first: the one after a dump meets its dirty pages and checkpoints
                raw_restore()
            took, manifest = inv_backup("--verify-restore")
            times["inv_backup_verify_restore"].append(took)
            times["verify_restore_step"].append(manifest["restore_verification"]["seconds"])
            times["verify_restore_pg_restore_only"].append(manifest["restore_verification"]["restore_seconds"])
            if not round_no % 2:
                raw_restore()
            kept.unlink()
            clean()
            print(f"round {round_no + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()), flush=True)

        best = {k: min(v) for k, v in times.items()}
        results["seconds"] = {k: [round(x, 2) for x in v] for k, v in times.items()}
        results["best"] = {k: round(v, 2) for k, v in best.items()}
        results["sizes"] = sizes
        results["ratios"] = {
            "inv backup (gzip 1) / raw pg_dump -Fc -Z1 (same compression)": round(best["inv_backup"] / best["raw_pg_dump_Fc_Z1"], 2),
            "inv backup --compress 6 / raw pg_dump -Fc (same compression)": round(best["inv_backup_compress6"] / best["raw_pg_dump_Fc"], 2),
            "inv backup (default) / raw pg_dump -Fc (default)": round(best["inv_backup"] / best["raw_pg_dump_Fc"], 2),
            "inv backup (default) / seed manual sequence": round(best["inv_backup"] / best["seed_manual"], 2),
            "verify-restore step / raw pg_restore -j 2 (same dump)": round(best["verify_restore_step"] / best["raw_pg_restore_j2"], 2),
        }
        out_dir = ROOT / "bench" / "results"
        out_dir.mkdir(exist_ok=True)
        (out_dir / "backup.json").write_text(json.dumps(results, indent=2) + "\n")
        print("\n| measure | best of {} (s) | all runs (s) |\n| --- | ---: | --- |".format(args.rounds))
        for k, v in times.items():
            print(f"| {k} | {best[k]:.2f} | {', '.join(f'{x:.2f}' for x in v)} |")
        print("\n| ratio | value | target |\n| --- | ---: | --- |")
        targets = ["≤ 1.3", "≤ 1.3", "≤ 1.3", "< 1 (faster)", "≤ 1.2"]
        for (k, v), t in zip(results["ratios"].items(), targets):
            print(f"| {k} | {v} | {t} |")
        print("\nsizes: " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sizes.items()))
    finally:
        cluster.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
