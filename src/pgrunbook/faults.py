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
import threading


def reached(point: str) -> None:
    wanted = os.environ.get("PGRUNBOOK_FAULT_AT")
    if wanted and wanted == point:
        name = os.environ.get("PGRUNBOOK_FAULT_SIGNAL", "KILL")
        os.kill(os.getpid(), getattr(signal, f"SIG{name}"))


def _ctrl_c_as_at_a_terminal() -> None:
    """A test asking for Ctrl-C means a terminal's Ctrl-C. A process started from a background job
    (a shell without job control: CI scripts) inherits SIGINT ignored, and Python then installs no
    KeyboardInterrupt handler: restore it, in the main thread, only when the test asks for INT."""
    if (os.environ.get("PGRUNBOOK_FAULT_SIGNAL") == "INT" and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.SIG_IGN):
        signal.signal(signal.SIGINT, signal.default_int_handler)


_ctrl_c_as_at_a_terminal()
