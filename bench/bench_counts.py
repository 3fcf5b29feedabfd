"""Benchmark: what counting every table in the backup's snapshot costs (not a test).

    python bench/bench_counts.py [--scale 15000] [--rounds 3] [--connections 1,2,3] [--keep] [--reuse DIR]

Builds a throwaway embedded PostgreSQL 18 cluster (fsync off, bench/_sandbox.py) with the
sandbox's legacy schema and fixture data at `--scale` (15000 ≈ 1,020,000 users, 5.6 M rows),
then, side by side in each round (the order rotates from round to round, so that no
contender always follows the same one):

  - raw `pg_dump -Fc -Z1 -f FILE` (the same compression as `inv backup`'s default);
  - `inv backup` with `backup.count: critical` (the critical tables, users by role and the
    ledger: what the backup counted before every table was);
  - `inv backup` counting every table (the default) on 1, 2, ... sessions sharing the
    dump's exported snapshot (`backup.count_connections`).

No copy target (`min_copies: 0`): copies only lengthen the backup, so the overhead ratio
measured here is the least favourable one. Each contender's CPU time is measured besides its
wall time — the client's (the `inv backup` or pg_dump process and its children, from
`getrusage`) plus the server's (every process of this cluster, sampled from /proc every
50 ms) —, because on a shared machine wall times swing with the neighbours' load while
CPU seconds do not. Also measured once the database is idle: the
counts alone (one session, then two sharing a snapshot) — the extra work migrate's pre-state
snapshot and validate's after snapshot now do.

Prints Markdown tables and writes bench/results/counts.json. Nothing here touches the
sandbox or any other database.
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


def main() -> None:
    parser = bench_arguments(rounds=3)
    parser.add_argument("--connections", default="1,2", help="count_connections values to measure, comma-separated")
    parser.add_argument("--reuse", type=Path, help="the folder of a --keep run whose cluster still runs (skips the load)")
    args = parser.parse_args()
    sessions = [int(x) for x in args.connections.split(",")]

    loaded = _reuse(args.reuse) if args.reuse else load_sandbox("pgrunbook-bench-counts-", scale=args.scale, state="legacy", dbname=DB)
    work, cluster = loaded.work, loaded.cluster
    results: dict[str, object] = {"scale": args.scale, "cpus": os.cpu_count(), "load_seconds": loaded.load_seconds,
                                  "rows": loaded.rows, "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    try:
        env, url = client_env(cluster), cluster_url(cluster, DB)

        def inventory(name: str, count: str, connections: int) -> Path:
            path = work / f"{name}.yml"
            path.write_text(
                f"""name: bench
sandbox: true
database: {{url: "{url}", passfile: "{cluster.passfile}"}}
migrations: {{dir: "{work / 'app' / 'drizzle'}"}}
backup:
  dir: "{work / 'backups'}"
  min_copies: 0
  count: {count}
  count_connections: {connections}
