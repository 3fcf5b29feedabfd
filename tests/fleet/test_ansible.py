"""The Ansible collection (ansible/): pgrunbook_task over the tests' sshd on 127.0.0.1, two "hosts"
(inventory aliases of 127.0.0.1) each with its own database; the sample playbook's serial and
max_fail_percentage; check mode as a dry run; changed and failed as the runs say."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import sshd  # noqa: F401 - fixture

from ..conftest import TEST_PASSWORD

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "ansible" / "ansible_collections" / "pgrunbook" / "fleet" / "playbooks" / "rollout.yml"


def ansible_playbook() -> str:
    found = Path(sys.executable).parent / "ansible-playbook"
    return str(found) if found.exists() else (shutil.which("ansible-playbook") or "ansible-playbook")


def play(sshd, tmp_path, dbs, *extra):  # noqa: F811
    hosts = tmp_path / "hosts.ini"
    lines = ["[databases]"]
    for i, db in enumerate(dbs, 1):
        lines.append(f"host{i} ansible_host=127.0.0.1 pgrunbook_inventory={db.inventory()}")
    lines += ["[databases:vars]", f"ansible_port={sshd.port}", f"ansible_user={sshd.user}",
              f"ansible_ssh_private_key_file={sshd.key_file}",
              f"ansible_ssh_common_args='-o UserKnownHostsFile={sshd.known_hosts} -o StrictHostKeyChecking=yes'",
              f"ansible_python_interpreter={sys.executable}", f"pgrunbook_python={sys.executable}", f"pgrunbook_dir={ROOT}", "pgrunbook_yes=true",
              "pgrunbook_env={\"PGRB_TEST_PW\": \"" + TEST_PASSWORD + "\"}"]
    hosts.write_text("\n".join(lines) + "\n")
    home = tmp_path / "ansible-home"
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(ROOT / "ansible"), "ANSIBLE_HOME": str(home),
           "ANSIBLE_LOCAL_TEMP": str(home / "tmp"), "ANSIBLE_REMOTE_TEMP": str(tmp_path / "remote-tmp"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_CONFIG": str(tmp_path / "none.cfg"), "ANSIBLE_FORKS": "2",
           "ANSIBLE_DEPRECATION_WARNINGS": "False", "ANSIBLE_PIPELINING": "True",
           "ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o ControlPersist=no"}
    log = tmp_path / "ansible.log"
    with open(log, "w") as out:  # a file, not a pipe: nothing the play leaves behind can hold it open
        code = subprocess.run([ansible_playbook(), "-i", str(hosts), str(PLAYBOOK), *extra], env=env, stdout=out,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=240).returncode
    done = subprocess.CompletedProcess([], code, log.read_text(), "")
    assert TEST_PASSWORD not in done.stdout + done.stderr
    recap = {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
             for m in re.finditer(r"^(host\d)\s*:\s*(.*)$", done.stdout, re.M)}
    return done, recap


def idx(db) -> int:
    with db.connect() as conn:
        return conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'idx\\_%'").fetchone()[0]


def test_the_sample_playbook_dry_runs_then_rolls_out_on_two_hosts(app_db, sshd, tmp_path):  # noqa: F811
    dbs = [app_db("legacy"), app_db("legacy")]
    done, recap = play(sshd, tmp_path, dbs, "--check")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert all(recap[h]["changed"] == 0 and recap[h]["failed"] == 0 for h in ("host1", "host2")), recap
    assert done.stdout.count("check mode: migrate --dry-run (exit 0)") == 2, done.stdout
    assert [idx(db) for db in dbs] == [0, 0]  # check mode: nothing changed

    done, recap = play(sshd, tmp_path, dbs)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert all(recap[h]["changed"] == 1 and recap[h]["failed"] == 0 for h in ("host1", "host2")), recap
    assert [idx(db) for db in dbs] == [43, 43]
    assert done.stdout.index("host1: ok") < done.stdout.index("host2: ok")  # serial: the canary host first

    done, recap = play(sshd, tmp_path, dbs)  # again: nothing pending, so nothing changed
    assert done.returncode == 0, done.stdout[-3000:]
    assert all(recap[h]["changed"] == 0 and recap[h]["failed"] == 0 for h in ("host1", "host2")), recap


def test_a_failed_canary_host_stops_the_play_before_the_next_batch(app_db, sshd, tmp_path):  # noqa: F811
    dbs = [app_db("tracked"), app_db("tracked")]
    path = dbs[0].drizzle_dir / "0011_add_performance_indexes.sql"
    path.write_text(path.read_text() + "\n--> statement-breakpoint\nDROP TABLE proofs;\n")  # NO-GO on host1 only
    done, recap = play(sshd, tmp_path, dbs)
    assert done.returncode != 0
    assert recap["host1"]["failed"] == 1 and recap["host1"]["changed"] == 0, recap
    assert "exit 3" in done.stdout
    assert recap.get("host2", {}).get("ok", 0) == 0  # max_fail_percentage 0: the second batch never ran
    assert [idx(db) for db in dbs] == [0, 0]


def test_the_module_documents_itself(tmp_path):
    doc = str(Path(ansible_playbook()).with_name("ansible-doc"))
    done = subprocess.run([doc if Path(doc).exists() else "ansible-doc", "--json", "pgrunbook.fleet.pgrunbook_task"],
                          env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(ROOT / "ansible"), "ANSIBLE_HOME": str(tmp_path)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    import json

    module = json.loads(done.stdout)["pgrunbook.fleet.pgrunbook_task"]
    assert set(module["doc"]["options"]) == {"task", "inventory", "playbook", "chdir", "python", "args", "assume_yes", "environment"}
    assert module["examples"] and set(module["return"]) == {"rc", "result", "sql"}
