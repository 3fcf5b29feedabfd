"""The README as executable documentation (issue 14): every command its code blocks show runs,
as written, against a sandbox of its own, and exits with the code the README implies.

What counts as a command: a line of a README code block (fenced, or indented by four spaces)
whose shell words start with `inv`, `python -m pgrunbook`, `pip install` or `bash .ci/run`
(alone or after `&&`). Each runs through `bash -o pipefail`, in README order (the sandbox's
state flows from one to the next as it does for a reader), from a scratch folder holding
tasks.py and copies of `inventory/` and `playbooks/` (so `> plan.sql` and the reader's
`inventory/production.yml`, copied from the example, land there, not in the checkout), with
PGRUNBOOK_SANDBOX_DIR and free ports (a developer's `.sandbox/` is never touched).

A synopsis is filled in, nothing else changed: `[--optional]` parts are left out, and a
placeholder `ID` / `RUN_ID` becomes the newest run's id (the newest backup's for
`backup.verify`). `SKIP` lists the few commands a test cannot run, each with its reason;
`EXPECTED` the ones whose documented exit code is not 0; `GIVEN` what a command needs that the
README's reader has done by then (the sandbox back up after `sandbox.down`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from pgrunbook.config import PROJECT_ROOT
from pgrunbook.sandbox.cluster import free_port

README = PROJECT_ROOT / "README.md"

# command as written (comment stripped) -> why a test cannot run it
SKIP = {
    "pip install -e . && inv demo": "installs the package into the interpreter running the tests; `inv demo` itself runs below",
    "bash .ci/run": "CI itself: installs Debian packages, then runs the whole suite (this test included)",
    "inv sandbox.reset --scale 15000": "a million users: minutes of loading (bench/ measures it)",
    "inv demo --app compose": "needs a Docker engine: tests/test_demo_compose.py runs it against the session's dockerd",
    "inv demo --break --app compose": "needs a Docker engine: tests/test_demo_compose.py runs it against the session's dockerd",
    "inv test -k verify -x": "the test suite itself (recursive)",
    # the worked example on homarr: its setup (a database, drizzle's own migrator, files) is not made of inv lines;
    # tests/realworld/test_readme_example.py runs the whole block as written
    **dict.fromkeys(["inv verify -i $WORK/inventory.yml -p $WORK/playbook.yml",
                     "inv analyze -i $WORK/inventory.yml -p $WORK/playbook.yml || true",
                     "inv analyze -i $WORK/inventory.yml -p $WORK/playbook.yml --json > $WORK/analysis.json || true",
                     "inv migrate-prod -i $WORK/inventory.yml -p $WORK/playbook.yml --yes"],
                    "the homarr worked example: tests/realworld/test_readme_example.py runs its whole block"),
}

# a line of a code block that is one script (its commands need the lines around them: variables,
# files written by heredocs) -> the test that runs that block as a whole
SCRIPTS = {
    "export WORK=/tmp/homarr": "tests/realworld/test_readme_example.py runs the homarr block as one script (Node, drizzle's migrator)",
}

# command as written -> exit code the README implies, and why
EXPECTED = {
    "inv migrate --inventroy inventory/production.yml": (2, "the README's own example of a typo: a usage error"),
    "inv verify -i inventory/production.yml": (2, "production: without PROD_DB_URL it stops at the configuration, before any connection"),
    "inv migrate-prod -i inventory/production.yml": (2, "production: stops at the configuration without PROD_DB_URL"),
    "inv migrate-prod -i inventory/production.yml --resume 20261125_162112_853ce9": (2, "production: stops at the configuration"),
    "inv demo --break": (4, "the automatic rollback's exit code"),
}

# command as written -> what the reader has done before it (not shown at that place in the README)
PRODUCTION = ["cp inventory/production.example.yml inventory/production.yml"]  # "documents every key" (README)
GIVEN = {
    "inv verify": ["inv sandbox.up"],  # the synopsis above it ends with `inv sandbox.down`
    "inv verify -i inventory/production.yml": PRODUCTION,
    "inv migrate-prod -i inventory/production.yml": PRODUCTION,
    "inv migrate-prod -i inventory/production.yml --resume 20261125_162112_853ce9": PRODUCTION,
    "inv analyze --baseline-until 0010": ["inv sandbox.reset --state legacy"],  # its comment: scenario B, no tracking
    "inv analyze --only 0011": ["inv sandbox.reset --state tracked"],  # its comment: scenario C, 0000-0010 recorded
}

PROD_ONLY = ("PROD_DB_URL",)


def code_blocks(text: str) -> list[list[tuple[int, str]]]:
    """Each code block (fenced, or indented by 4 spaces after a blank line) as its (line number, text)."""
    blocks: list[list[tuple[int, str]]] = []
    fenced, indented, blank_before = False, False, True
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced, indented, blank_before = not fenced, False, False
            if fenced:
                blocks.append([])
            continue
        if fenced:
            blocks[-1].append((number, line))
        elif line.startswith("    ") and (indented or blank_before) and not line.lstrip().startswith(("-", "|", "*")):
            if not indented:
                blocks.append([])
            indented = True
            blocks[-1].append((number, line[4:]))
        elif line.strip():
            indented = False
        blank_before = not line.strip()
    return blocks


_COMMAND = re.compile(r"^\s*(?:\$ )?((?:inv|python -m pgrunbook|pip install|bash \.ci/run)\b.*)$")


def readme_commands(text: str | None = None) -> list[tuple[int, str]]:
    """(README line, command without its trailing comment) in README order. A block with `$ `
    prompts is a terminal session: only its prompt lines are commands, the rest is their output."""
    found = []
    for block in code_blocks(README.read_text() if text is None else text):
        session = any(line.startswith("$ ") for _, line in block)
        for number, line in block:
            match = _COMMAND.match(line)
            if match and (line.startswith("$ ") or not session):
                found.append((number, _strip_comment(match.group(1))))
    return found


def script_lines(text: str | None = None) -> dict[str, set[int]]:
    """For each `SCRIPTS` marker, the README lines of the code block holding it."""
    found: dict[str, set[int]] = {}
    for block in code_blocks(README.read_text() if text is None else text):
        for marker in SCRIPTS:
            if any(marker in line for _, line in block):
                found.setdefault(marker, set()).update(number for number, _ in block)
    return found


def _strip_comment(command: str) -> str:
    """The command without a trailing `# comment` (a `#` inside quotes stays)."""
    quote = None
    for i, ch in enumerate(command):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or command[i - 1].isspace()):
            return command[:i].rstrip()
    return command.rstrip()


def fill_in(command: str, *, run_id: str, backup_id: str) -> str:
    """A synopsis made runnable: `[optional]` parts dropped, `ID`/`RUN_ID` replaced by real ids."""
    command = re.sub(r"\s*\[--?[^\]]*\]", "", command)  # `[--json]`, `[--backup ID]`; jq's `.a[]` stays
    placeholder = backup_id if "backup.verify" in command else run_id
    return re.sub(r"\b(RUN_ID|ID)\b", placeholder, command)


def test_readme_commands_are_found_and_every_skip_names_one():
    """The extraction sees the README's commands, and the lists above name only commands it shows."""
    commands = [c for _, c in readme_commands()]
    assert "inv demo" in commands and "inv verify" in commands and "inv rollback --full --dry-run" in commands, commands
    for listed in (*SKIP, *EXPECTED, *GIVEN):
        assert listed in commands, f"{listed!r} is listed in tests/test_readme.py but the README no longer shows it"
    assert set(script_lines()) == set(SCRIPTS), "a SCRIPTS marker is no longer in a README code block"
    assert all(reason for reason in SKIP.values())


