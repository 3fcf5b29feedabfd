"""pgrunbook on the largest real-world corpus project (issue 12): `inv analyze` and `inv verify` on Dokploy's
186 migrations, and the fingerprint of a 1M-row uuid-keyed table against the floor of any content check.

    python bench/bench_apps.py [--rounds 5] [--rows 1000000] [--skip-fingerprint]

Two databases of a throwaway embedded cluster: a new one (no ledger: analyze plans and lints all 186
migrations, squawk included) and one migrated part-way by drizzle-orm 0.45.4's own migrator (170
applied, 16 pending: the e2e test's state; needs Node and tests/interop's npm packages). Each is timed
as an operator runs it, `inv <task> -i inventory.yml -p playbook.yml --json` in a new process (Python
start and imports included), and in process (`commands.analyze` / `commands.verify` once warm).
Medians of --rounds after one warm-up. Targets: analyze < 2 s, verify < 1 s. The fingerprint part is
bench/bench_fingerprint.py (target: within 1.5x of `SELECT sum(length(t::text)) FROM t`).
Results: bench/results/apps.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import yaml  # noqa: E402

from pgrunbook import commands  # noqa: E402
from pgrunbook.config import load_config  # noqa: E402
from pgrunbook.sandbox.cluster import Cluster, free_port  # noqa: E402

PROJECT = ROOT / "tests" / "realworld" / "dokploy"
INTEROP = ROOT / "tests" / "interop"
PART_WAY = 170


def timed(fn, rounds: int) -> float:
    fn()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return round(statistics.median(samples), 3)


def inv(task: str, inventory: Path, playbook: Path, env: dict[str, str]) -> None:
    """`inv TASK -i … -p … --json` in a new process; analyze may refuse (exit 3): only its time matters here."""
    done = subprocess.run([sys.executable, "-m", "invoke", task, "-i", str(inventory), "-p", str(playbook), "--json"], cwd=ROOT,
                          env=env, capture_output=True, text=True)
    if done.returncode not in (0, 3):
        raise SystemExit(f"inv {task} failed ({done.returncode}): {done.stderr[-2000:]}")


def part_way(folder: Path, dest: Path, entries: int) -> Path:
    shutil.copytree(folder, dest)
    journal = json.loads((dest / "meta" / "_journal.json").read_text())
    journal["entries"] = journal["entries"][:entries]
    (dest / "meta" / "_journal.json").write_text(json.dumps(journal))
    return dest


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-fingerprint", action="store_true")
    args = parser.parse_args()
    from tests.realworld.test_corpus_e2e import CASES, _pinned

    playbook_data = _pinned(next(c for c in CASES if c.project == "dokploy" and c.applied_by_drizzle == PART_WAY)).playbook
    root = Path(tempfile.mkdtemp(prefix="pgrunbook-bench-apps-"))
    root.chmod(0o755)
    cluster = Cluster(root, free_port(), "bench-apps-pw")
    cluster.ensure_running()
    from pgrunbook.drizzle import load_migrations

    results: dict[str, object] = {"project": "dokploy", "migrations": len(load_migrations(PROJECT / "drizzle").entries),
                                  "rounds": args.rounds, "load_average": os.getloadavg()[0]}
    try:
        work = root / "work"
        folder = shutil.copytree(PROJECT / "drizzle", work / "drizzle")
        playbook = work / "playbook.yml"
        playbook.write_text(yaml.safe_dump(playbook_data))
        env = {**os.environ, "PGRB_BENCH_PW": cluster.password}
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE fresh")
            conn.execute("CREATE DATABASE deployed")
        done = subprocess.run([shutil.which("node") or "node", str(INTEROP / "drizzle.mjs"), "migrate",
                               str(part_way(folder, work / "deployed", PART_WAY))],
                              env={**os.environ, "DATABASE_URL": cluster.url("deployed")}, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"drizzle's migrator failed (cd tests/interop && npm ci): {done.stderr[-1500:]}")
        for db, label in (("fresh", "new database (186 pending)"), ("deployed", f"part-way ({PART_WAY} applied, 16 pending)")):
            inventory = work / f"inventory-{db}.yml"
            inventory.write_text(yaml.safe_dump({
                "name": db, "database": {"url": f"postgresql://postgres:${{PGRB_BENCH_PW}}@127.0.0.1:{cluster.port}/{db}"},
                "migrations": {"dir": str(folder)}, "backup": {"dir": str(work / "backups"), "min_copies": 0}}))
            os.environ["PGRB_BENCH_PW"] = cluster.password
            cfg = load_config(inventory, playbook)
            row = {
                # the floor of any task: a new Python process, invoke and tasks.py (machine load shows here first)
                "inv_list_s": timed(lambda: subprocess.run([sys.executable, "-m", "invoke", "--list"], cwd=ROOT, env=env,
                                                           capture_output=True, check=True), args.rounds),
                "inv_analyze_s": timed(lambda: inv("analyze", inventory, playbook, env), args.rounds),
                "inv_verify_s": timed(lambda: inv("verify", inventory, playbook, env), args.rounds),
                # in process, warm: the files parsed and the plan's lint computed once per process (cached)
                "analyze_in_process_warm_s": timed(lambda: commands.analyze(cfg), args.rounds),
                "verify_in_process_warm_s": timed(lambda: commands.verify(cfg), args.rounds),
            }
            report = commands.analyze(cfg)
            row["blocking_findings"] = sum(len(a.blocking) for a in report.analyses)
            row["analysis"] = "allowed" if report.ok else "refused"
            results[label] = row
            print(label, json.dumps(row))
    finally:
        cluster.destroy()
        shutil.rmtree(root, ignore_errors=True)
    out = ROOT / "bench" / "results" / "apps.json"
    if args.skip_fingerprint and out.exists():
        results["fingerprint"] = json.loads(out.read_text()).get("fingerprint")
    if not args.skip_fingerprint:
        done = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_fingerprint.py"), "--rows", str(args.rows),
                               "--rounds", str(args.rounds)], capture_output=True, text=True, check=True)
        results["fingerprint"] = json.loads(done.stdout.strip().splitlines()[-1])
        print("fingerprint", json.dumps(results["fingerprint"]))
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
