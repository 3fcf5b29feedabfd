"""Adapter for the `squawk` linter (the squawk-cli wheel): the only I/O in `sqlcheck`.

Squawk knows PostgreSQL's locks well; `sqlcheck` knows the runbook's policy. Squawk's
findings are added as `squawk:<rule>` findings (e.g. `squawk:require-concurrent-index-
creation`), never forbidden: the policy decides what is forbidden, squawk advises.

How squawk is configured, to match how pgrunbook's executor runs migrations:

- the executor sets `lock_timeout` and `statement_timeout` itself, so the rules asking
  for them are excluded (`require-timeout-settings`, and in squawk 2.x its two halves
  `require-lock-timeout` and `require-statement-timeout`);
- `in_transaction` (default True, as drizzle's migrator wraps migrations in a
  transaction) is passed as `--assume-in-transaction`, which lets squawk flag what
  cannot run in a transaction (CREATE INDEX CONCURRENTLY...);
- drizzle's `--> statement-breakpoint` lines are SQL comments: squawk reads drizzle
  files as they are.

Verdict mapping: rules about correctness or what the running application sees (a
required column added to a table with rows, a type change, a validating constraint, a
rename, transaction misuse, a syntax error) are `review`; everything else (lock and
robustness advice such as `require-concurrent-index-creation`, `prefer-robust-stmts`,
type preferences, and the `ban-drop-*` family, which the policy already judges) is
`info`. So squawk alone never makes the runbook's allowed `CREATE INDEX IF NOT EXISTS`
migration anything worse than allowed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from pgrunbook.errors import NOTHING_CHANGED, ToolError

from .model import Finding, Verdict

PREFIX = "squawk:"
EXCLUDED_BY_DEFAULT = ("require-timeout-settings", "require-lock-timeout", "require-statement-timeout")
REVIEW_RULES = frozenset(
    {
        "adding-required-field",
        "adding-not-nullable-field",
        "adding-field-with-default",
        "adding-serial-primary-key-field",
        "adding-foreign-key-constraint",
        "constraint-missing-not-valid",
        "disallowed-unique-constraint",
        "changing-column-type",
        "renaming-column",
        "renaming-table",
        "ban-concurrent-index-creation-in-transaction",
        "transaction-nesting",
        "ban-uncommitted-transaction",
        "syntax-error",
    }
)
_UNKNOWN_RULE = re.compile(r"invalid rule name ([\w-]+)")
DOCS = "https://squawkhq.com/docs/{rule}"


def verdict_for(rule_name: str) -> Verdict:
    return Verdict.REVIEW if rule_name in REVIEW_RULES else Verdict.INFO


def find_squawk() -> str:
    """The squawk binary: on PATH, or next to the running Python (a virtualenv's bin/)."""
    found = shutil.which("squawk")
    if found:
        return found
    beside = Path(sys.executable).parent / ("squawk.exe" if os.name == "nt" else "squawk")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    raise ToolError(
        "the squawk linter is not installed (no `squawk` on PATH nor next to the Python interpreter)", changed=NOTHING_CHANGED,
        next_step="pip install squawk-cli, then run the analysis again",
    )


def run_squawk(
    paths: Sequence[str | os.PathLike[str]],
    *,
    in_transaction: bool = True,
    pg_version: str | None = None,
    exclude: Iterable[str] = (),
    config: str | os.PathLike[str] | None = None,
    binary: str | None = None,
    timeout: float = 120.0,
) -> tuple[Finding, ...]:
    """Run squawk on migration files and return its findings (rule ids prefixed `squawk:`).

    Raises ToolError when squawk is missing, fails, or says something we cannot read.
    """
    if not paths:
        return ()
    excluded = list(dict.fromkeys([*EXCLUDED_BY_DEFAULT, *exclude]))
    while True:
        command = _command(binary or find_squawk(), paths, in_transaction, pg_version, excluded, config)
        result = _run(command, timeout)
        unknown = _UNKNOWN_RULE.search(result.stderr)
        # Rules come and go between squawk versions: drop an exclusion it does not know.
        if result.returncode == 2 and unknown and unknown.group(1) in excluded:
            excluded.remove(unknown.group(1))
            continue
        return tuple(_findings(result))


def _command(binary, paths, in_transaction, pg_version, excluded, config) -> list[str]:
    command = [binary, "--reporter=json"]
    command.append("--assume-in-transaction" if in_transaction else "--no-assume-in-transaction")
    if excluded:
        command.append("--exclude=" + ",".join(excluded))
    if pg_version:
        command.append(f"--pg-version={pg_version}")
    if config is not None:
        command.append(f"--config={os.fspath(config)}")
    return [*command, *(os.fspath(path) for path in paths)]


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise ToolError(
            f"the squawk linter could not be started: {command[0]} not found", changed=NOTHING_CHANGED, next_step="pip install squawk-cli"
        ) from None
    except subprocess.TimeoutExpired:
        raise ToolError(f"squawk did not finish within {timeout:g} s", changed=NOTHING_CHANGED) from None
    except OSError as error:
        raise ToolError(f"the squawk linter could not be started: {error}", changed=NOTHING_CHANGED) from None


def _findings(result: subprocess.CompletedProcess[str]) -> list[Finding]:
    # Exit status 1 only means "found something"; anything else, or no JSON, is a failure.
    try:
        reports = json.loads(result.stdout) if result.stdout.strip() else None
    except json.JSONDecodeError:
        reports = None
    if result.returncode not in (0, 1) or not isinstance(reports, list):
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise ToolError(f"squawk failed (exit status {result.returncode}): {detail[0] if detail else 'no output'}", changed=NOTHING_CHANGED)
    lines_cache: dict[str, list[str]] = {}
    return [_finding(report, lines_cache) for report in reports]


def _finding(report: dict, lines_cache: dict[str, list[str]]) -> Finding:
    rule_name = str(report.get("rule_name", "unknown"))
    line = int(report.get("line", 0)) + 1  # squawk counts lines from 0
    line_end = int(report.get("line_end", line - 1)) + 1
    file = str(report.get("file", ""))
    return Finding(
        rule_id=PREFIX + rule_name,
        verdict=verdict_for(rule_name),
        message=str(report.get("message", "")),
        help=str(report.get("help") or f"See {DOCS.format(rule=rule_name)}"),
        file=file,
        line=line,
        statement=_snippet(file, line, line_end, lines_cache),
    )


def _snippet(file: str, line: int, line_end: int, cache: dict[str, list[str]]) -> str:
    if file not in cache:
        try:
            cache[file] = Path(file).read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError):
            cache[file] = []
    return "\n".join(cache[file][line - 1 : max(line, line_end)]).strip()