def test_extraction_rules():
    text = ("Intro\n\n    inv verify            # the sandbox\n    inv analyze --json | jq '.a # b'\n    not a command\n"
            "\nText `inv gate` in prose.\n\n```sh\ninv runs\npython -m pgrunbook runs.show ID [--json]\n```\n"
            "| `inv demo` | a table row |\n\n    $ inv demo\n    look at it:\n      inv runs\n")
    assert readme_commands(text) == [(3, "inv verify"), (4, "inv analyze --json | jq '.a # b'"), (10, "inv runs"),
                                     (11, "python -m pgrunbook runs.show ID [--json]"), (15, "inv demo")]
    assert fill_in("inv runs.show ID [--json]", run_id="R1", backup_id="B1") == "inv runs.show R1"
    assert fill_in("inv analyze --json | jq '.migrations[].findings'", run_id="", backup_id="") == "inv analyze --json | jq '.migrations[].findings'"
    assert fill_in("inv backup.verify ID", run_id="R1", backup_id="B1") == "inv backup.verify B1"
    assert fill_in("inv migrate-prod --resume RUN_ID", run_id="R1", backup_id="B1") == "inv migrate-prod --resume R1"


@pytest.fixture
def reader():
    """A reader's shell: a scratch folder with tasks.py, inventory/ and playbooks/, an isolated sandbox."""
    root = Path(tempfile.mkdtemp(prefix="pgrunbook-readme-"))
    root.chmod(0o755)
    work = root / "work"
    work.mkdir()
    shutil.copy(PROJECT_ROOT / "tasks.py", work / "tasks.py")
    for folder in ("inventory", "playbooks"):  # copies: the reader writes inventory/production.yml
        shutil.copytree(PROJECT_ROOT / folder, work / folder)
    env = {key: value for key, value in os.environ.items() if key not in PROD_ONLY and not key.startswith("PGRUNBOOK_")}
    env.update(PGRUNBOOK_SANDBOX_DIR=str(root / "sandbox"), PGRUNBOOK_SANDBOX_PORT=str(free_port()),
               PGRUNBOOK_DEMO_API_PORT=str(free_port()), COLUMNS="200")
    yield env, work
    subprocess.run(["inv", "sandbox.down", "--purge"], cwd=work, env=env, capture_output=True, timeout=120)
    shutil.rmtree(root, ignore_errors=True)


