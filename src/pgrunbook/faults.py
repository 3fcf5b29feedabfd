"""Fault injection for crash tests: die (or be interrupted) at a named point.

`PGRUNBOOK_FAULT_AT` names the point, `PGRUNBOOK_FAULT_SIGNAL` the signal (`KILL`, the
default, or `INT` for Ctrl-C). Points: `<phase>:<event>` right after that journal record is
written and fsynced (e.g. `migrate:start`, `gate:decision`), `<phase>:<event>:<status>` for a
record with a status (`rollback:step:renamed`), and `statement:<n>` right after
the executor's n-th statement. Unset (always, outside tests), this does nothing.
"""

from __future__ import annotations

import os
import signal


def reached(point: str) -> None:
    wanted = os.environ.get("PGRUNBOOK_FAULT_AT")
    if wanted and wanted == point:
        name = os.environ.get("PGRUNBOOK_FAULT_SIGNAL", "KILL")
        os.kill(os.getpid(), getattr(signal, f"SIG{name}"))
