"""One CLI grammar (issue 14, item 2): the same short flags in every task, did-you-mean and exit 2.

Checked both on the Collection tasks.py builds and on what `inv TASK --help` prints, through the
two entries: plain `inv` and `python -m pgrunbook`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
AGREED = {"inventory": "-i", "playbook": "-p", "json": "-j", "run": "-r", "yes": "-y", "verbose": "-v", "quiet": "-q"}
ONE_LETTER_NAMES = {"test": {"-k", "-x"}}  # pytest's own option names, not short forms of long ones


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}


def _run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def contexts():
    spec = importlib.util.spec_from_file_location("pgrunbook_tasks_under_test", ROOT / "tasks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    by_name = {}
    for context in module.ns.to_contexts():
        for name in (context.name, *context.aliases):
            by_name[name] = context
    return by_name, module.ns


def _task_names() -> list[str]:
    listing = json.loads(_run("inv", "--list", "--list-format", "json").stdout)

    def walk(collection: dict, prefix: str) -> list[str]:
        names = [prefix + task["name"] for task in collection["tasks"]]
        if collection.get("default") and prefix:
            names.append(prefix.rstrip("."))
        for sub in collection["collections"]:
            names += walk(sub, f"{prefix}{sub['name']}.")
        return names

    names = walk(listing, "")
    assert "migrate" in names and "backup.verify" in names and "runs" in names, names
    return names


TASKS = _task_names()


def _short_flags(context) -> dict[str, str]:
    """short flag -> the argument's name."""
    flags = [*context.flags.keys(), *context.flags.aliases.keys()]
    return {flag: context.flags[flag].name for flag in flags if re.fullmatch(r"-[^-]", flag)}


def test_every_task_is_checked(contexts):
    by_name, _ = contexts
    assert set(TASKS) <= set(by_name)
    assert {context.name for context in by_name.values()} <= set(TASKS)


@pytest.mark.parametrize("task", TASKS)
def test_short_flags_are_exactly_the_agreed_ones_in_the_collection(contexts, task):
    context = contexts[0][task]
    allowed_names = ONE_LETTER_NAMES.get(task, set())
    shorts = {flag: name for flag, name in _short_flags(context).items() if flag not in allowed_names}
    expected = {AGREED[arg.name]: arg.name for arg in context.args.values() if arg.name in AGREED and not arg.positional}
    assert shorts == expected


@pytest.mark.parametrize("task", TASKS)
def test_short_flags_in_task_help(task):
    done = _run("inv", task, "--help")
    assert done.returncode == 0, done.stderr
    options = done.stdout.split("Options:", 1)[1] if "Options:" in done.stdout else ""
    shorts = set(re.findall(r"^  (-[^-])\b", options, re.M)) - ONE_LETTER_NAMES.get(task, set())
    longs = dict(re.findall(r"^  (-[^-])[ ,].*?--([a-z-]+)", options, re.M))
    assert shorts <= set(AGREED.values()), options
    for short in shorts:
        assert AGREED[longs[short]] == short, options
    assert "--, " not in options


@pytest.mark.parametrize("task", TASKS)
def test_help_shows_an_example_that_parses(contexts, task):
    by_name, ns = contexts
    done = _run("inv", "--help", task)
    assert done.returncode == 0, done.stderr
    found = re.search(r"^\s*Example: (inv .+)$", done.stdout, re.M)
    assert found, done.stdout
    words = found.group(1).split()
    assert words[1] == task or ns.task_names.get(task) is not None and words[1] in ns.task_names[task], words
    flags = by_name[task].flags
    for word in words[2:]:
        if word.startswith("-"):
            assert word in flags, f"{found.group(1)}: {word} is not an option of {task}"


def test_positional_task_help_is_help_not_an_id():
    for task in ("backup.verify", "runs.show"):
        done = _run("inv", task, "--help")
        assert done.returncode == 0, done.stderr
        assert "Options:" in done.stdout and "Example:" in done.stdout


ENTRIES = [("inv",), (sys.executable, "-m", "pgrunbook")]


@pytest.mark.parametrize("entry", ENTRIES, ids=["inv", "python-m"])
def test_typo_in_an_option_suggests_and_exits_2(entry):
    done = _run(*entry, "migrate", "--inventroy", "x")
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "did you mean: --inventory?" in done.stderr
    assert "No idea" not in done.stderr


@pytest.mark.parametrize("entry", ENTRIES, ids=["inv", "python-m"])
def test_typo_in_a_task_suggests_and_exits_2(entry):
    done = _run(*entry, "migrat")
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "did you mean: migrate" in done.stderr
    done = _run(*entry, "--help", "rolback")
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "did you mean: rollback?" in done.stderr


def test_task_option_before_the_task_is_explained():
    done = _run("inv", "--inventroy", "x", "migrate")
    assert done.returncode == 2
    assert "go after the task name" in done.stderr and "--inventory" in done.stderr


def test_other_usage_errors_exit_2():
    for argv in (["backup.verify"], ["migrate", "--inventory"], ["migrate", "-o"]):
        done = _run("inv", *argv)
        assert done.returncode == 2, (argv, done.stderr)
        assert done.stderr.startswith("error: ") and "next: " in done.stderr, done.stderr


def test_no_close_match_points_at_the_list():
    done = _run("inv", "zzzzzz")
    assert done.returncode == 2
    assert "did you mean" not in done.stderr and "inv --list" in done.stderr


HINT = re.compile(r"\binv ([a-z][a-z0-9.-]*)((?:[ |\[\]]+-{1,2}[a-z][a-z-]*(?:[ =][A-Z_{][^ `'\"\]|]*)?)*)")


def test_next_hints_name_only_real_options(contexts):
    """Issue 14, item 3: every `inv TASK --option` the package prints names an option TASK has."""
    by_name, _ = contexts
    wrong, checked = [], 0
    files = [*(ROOT / "src" / "pgrunbook").rglob("*.py"), *(ROOT / "src" / "pgrunbook" / "templates").glob("*")]
    for path in files:
        text = path.read_text(encoding="utf-8")
        for found in HINT.finditer(text):
            task, rest = found.group(1), found.group(2)
            if task not in by_name:
                continue
            for flag in re.findall(r"(?<![\w-])(-{1,2}[a-z][a-z-]*)", rest):
                checked += 1
                if flag not in by_name[task].flags and flag not in ("--help", "-h"):
                    wrong.append(f"{path.relative_to(ROOT)}: {found.group(0)!r}: {flag}")
    assert checked > 40, checked  # the scan does see the hints
    assert not wrong, "\n".join(wrong)