def _sh(command: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def _newest(env: dict, cwd: Path) -> tuple[str, str]:
    runs = _sh("inv runs --json", env, cwd)
    backups = _sh("inv backup.list --json", env, cwd)
    run_id = json.loads(runs.stdout)[0]["id"] if runs.returncode == 0 and json.loads(runs.stdout) else "NO_RUN_YET"
    listed = json.loads(backups.stdout)["backups"] if backups.returncode == 0 else []
    return run_id, (listed[0]["id"] if listed else "NO_BACKUP_YET")


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_every_readme_command_runs_as_written(reader):
    env, work = reader
    failures, ran = [], 0
    in_scripts = set().union(*script_lines().values())
    for line, command in readme_commands():
        if command in SKIP or line in in_scripts:
            continue
        for given in GIVEN.get(command, []):
            assert _sh(given, env, work).returncode == 0, given
        run_id, backup_id = _newest(env, work) if re.search(r"\b(RUN_ID|ID)\b", command) else ("", "")
        runnable = fill_in(command, run_id=run_id, backup_id=backup_id)
        expected, _ = EXPECTED.get(command, (0, ""))
        done = _sh(runnable, env, work)
        ran += 1
        if done.returncode != expected:
            failures.append(f"README.md:{line}: `{runnable}` exited {done.returncode}, expected {expected}\n"
                            f"{done.stdout[-1500:]}\n{done.stderr[-1500:]}")
        if "-i inventory/production.yml" in command:
            assert "PROD_DB_URL" in done.stderr, done.stderr  # the README's comment is what the user is told
    assert ran >= 30, ran
    assert not failures, "\n\n".join(failures)
