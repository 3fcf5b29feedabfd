"""Benchmark: `inv backup` to an S3 target, the copy uploaded while pg_dump streams vs after it (issue 11), in one run (not a test).

    python bench/bench_backup_s3.py [--scale 1500] [--rounds 3] [--keep]

A throwaway embedded PostgreSQL cluster with the sandbox's legacy schema and data at `--scale`
(1500 ≈ 102,000 users) and moto's S3 server in its own process on 127.0.0.1 (a local network:
the upload is as fast as it gets, so the gain measured is the least there is). Each round runs,
alternating which goes first, `commands.backup` (warm process; custom, gzip 1) with one S3
target (`multipart_threshold_mb: 5`, `min_copies: 1`):

  streamed   the copy is uploaded during the dump (`S3BucketTarget.stage`), completed after it
  after      `stage` switched off: the copy is `put` after the dump (boto3, 4 threads), as before

Prints each round and the medians; writes bench/results/backup_s3.json.
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

from pgrunbook.sandbox.cluster import free_port  # noqa: E402
from _sandbox import bench_arguments, cluster_url, load_sandbox  # noqa: E402

DB = "bench_db"


def main() -> None:
    args = bench_arguments(rounds=3, scale=1500).parse_args()
    loaded = load_sandbox("pgrunbook-bench-s3-", scale=args.scale, state="legacy", dbname=DB)
    work, cluster = loaded.work, loaded.cluster
    port = free_port()
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        import boto3

        os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
                           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "PGPASSFILE": str(cluster.passfile)})
        endpoint = f"http://127.0.0.1:{port}"
        s3 = boto3.client("s3", endpoint_url=endpoint)
        deadline = time.monotonic() + 20
        while True:
            try:
                s3.create_bucket(Bucket="bench")
                break
            except Exception:  # noqa: BLE001 - the server is starting
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        inventory = work / "bench.yml"
        inventory.write_text(f"""name: bench
sandbox: true
database: {{url: "{cluster_url(cluster, DB)}", passfile: "{cluster.passfile}"}}
migrations: {{dir: "{work / 'app' / 'drizzle'}"}}
backup:
  dir: "{work / 'backups'}"
  min_copies: 1
  targets:
    - {{name: cloud, type: s3, bucket: bench, prefix: pg/, endpoint_url: "{endpoint}", multipart_threshold_mb: 5}}
""")
        from pgrunbook import commands
        from pgrunbook.config import load_config
        from pgrunbook.targets.s3 import S3BucketTarget

        cfg = load_config(inventory)
        stage = S3BucketTarget.stage

        def one(mode: str) -> dict:
            S3BucketTarget.stage = stage if mode == "streamed" else None  # type: ignore[method-assign, assignment]
            events: list = []
            started = time.perf_counter()
            result = commands.backup(cfg, events.append)
            seconds = time.perf_counter() - started
            m = result.manifest
            cloud = m.copies[0]
            assert result.ok and cloud.verified, cloud.error
            abandoned = any("slower than the dump" in e.message for e in events)
            for p in (work / "backups").glob("*"):
                if p.is_file():
                    p.unlink()
            for o in s3.list_objects_v2(Bucket="bench").get("Contents", []):
                s3.delete_object(Bucket="bench", Key=o["Key"])
            return {"mode": mode, "seconds": round(seconds, 2), "dump_seconds": m.dump["seconds"], "size": m.dump["size"],
                    "parts": len(cloud.part_sha256), "abandoned": abandoned}

        rounds = []
        for n in range(args.rounds):
            order = ("streamed", "after") if n % 2 == 0 else ("after", "streamed")
            row = {r["mode"]: r for r in (one(mode) for mode in order)}
            rounds.append(row)
            print(json.dumps(row), flush=True)
        S3BucketTarget.stage = stage  # type: ignore[method-assign]
        summary = {mode: statistics.median(r[mode]["seconds"] for r in rounds) for mode in ("streamed", "after")}
        summary["dump_seconds_streamed"] = statistics.median(r["streamed"]["dump_seconds"] for r in rounds)
        summary["dump_seconds_after"] = statistics.median(r["after"]["dump_seconds"] for r in rounds)
        summary["size"] = rounds[0]["streamed"]["size"]
        summary["users"] = loaded.rows.get("users")
        summary["load_average"] = os.getloadavg()[0]
        print("median:", json.dumps(summary))
        out = ROOT / "bench" / "results" / "backup_s3.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps({"scale": args.scale, "rounds": rounds, "median": summary}, indent=2) + "\n")
    finally:
        moto.terminate()
        moto.wait(timeout=10)
        cluster.destroy()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
