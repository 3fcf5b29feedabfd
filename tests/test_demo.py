"""`inv demo` and `inv demo --break`, as a user runs them, in a sandbox of their own.

Each runs the real command line (`inv demo`) in a subprocess with its own sandbox folder
and free ports, so a developer's `.sandbox/` is never touched.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from pgrunbook.config import PROJECT_ROOT
from pgrunbook.sandbox.cluster import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def demo_env():
    root = Path(tempfile.mkdtemp(prefix="pgrunbook-demo-"))
    root.chmod(0o755)
    env = {**os.environ, "PGRUNBOOK_SANDBOX_DIR": str(root), "PGRUNBOOK_SANDBOX_PORT": str(free_port()),
           "PGRUNBOOK_DEMO_API_PORT": str(free_port())}
    yield env, root
    subprocess.run(["inv", "sandbox.down", "--purge"], cwd=PROJECT_ROOT, env=env, capture_output=True, timeout=120)
    shutil.rmtree(root, ignore_errors=True)


def inv(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run(["inv", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_demo_runs_the_whole_runbook_and_prints_the_report(demo_env):
    env, root = demo_env
    env["COLUMNS"] = "80"  # piped (captured) output is never wrapped, whatever the width says
    done = inv(env, "demo")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "migrate-prod: ok" in done.stdout and "report.fr.md" in done.stdout
    # Issue 14: one screen (stderr + stdout as a terminal shows them), ending with the recap, then
    # the tour: the commands to look at what it did, each working exactly as printed.
    lines = done.stderr.splitlines() + done.stdout.splitlines()
    assert len(lines) <= 40, "\n".join(lines)
    recap = done.stdout[done.stdout.index("RECAP"):]
    for phase in ("verify", "backup", "analyze", "gate", "migrate", "validate", "post-backup"):
        assert re.search(rf"^  {phase} +(ok|GO) ", recap, re.M), recap
    assert re.search(r"^  migrate .* 43 indexes created", recap, re.M) and "users 68 → 68" in recap and "API p95 " in recap
    assert re.search(r"^  backup .* \d+\.\d KiB, 2/2 copies verified", recap, re.M), recap
    run_id = re.search(r"^RECAP run (\S+)", recap, re.M).group(1)
    look = re.search(r"^look at what it did:\n((?:  inv .+\n)+)", done.stdout, re.M).group(1).split("\n")
    commands = [line.strip() for line in look if line.strip()]
    assert commands == ["inv runs", f"inv report -r {run_id}", f"inv report -r {run_id} --html", "inv verify"]
    for command in commands:
        looked = inv(env, *shlex.split(command)[1:])
        assert looked.returncode == 0, (command, looked.stdout[-2000:], looked.stderr[-2000:])
        if command.endswith("--html"):  # the page's path alone on stdout
            assert looked.stdout.strip().endswith("report.en.html") and Path(looked.stdout.strip()).is_file()
    assert run_id in inv(env, "runs").stdout  # the demo's runs are where `inv runs` looks
    assert "the sandbox API keeps running on http://127.0.0.1:" in done.stdout and "`inv sandbox.down` stops it" in done.stdout
    assert not [line for line in lines if "CREATE INDEX" in line]  # statements only with -v
    assert max(len(line) for line in lines) > 80 and all(len(line) == len(line.rstrip("\n")) for line in lines)
    # Piped, every exact command stays on its line: each line of the plan is one numbered step.
    plan = inv(env, "rollback", "--full", "--dry-run")
    assert plan.returncode == 0, plan.stderr
    steps = plan.stdout.splitlines()[1:]
    assert [int(line.split(".")[0]) for line in steps] == list(range(1, len(steps) + 1)), plan.stdout
    restore = next(line for line in steps if "pg_restore" in line)
    assert "--dbname=" in restore and len(restore) > 80
    report = next(root.glob("backups/runs/*/report.fr.md")).read_text()
    assert "- [x] ✅ Migration réussie" in report and "Indexes créés : **43**" in report and "- [x] Login fonctionnel" in report
    password = (root / "pg" / "password").read_text().strip()
    for artefact in root.glob("backups/**/*"):
        if artefact.is_file() and artefact.suffix in (".json", ".jsonl", ".md"):
            assert password not in artefact.read_text(errors="replace"), artefact


def test_demo_break_rolls_back_by_itself_and_exits_4(demo_env):
    env, root = demo_env
    done = inv(env, "demo", "--break", "-q")
    assert done.returncode == 4, done.stdout[-3000:] + done.stderr[-3000:]
    assert "rolled back: validation found drift" in done.stderr
    # -q: nothing while it runs; the recap (stdout), then the error's what / changed / next (stderr).
    assert [line.split(":")[0] for line in done.stderr.splitlines()] == ["error", "changed", "next"], done.stderr
    assert re.search(r"^  validate +failed .*users 68 → 69", done.stdout, re.M), done.stdout
    assert re.search(r"^  rollback +ok .*full: the backup restored; replaced database kept as htf_sunup_db_before_rollback_", done.stdout,
                     re.M), done.stdout
    assert "migrate-prod: rolled-back" in done.stdout and "\nnext:" not in done.stdout  # the error's next: is the last line
    import psycopg

    password = (root / "pg" / "password").read_text().strip()
    url = f"postgresql://postgres:{password}@127.0.0.1:{env['PGRUNBOOK_SANDBOX_PORT']}/htf_sunup_db"
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 68  # the counts are back
        kept = conn.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'htf_sunup_db_before_rollback_%'").fetchone()[0]
    assert kept == 1
    health = subprocess.run(["python", "-m", "pgrunbook.sandbox.api", "health", "--port", env["PGRUNBOOK_DEMO_API_PORT"]],
                            env=env, capture_output=True, timeout=30)
    assert health.returncode == 0  # the API is back up


def test_demo_port_taken_is_a_clear_error(demo_env):
    import socket

    env, _ = demo_env
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", int(env["PGRUNBOOK_DEMO_API_PORT"])))
        busy.listen()
        done = inv(env, "demo")
    assert done.returncode == 2 and "is taken by another program" in done.stderr and "Traceback" not in done.stderr


def test_demo_interrupted_says_how_to_resume_and_the_command_works_as_printed(demo_env):
    env, _ = demo_env
    done = inv({**env, "PGRUNBOOK_FAULT_AT": "statement:10", "PGRUNBOOK_FAULT_SIGNAL": "INT"}, "demo")
    assert done.returncode == 130, done.stdout[-2000:] + done.stderr[-2000:]
    assert re.search(r"^  migrate +interrupted ", done.stdout, re.M) and "migrate-prod: interrupted" in done.stdout
    resume = re.search(r"^next: `(inv migrate-prod -i \S+ --resume \S+)` continues it", done.stdout, re.M).group(1)
    resumed = inv(env, *shlex.split(resume)[1:])
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert "migrate-prod: ok" in resumed.stdout and re.search(r"^  validate +ok .*users 68 → 68", resumed.stdout, re.M)
