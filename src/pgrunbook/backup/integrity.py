"""The seed's step 2.2 made strict: is this dump complete, and does it hold the data? (pure)

Each function turns observations into `Check`s. A dump passes when pg_dump exited 0 with
no error on stderr (it can exit 0 after errors), is not empty, reads to its end (custom:
pg_restore consumed the whole archive; plain: the completion marker is there), and holds
TABLE DATA (custom/directory, from `pg_restore --list`) or a `COPY` block (plain) for each
critical table and for every table the snapshot counted rows in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ..outcome import Check, Status
from ..units import size
from .dump import DumpOutcome

_TOC_DATA = re.compile(r"^\d+;\s+\d+\s+\d+\s+TABLE DATA (\S+) (\S+) ", re.MULTILINE)


def toc_table_data(listing: str) -> set[str]:
    """`schema.table` for each TABLE DATA entry of `pg_restore --list`."""
    return {f"{schema}.{table}" for schema, table in _TOC_DATA.findall(listing)}


def _unquote(name: str) -> str:
    return ".".join(part.strip('"') for part in name.split("."))


def check_dump(outcome: DumpOutcome, *, listing: str | None, list_error: str, critical: Iterable[str],
               counts: Mapping[str, int]) -> tuple[Check, ...]:
    checks: list[Check] = []
    stderr_lines = [line for line in outcome.stderr.splitlines() if line.strip()]
    bad = [line for line in stderr_lines if re.search(r"\b(error|fatal|panic)\b", line, re.IGNORECASE)]
    warnings = [line for line in stderr_lines if line not in bad]

    if outcome.returncode == 0:
        checks.append(Check("dump-exit", Status.OK, "pg_dump exited 0"))
    else:
        checks.append(Check("dump-exit", Status.FAIL, f"pg_dump exited {outcome.returncode}",
                            "\n".join(stderr_lines[-5:]) or "no message on stderr"))
    if bad:
        checks.append(Check("dump-stderr", Status.FAIL, f"pg_dump reported {len(bad)} error(s)", "\n".join(bad[:5])))
    elif warnings:
        checks.append(Check("dump-stderr", Status.WARN, f"pg_dump printed {len(warnings)} message(s)", "\n".join(warnings[:5])))
    else:
        checks.append(Check("dump-stderr", Status.OK, "pg_dump printed nothing on stderr"))

    checks.append(Check("dump-size", Status.OK, size(outcome.size)) if outcome.size > 0
                  else Check("dump-size", Status.FAIL, "the dump is empty (0 bytes)"))

    if outcome.format == "plain":
        present = {_unquote(t) for t in (outcome.plain.copy_tables if outcome.plain else set())}
        complete = bool(outcome.plain and outcome.plain.complete)
        checks.append(Check("dump-complete", Status.OK, "ends with '-- PostgreSQL database dump complete'") if complete else
                      Check("dump-complete", Status.FAIL, "the plain dump does not end with '-- PostgreSQL database dump complete': it is truncated",
                            "take a new backup; check free space and pg_dump's messages"))
        source = "COPY lines"
    else:
        v = outcome.validator
        if v is not None and v.returncode == 0 and not re.search(r"\berror\b", v.errors, re.IGNORECASE):
            checks.append(Check("dump-complete", Status.OK, f"the archive is complete to its last data block ({len(v.tables_read)} tables' data)"))
        else:
            detail = (v.errors if v else "") or "no validator output"
            checks.append(Check("dump-complete", Status.FAIL, "the archive cannot be read to its end: it is truncated or damaged", detail[:600]))
        if listing is None:
            checks.append(Check("dump-toc", Status.FAIL, "pg_restore --list cannot read the archive's table of contents", list_error[:600]))
            present = set()
        else:
            present = toc_table_data(listing)
            if v is not None and v.returncode == 0:
                present &= set(v.tables_read) | {t for t in present if counts.get(t, 0) == 0}
        source = "TABLE DATA entries"

    wanted = [t if "." in t else f"public.{t}" for t in critical]
    # A critical table the snapshot did not count does not exist in the database (a new database, a table a pending
    # migration creates): there is nothing of it to keep. Only a table that exists and lacks its data fails.
    absent = [t for t in wanted if t not in present and t not in counts]
    missing = [t for t in wanted if t not in present and t not in absent]
    if missing:
        checks.append(Check("critical-table-data", Status.FAIL, f"no data in the dump for critical table(s): {', '.join(missing)}",
                            f"looked for {source}; a dump without them cannot restore the application"))
    elif absent:
        held = [t for t in wanted if t not in absent]
        checks.append(Check("critical-table-data", Status.WARN, f"critical table(s) absent from the database, nothing to keep: "
                            f"{', '.join(absent)}" + (f"; data present for {', '.join(held)} ({source})" if held else ""),
                            "expected on a new database or for a table a pending migration creates; otherwise check the "
                            "playbook's expectations.critical_tables names"))
    else:
        checks.append(Check("critical-table-data", Status.OK, f"data present for {', '.join(wanted)} ({source})"))

    lacking = sorted(t for t, n in counts.items() if n > 0 and t not in present)
    if lacking:
        checks.append(Check("all-table-data", Status.FAIL, f"{len(lacking)} counted table(s) with rows have no data in the dump: {', '.join(lacking[:10])}"))
    else:
        checks.append(Check("all-table-data", Status.OK, f"every counted table with rows has its data in the dump ({len([n for n in counts.values() if n])} tables)"))
    return tuple(checks)
