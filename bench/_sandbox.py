"""What every benchmark starts from: a throwaway embedded cluster with the fixture loaded.

    from _sandbox import load_sandbox
    loaded = load_sandbox("pgrunbook-bench-x-", scale=15000, state="legacy")
    try: ...  finally: loaded.cluster.destroy()

The cluster gets its own free port, a random password and a /tmp folder the server's
system user can traverse; the fixture is loaded by COPY (about 25-80 s for 1M users).
"""

from __future__ import annotations

import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pgrunbook.sandbox import build_app_database, fresh_app_copy  # noqa: E402
from pgrunbook.sandbox.cluster import Cluster, free_port  # noqa: E402


def bench_arguments(*, rounds: int = 2, scale: int = 15000):  # noqa: ANN201 - argparse.ArgumentParser
    """The options every benchmark takes: --scale, --rounds, --keep (callers add their own)."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=int, default=scale)
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--keep", action="store_true", help="keep the cluster folder")
    return parser


def client_env(cluster: Cluster) -> dict[str, str]:
    """A clean environment for raw client tools: no PG* of the caller's, the cluster's passfile.
    `inv` runs with its bytecode cache, as after `pip install` (a CI image's
    PYTHONDONTWRITEBYTECODE=1 would recompile ~40 modules, 0.13 s, at every process start)."""
    import os

    return {**{k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "PYTHONDONTWRITEBYTECODE"},
            "PGPASSFILE": str(cluster.passfile)}


def cluster_url(cluster: Cluster, dbname: str = "") -> str:
    """postgresql://postgres@127.0.0.1:PORT[/dbname], no password (the passfile has it)."""
    base = f"postgresql://postgres@127.0.0.1:{cluster.port}"
    return f"{base}/{dbname}" if dbname else base


def two_copies_inventory(work: Path, cluster: Cluster, url: str) -> Path:
    """`work/bench.yml`: the sandbox inventory of a backup benchmark, with two verified local copies (disk2, disk3)."""
    inventory = work / "bench.yml"
    inventory.write_text(f"""name: bench
sandbox: true
database: {{url: "{url}", passfile: "{cluster.passfile}"}}
migrations: {{dir: "{work / 'app' / 'drizzle'}"}}
backup:
  dir: "{work / 'backups'}"
  min_copies: 2
  targets:
    - {{name: disk2, type: local, path: "{work / 'copies' / 'disk2'}"}}
    - {{name: disk3, type: local, path: "{work / 'copies' / 'disk3'}"}}
""")
    return inventory


def inv_json(inventory: Path, env: dict[str, str], *argv: str) -> dict:
    """`inv <argv> -i inventory --json` in a subprocess (process start included, as an operator runs it)."""
    import json
    import subprocess

    out = subprocess.run([sys.executable, "-m", "invoke", *argv, "-i", str(inventory), "--json"], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"inv {' '.join(argv)} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout)


def psql(bin_dir: Path, url: str, env: dict[str, str], command: str) -> None:
    """One SQL command through the raw client, quietly, stopping on error."""
    import subprocess

    subprocess.run([str(bin_dir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", command], env=env, check=True,
                   stdout=subprocess.DEVNULL)


def raw_restore_seconds(bin_dir: Path, cluster: Cluster, env: dict[str, str], dump: Path, target: str) -> float:
    """The raw tools' recovery time: `createdb` + `pg_restore -j 2 --no-owner` of `dump` into a new
    database `target` (what a rollback runs, without any check), then drop it (not timed)."""
    import subprocess

    base = cluster_url(cluster)
    started = time.perf_counter()
    subprocess.run([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", target], env=env, check=True)
    subprocess.run([str(bin_dir / "pg_restore"), "-j", "2", "--no-owner", "-d", f"{base}/{target}", str(dump)], env=env, check=True)
    seconds = time.perf_counter() - started
    psql(bin_dir, f"{base}/postgres", env, f'DROP DATABASE "{target}"')
    return seconds


@dataclass(frozen=True)
class Loaded:
    cluster: Cluster
    work: Path
    drizzle_dir: Path
    dbname: str
    rows: dict[str, int]
    load_seconds: float


def load_sandbox(prefix: str, *, scale: int, state: str = "legacy", dbname: str = "bench_db") -> Loaded:
    work = Path(tempfile.mkdtemp(prefix=prefix))
    work.chmod(0o755)
    cluster = Cluster(work / "pg", free_port(), secrets.token_urlsafe(18))
    try:
        cluster.ensure_running()
        drizzle_dir = fresh_app_copy(work / "app")
        started = time.perf_counter()
        rows = build_app_database(cluster, dbname, state, scale=scale, drizzle_dir=drizzle_dir)
        seconds = round(time.perf_counter() - started, 1)
    except BaseException:
        cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)
        raise
    print(f"loaded scale {scale} ({state}): {rows.get('users'):,} users, {sum(rows.values()):,} rows in {seconds}s", flush=True)
    return Loaded(cluster, work, drizzle_dir, dbname, rows, seconds)
