"""The values every other module of `sqlcheck` passes around.

All of them are frozen dataclasses: an analysis is a value that can be compared, hashed,
cached and shown, never a half-built object that someone mutates later.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Verdict(str, enum.Enum):
    """How a finding (or a whole file) is judged, from harmless to refused.

    `INFO` is a remark that does not block anything: a file whose worst finding is
    `INFO` is `ALLOWED`. The order of the members is the order of severity.
    """

    ALLOWED = "allowed"
    INFO = "info"
    REVIEW = "review"
    FORBIDDEN = "forbidden"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @classmethod
    def worst(cls, verdicts: Iterable[Verdict]) -> Verdict:
        """The most severe verdict, folded to a file verdict (INFO counts as ALLOWED)."""
        worst = max(verdicts, key=lambda v: v.rank, default=cls.ALLOWED)
        return cls.ALLOWED if worst is cls.INFO else worst

    def __str__(self) -> str:
        return self.value


_RANK = {Verdict.ALLOWED: 0, Verdict.INFO: 1, Verdict.REVIEW: 2, Verdict.FORBIDDEN: 3}


@dataclass(frozen=True)
class CreatedObject:
    """A database object, as a migration creates, drops or renames it.

    `kind` is one of `schema`, `table`, `column`, `type`, `index`, `constraint`,
    `sequence`, `view`, `function`. `schema` is always filled (`public` when the SQL does
    not qualify the name). `table` is the table a column, index, constraint or owned
    sequence (serial, identity) belongs to (None for the others). `columns` lists the
    columns an index, constraint or owned sequence covers, so that dropping a column can
    drop what depends on it. `implicit` marks names that
    PostgreSQL chooses itself (`users_pkey`, `users_id_seq`...): they are computed the way
    PostgreSQL does, but PostgreSQL adds a number when the name is already taken, so a
    caller checking a live database may want to treat them as less certain.
    """

    kind: str
    schema: str
    table: str | None
    name: str
    columns: tuple[str, ...] = ()
    implicit: bool = False

    @property
    def qualified(self) -> str:
        if self.kind == "schema":
            return self.name
        if self.kind in ("column", "constraint") and self.table:
            return f"{self.schema}.{self.table}.{self.name}"
        return f"{self.schema}.{self.name}"

    def __str__(self) -> str:
        return f"{self.kind} {self.qualified}"


@dataclass(frozen=True)
class Operation:
    """One thing a statement does to the database, found in its parse tree.

    A statement can do several things (`ALTER TABLE` with many sub-commands, a CTE that
    deletes, a DO block): each is one `Operation`.

    `kind` is one of `KINDS` (see `classify`). `summary` names it for a human
    ("DROP TABLE public.users"). `target` is the object acted on, when there is one.
    `flags` qualify the operation (`if_not_exists`, `concurrently`, `unique`,
    `not_valid`, `volatile_default`...). `creates` lists the objects the operation brings
    into existence (with their implicit names). `new_name` is set for renames (and for ADD VALUE: the enum
    value added).

    `via` says where the operation was found when it is not the statement itself
    (`("DO block",)`, `("function public.purge()",)`, `("EXECUTE",)`...).

    The executed-code model: `executed` is True when the run itself performs the
    operation, directly or through code it causes to run; False for code created for
    later (a function nobody calls, a trigger on a table the run does not write, a
    default of a new table), and then `runs` says when it will run ("on every insert into
    public.users"). `implicit` marks operations of code that runs because of something
    else than a statement of the file: a called function, a trigger, a rule, an event
    trigger, an index expression, a default, a CHECK. Their forbidden findings are never
    lifted by an inline allow comment. `row` holds the literal values of a single-row
    INSERT ... VALUES (column, value), None otherwise (the tracking-table rules read it).
    """

    kind: str
    line: int
    summary: str
    target: CreatedObject | None = None
    flags: frozenset[str] = frozenset()
    columns: tuple[str, ...] = ()
    new_name: str | None = None
    creates: tuple[CreatedObject, ...] = ()
    via: tuple[str, ...] = ()
    executed: bool = True
    runs: str | None = None
    implicit: bool = False
    row: tuple[tuple[str, object], ...] | None = None

    def has(self, flag: str) -> bool:
        return flag in self.flags

    @property
    def where(self) -> str:
        """`summary`, prefixed by where it was found when that is not the statement itself."""
        return " > ".join((*self.via, self.summary)) if self.via else self.summary


@dataclass(frozen=True)
class Finding:
    """What one rule says about one operation (or comment) of a file.

    `verdict` is the effective verdict. A finding lifted by an inline
    `-- pgrunbook: allow <rule-id> <reason>` comment has verdict ALLOWED, `excepted` set to
    the reason and `lifted_from` set to the verdict it would have had: the report shows it
    so that a human sees every exception taken.

    `objects` names what the operation acts on (`public.users.legacy_flag`), when known.

    `waivable` is False for findings no inline comment may lift whatever the policy says
    (forbidden findings of code the run executes). `uncapped` is the verdict a finding
    of code created for later would have had if it ran now (its `verdict` is then capped
    at review): an inline comment lifts it only if the policy lets comments lift that.
    """

    rule_id: str
    verdict: Verdict
    message: str
    help: str
    file: str
    line: int
    statement: str
    excepted: str | None = None
    lifted_from: Verdict | None = None
    waivable: bool = True
    uncapped: Verdict | None = None
    objects: tuple[str, ...] = ()  # the qualified object(s) the finding is about (playbook exceptions match them)

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"

    def __str__(self) -> str:
        suffix = f" (excepted: {self.excepted})" if self.excepted is not None else ""
        return f"{self.location}: {self.verdict}{suffix} [{self.rule_id}] {self.message}"
