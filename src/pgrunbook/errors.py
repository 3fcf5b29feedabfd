"""Every error pgrunbook raises on purpose, under one root.

    PgRunbookError                  root; carries `what`, `changed`, `next_step`
    ├── UsageError                  exit 2: bad options, refused confirmation
    │   └── ConfigError             exit 2: inventory / playbook / env vars
    ├── RuntimeFailure              exit 1: something outside us failed
    │   ├── ConnectionFailure       the database cannot be reached or refused us
    │   ├── ToolError               pg_dump / pg_restore / psql / squawk failed
    │   ├── TargetError             a backup location failed (ssh, s3, local)
    │   ├── ControllerError         the app controller (compose/systemd/command) failed
    │   ├── LockHeld                another run holds the database's advisory lock
    │   └── MigrationFailed         a migration statement failed; its transaction rolled back
    ├── CheckFailed                 exit 3: an expectation does not hold / NO-GO
    │   └── SqlParseError           a migration file does not parse (names file:line:col)
    └── RolledBack                  exit 4: the run rolled back, and says why

Third-party errors (psycopg, paramiko, botocore, pydantic, yaml) are translated into
these where they are caught, so nothing above the adapters sees a foreign exception.
Messages never contain secrets: build them from redacted values only.

`changed` is required wherever an error can be raised after something was done: a default
"nothing was changed" would be a lie there. Only the classes raised, by construction, before
anything changes default it: UsageError (and ConfigError), CheckFailed (read-only checks;
one raised mid-operation says what changed) and LockHeld (refused before acting).
"""

from __future__ import annotations

NOTHING_CHANGED = "nothing was changed"


class PgRunbookError(Exception):
    """Root of the hierarchy.

    `what` says what failed, `changed` what was (or was not) changed, and `next_step`
    the next safe command. The console prints all three.
    """

    exit_code = 1

    def __init__(self, what: str, *, changed: str, next_step: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.changed = changed
        self.next_step = next_step

    def __str__(self) -> str:
        return self.what


class UsageError(PgRunbookError):
    """Bad options, a refused confirmation: raised before anything is done."""

    exit_code = 2

    def __init__(self, what: str, *, changed: str = NOTHING_CHANGED, next_step: str = "") -> None:
        super().__init__(what, changed=changed, next_step=next_step)


class ConfigError(UsageError):
    """A configuration problem: `source` is the file (and key/line where known)."""

    def __init__(self, what: str, *, source: str = "", next_step: str = "") -> None:
        super().__init__(f"{source}: {what}" if source else what, next_step=next_step)
        self.source = source


class RuntimeFailure(PgRunbookError):
    """Something outside us failed, before or after acting: the raiser says what `changed`."""

    exit_code = 1


class ConnectionFailure(RuntimeFailure):
    pass


class ToolError(RuntimeFailure):
    pass


class TargetError(RuntimeFailure):
    pass


class ControllerError(RuntimeFailure):
    pass


class LockHeld(RuntimeFailure):
    """Another run holds the database's lock: refused before acting, so nothing changed."""

    def __init__(self, what: str, *, changed: str = NOTHING_CHANGED, next_step: str = "") -> None:
        super().__init__(what, changed=changed, next_step=next_step)


class MigrationFailed(RuntimeFailure):
    """A statement failed: `applied` lists the migrations committed before it."""

    def __init__(self, what: str, *, applied: tuple[str, ...] = (), changed: str, next_step: str) -> None:
        super().__init__(what, changed=changed, next_step=next_step)
        self.applied = applied


class CheckFailed(PgRunbookError):
    """An expectation does not hold. Read-only checks change nothing; one raised mid-operation passes `changed`."""

    exit_code = 3

    def __init__(self, what: str, *, changed: str = NOTHING_CHANGED, next_step: str = "") -> None:
        super().__init__(what, changed=changed, next_step=next_step)


class SqlParseError(CheckFailed):
    """A SQL file that PostgreSQL's parser rejects."""

    def __init__(self, what: str, *, file: str, line: int, column: int) -> None:
        super().__init__(
            f"{file}:{line}:{column}: {what}",
            next_step="fix the SQL so that PostgreSQL can parse it, then run `inv analyze` again",
        )
        self.file = file
        self.line = line
        self.column = column


class RolledBack(PgRunbookError):
    exit_code = 4
