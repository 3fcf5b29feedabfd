"""Benchmark: `inv backup` to an SSH target, the copy written while pg_dump streams vs after it (issue 11), in one run (not a test).

    python bench/bench_backup_ssh.py [--scale 1500] [--rounds 3] [--keep]

A throwaway embedded PostgreSQL cluster with the sandbox's legacy schema and data at `--scale`
(1500 ≈ 102,000 users) and an OpenSSH sshd of its own on 127.0.0.1 (loopback: the copy is as
fast as it gets on these shared cores, so the gain measured is the least there is). Each round
runs, alternating which goes first, `commands.backup` (warm process; custom, gzip 1) with one SSH
target (`min_copies: 1`):

  streamed   the copy is written over SFTP during the dump (`SftpTarget.stage`), renamed after it
  after      `stage` switched off: the copy is `put` over SFTP after the dump, as before

Both are verified by `sha256sum` on the host. Prints each round and the medians; writes
bench/results/backup_ssh.json.
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

from pgrunbook.sandbox.cluster import free_port, wait_until_accepting  # noqa: E402
from _sandbox import bench_arguments, cluster_url, load_sandbox  # noqa: E402

DB = "bench_db"
SSHD = "/usr/sbin/sshd"


def start_sshd(root: Path) -> tuple[subprocess.Popen, int, Path, Path]:
    """An sshd on 127.0.0.1 accepting one fresh key; returns (process, port, client key, known_hosts)."""
    root.mkdir(mode=0o755)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    for name in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / name)], check=True)
    (root / "authorized_keys").write_text((root / "client_key.pub").read_text())
    (root / "authorized_keys").chmod(0o600)
    port = free_port()
    (root / "sshd_config").write_text(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {root / 'host_key'}
PidFile {root}/sshd.pid
AuthorizedKeysFile {root}/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
Subsystem sftp internal-sftp
LogLevel ERROR
""")
    host_pub = (root / "host_key.pub").read_text().split()
    (root / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(root / "sshd_config")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until_accepting(port, timeout=15)
    return proc, port, root / "client_key", root / "known_hosts"


def main() -> None:
    args = bench_arguments(rounds=3, scale=1500).parse_args()
    loaded = load_sandbox("pgrunbook-bench-ssh-", scale=args.scale, state="legacy", dbname=DB)
    work, cluster = loaded.work, loaded.cluster
    sshd, port, key, known = start_sshd(work / "sshd")
    try:
        import getpass

        os.environ["PGPASSFILE"] = str(cluster.passfile)
        remote = work / "remote"
        inventory = work / "bench.yml"
        inventory.write_text(f"""name: bench
sandbox: true
database: {{url: "{cluster_url(cluster, DB)}", passfile: "{cluster.passfile}"}}
migrations: {{dir: "{work / 'app' / 'drizzle'}"}}
hosts:
  bastion: {{host: 127.0.0.1, port: {port}, user: {getpass.getuser()}, key_file: "{key}", known_hosts: "{known}"}}
backup:
  dir: "{work / 'backups'}"
  min_copies: 1
  targets:
    - {{name: bastion, type: ssh, host: bastion, path: "{remote}"}}
""")
        from pgrunbook import commands
        from pgrunbook.config import load_config
        from pgrunbook.targets.ssh import SftpTarget

        cfg = load_config(inventory)
        stage = SftpTarget.stage
        ticks = os.sysconf("SC_CLK_TCK")

        def sshd_cpu() -> float:
            """CPU seconds of the sshd sessions that ended (children reaped by the listening sshd)."""
            fields = Path(f"/proc/{sshd.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[13]) + int(fields[14])) / ticks

        def one(mode: str) -> dict:
            SftpTarget.stage = stage if mode == "streamed" else None  # type: ignore[method-assign, assignment]
            events: list = []
            cpu, host_cpu = os.times(), sshd_cpu()
            started = time.perf_counter()
            result = commands.backup(cfg, events.append)
            seconds = time.perf_counter() - started
            ours = sum(os.times()[:2]) - sum(cpu[:2])  # this process (pg_dump's reader, hashing, the copy's SSH client)
            time.sleep(0.5)  # the listening sshd reaps the ended session (its CPU lands in its children's times)
            host = sshd_cpu() - host_cpu  # the host's side (sshd, sftp-server): elsewhere in production, on these same 2 cores here
            m = result.manifest
            copy = m.copies[0]
            assert result.ok and copy.verified, copy.error
            abandoned = any("slower than the dump" in e.message for e in events)
            for folder in (work / "backups", remote):
                for p in folder.glob("*"):
                    if p.is_file():
                        p.unlink()
            return {"mode": mode, "seconds": round(seconds, 2), "dump_seconds": m.dump["seconds"], "size": m.dump["size"],
                    "abandoned": abandoned, "cpu_seconds_ours": round(ours, 2), "cpu_seconds_host_sshd": round(host, 2)}

        rounds = []
        for n in range(args.rounds):
            order = ("streamed", "after") if n % 2 == 0 else ("after", "streamed")
            row = {r["mode"]: r for r in (one(mode) for mode in order)}
            rounds.append(row)
            print(json.dumps(row), flush=True)
        SftpTarget.stage = stage  # type: ignore[method-assign]
        summary = {mode: statistics.median(r[mode]["seconds"] for r in rounds) for mode in ("streamed", "after")}
        summary["dump_seconds_streamed"] = statistics.median(r["streamed"]["dump_seconds"] for r in rounds)
        summary["dump_seconds_after"] = statistics.median(r["after"]["dump_seconds"] for r in rounds)
        for key in ("cpu_seconds_ours", "cpu_seconds_host_sshd"):
            for mode in ("streamed", "after"):
                summary[f"{key}_{mode}"] = statistics.median(r[mode][key] for r in rounds)
        summary["size"] = rounds[0]["streamed"]["size"]
        summary["users"] = loaded.rows.get("users")
        summary["load_average"] = os.getloadavg()[0]
        print("median:", json.dumps(summary))
        out = ROOT / "bench" / "results" / "backup_ssh.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps({"scale": args.scale, "rounds": rounds, "median": summary}, indent=2) + "\n")
    finally:
        sshd.terminate()
        sshd.wait(timeout=10)
        cluster.destroy()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
