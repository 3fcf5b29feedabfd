"""The one confirmation before touching a target that is not the sandbox (below `commands`, used by every writer)."""

from __future__ import annotations

from collections.abc import Callable

from .config import Config
from .errors import UsageError

Confirm = Callable[[str, str], "str | None"]  # (database name, redacted URL) -> what the operator typed


def confirm_target(cfg: Config, yes: bool, confirm: Confirm | None) -> None:
    """Touching a non-sandbox target needs --yes or the operator typing the database name."""
    inv = cfg.inventory
    if inv.sandbox or yes:
        return
    typed = confirm(inv.database.dbname, str(inv.database.url)) if confirm else None
    if typed != inv.database.dbname:
        raise UsageError(f"not confirmed: this would change {inv.database.url} (inventory {inv.name})",
                         next_step="re-run and type the database name when asked, or pass --yes")