"""
            )
            return path

        server = ServerCpu(cluster.data_dir)

        def inv_backup(inv: Path) -> tuple[float, dict]:
            started = time.perf_counter()
            with server, ClientCpu() as client:
                out = subprocess.run([sys.executable, "-m", "invoke", "backup", "-i", str(inv), "--json"], cwd=ROOT, env=env,
                                     capture_output=True, text=True)
            took = time.perf_counter() - started
            cpu_seconds.append((client.seconds, server.seconds))
            if out.returncode != 0:
                raise SystemExit(f"inv backup ({inv.name}) failed: {out.stderr[-2000:]}")
            manifest = json.loads(out.stdout)["manifest"]
            for p in (work / "backups").glob("*"):
                p.unlink()
            return took, manifest

        def raw_dump() -> tuple[float, dict]:
            target = work / "raw.dump"
            started = time.perf_counter()
            with server, ClientCpu() as client:
                subprocess.run([str(BIN / "pg_dump"), "-Fc", "-Z1", "-f", str(target), url], env=env, check=True)
            took = time.perf_counter() - started
            cpu_seconds.append((client.seconds, server.seconds))
            target.unlink()
            return took, {}

        contenders = {"raw pg_dump -Fc -Z1": raw_dump,
                      "inv backup, count: critical": lambda: inv_backup(inventory("critical", "critical", 1))}
        for n in sessions:
            contenders[f"inv backup, every table, {n} session(s)"] = lambda n=n: inv_backup(inventory(f"all{n}", "all", n))
        names = list(contenders)
        times: dict[str, list[float]] = {k: [] for k in names}
        count_seconds: dict[str, list[float]] = {k: [] for k in names}
        cpu: dict[str, list[tuple[float, float]]] = {k: [] for k in names}
        cpu_seconds: list[tuple[float, float]] = []
        tables_counted: dict[str, int] = {}
        for round_no in range(args.rounds):
            order = names[round_no % len(names):] + names[:round_no % len(names)]
            for name in order:
                took, manifest = contenders[name]()
                times[name].append(took)
                cpu[name].append(cpu_seconds.pop())
                if manifest:
                    count_seconds[name].append(manifest["counts"].get("seconds") or 0.0)
                    tables_counted[name] = len(manifest["counts"]["tables"])
            print(f"round {round_no + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s (cpu {sum(cpu[k][-1]):.2f}s)" for k, v in times.items()),
                  flush=True)

        idle = _idle_counts(cluster, url)
        best = {k: min(v) for k, v in times.items()}
        median = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
        base = "inv backup, count: critical"
        overhead = {}
        for n in sessions:
            name = f"inv backup, every table, {n} session(s)"
            per_round = [round((a - b) / a, 3) for a, b in zip(times[name], times[base])]
            overhead[name] = {"best": round((best[name] - best[base]) / best[name], 3),
                              "median": round((median[name] - median[base]) / median[name], 3),
                              "median_of_rounds": sorted(per_round)[len(per_round) // 2], "per_round": per_round}
        results.update({
            "seconds": {k: [round(x, 2) for x in v] for k, v in times.items()},
            "best": {k: round(v, 2) for k, v in best.items()},
            "median": {k: round(v, 2) for k, v in median.items()},
            "count_seconds_during_dump": {k: [round(x, 2) for x in v] for k, v in count_seconds.items() if v},
            "tables_counted": tables_counted,
            "overhead_vs_critical": overhead,
            "idle_counts": idle,
            "cpu_seconds": {k: [{"client": round(c, 2), "server": round(sv, 2)} for c, sv in v] for k, v in cpu.items()},
            "cpu_overhead_vs_critical": _cpu_overhead(cpu, base, [f"inv backup, every table, {n} session(s)" for n in sessions]),
        })
        out_dir = ROOT / "bench" / "results"
        out_dir.mkdir(exist_ok=True)
        (out_dir / "counts.json").write_text(json.dumps(results, indent=2) + "\n")
        print(f"\n| what | best of {args.rounds} | median | all rounds | counting (wall, during the dump) |\n| --- | ---: | ---: | --- | --- |")
        for k in names:
            counting = ", ".join(f"{x:.2f}" for x in count_seconds[k]) if count_seconds[k] else "–"
            print(f"| {k} | {best[k]:.2f} s | {median[k]:.2f} s | {', '.join(f'{x:.2f}' for x in times[k])} | {counting} |")
        print("\n| overhead of every table vs critical, share of the backup's time | best vs best | median vs median | "
              "median of the rounds | per round |\n| --- | ---: | ---: | ---: | --- |")
        for k, v in overhead.items():
            print(f"| {k} | {v['best']:.1%} | {v['median']:.1%} | {v['median_of_rounds']:.1%} | {', '.join(f'{x:.1%}' for x in v['per_round'])} |")
        print("\n| CPU seconds (client + server) | median | all rounds |\n| --- | ---: | --- |")
        for k in names:
            totals = [c + sv for c, sv in cpu[k]]
            print(f"| {k} | {sorted(totals)[len(totals) // 2]:.2f} | {', '.join(f'{c:.2f} + {sv:.2f}' for c, sv in cpu[k])} |")
        for k, v in results["cpu_overhead_vs_critical"].items():
            print(f"CPU overhead of {k}: median {v['median']:.1%}, per round {', '.join(f'{x:.1%}' for x in v['per_round'])}")
        print("\nidle database, counts alone: " + ", ".join(f"{k} {v:.2f}s" for k, v in idle.items()))
    finally:
        cluster.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def _reuse(work: Path):  # noqa: ANN202
    """A --keep folder: its cluster (started again on a free port if it was stopped), its password from the passfile."""
    from _sandbox import Loaded

    from pgrunbook.sandbox.cluster import Cluster, free_port

    pg = work / "pg"
    pidfile = pg / "data" / "postmaster.pid"
    port = int(pidfile.read_text().splitlines()[3]) if pidfile.exists() else free_port()
    password = (pg / "pgpass").read_text().strip().split(":", 4)[4]
    cluster = Cluster(pg, port, password)
    cluster.ensure_running()
    print(f"reusing the cluster in {work} (port {port})", flush=True)
    return Loaded(cluster, work, work / "app" / "drizzle", DB, {}, 0.0)


class ClientCpu:
    """CPU seconds (user + system) of the children this process waited for inside the block."""

    def __enter__(self) -> ClientCpu:
        import resource

        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        self._start = usage.ru_utime + usage.ru_stime
        return self

    def __exit__(self, *exc: object) -> None:
        import resource

        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.seconds = usage.ru_utime + usage.ru_stime - self._start


class ServerCpu:
    """CPU seconds of every process of one cluster (the postmaster's children), sampled from /proc every 50 ms.

    A process's last sample stands for its total: the ones that matter here (the COPY backend,
    the counting sessions) live for seconds, a sample misses at most 50 ms of each.
    """

    def __init__(self, data_dir: Path) -> None:
        self.postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
        self.tick = os.sysconf("SC_CLK_TCK")

    def _sample(self) -> dict[int, float]:
        out = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) in (self.postmaster,) or int(pid) == self.postmaster:
                out[int(pid)] = (int(fields[11]) + int(fields[12])) / self.tick
        return out

    def __enter__(self) -> ServerCpu:
        import threading

        self._first = self._sample()
        self._last = dict(self._first)
        self._stop = threading.Event()

        def loop() -> None:
            while not self._stop.wait(0.05):
                self._last.update(self._sample())

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._last.update(self._sample())
        self.seconds = sum(cpu - self._first.get(pid, 0.0) for pid, cpu in self._last.items())


def _cpu_overhead(cpu: dict[str, list[tuple[float, float]]], base: str, names: list[str]) -> dict[str, dict]:
    out = {}
    for name in names:
        per_round = [round((sum(a) - sum(b)) / sum(a), 3) for a, b in zip(cpu[name], cpu[base])]
        out[name] = {"median": sorted(per_round)[len(per_round) // 2], "per_round": per_round}
    return out


def _idle_counts(cluster, url: str) -> dict[str, float]:  # noqa: ANN001
    """Every table counted with nothing else running: one session (migrate's and validate's way), then shared snapshots."""
    from pgrunbook.backup.snapshot import count_rows, count_rows_shared, exported_snapshot
    from pgrunbook.config import DatabaseSettings, RoleCount
    from pgrunbook.pg import connect, read_only

    db = DatabaseSettings(url=url, passfile=cluster.passfile)
    server = ServerCpu(cluster.data_dir)
    out: dict[str, float] = {}

    def measure(label: str, action) -> None:  # noqa: ANN001
        started = time.perf_counter()
        with server:
            action()
        out[label] = round(time.perf_counter() - started, 2)
        out[f"{label}: server CPU"] = round(server.seconds, 2)

    def one_session() -> None:
        with connect(db) as conn, read_only(conn):
            count_rows(conn, RoleCount())

    def shared(n: int) -> None:
        with exported_snapshot(db) as snap:
            count_rows_shared(snap, db, RoleCount(), connections=n)

    measure("one session (count_rows, as migrate and validate)", one_session)
    measure("one session, again (warm)", one_session)
    for n in (1, 2, 3):
        measure(f"{n} session(s) sharing an exported snapshot", lambda n=n: shared(n))
    return out


if __name__ == "__main__":
    main()
