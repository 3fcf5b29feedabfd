"""Where the classifier stands while it walks a statement, and the operation factory."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .model import CreatedObject, Operation
from .split import Source


@dataclass(frozen=True)
class Scope:
    """The context of the node being classified.

    `source` is the text the node's `location` offsets point into, and `sql` the text of
    the statement that holds the node (PL/pgSQL must be re-parsed from it). `line` is the
    file line the operations are reported at. `via` and `executed` are copied into every
    operation (see `Operation`). `top_level` is True only for the statements of the file
    itself: a plain SELECT there is an operation of its own, while inside a function body
    or a DO block it only reads data into variables, which is not worth reporting.
    `runs` and `implicit` are copied too (see `Operation`). `repeated` is True where the
    code runs once per row or per loop iteration (a query with a FROM clause, a PL/pgSQL
    loop): a `nextval` there burns sequence values.
    """

    source: Source
    sql: str
    line: int
    via: tuple[str, ...] = ()
    executed: bool = True
    top_level: bool = True
    runs: str | None = None
    implicit: bool = False
    repeated: bool = False

    def op(
        self,
        kind: str,
        summary: str,
        *,
        target: CreatedObject | None = None,
        flags: frozenset[str] | set[str] = frozenset(),
        columns: tuple[str, ...] = (),
        new_name: str | None = None,
        creates: tuple[CreatedObject, ...] = (),
        row: tuple[tuple[str, object], ...] | None = None,
    ) -> Operation:
        return Operation(
            kind=kind,
            line=self.line,
            summary=summary,
            target=target,
            flags=frozenset(flags),
            columns=tuple(columns),
            new_name=new_name,
            creates=tuple(creates),
            via=self.via,
            executed=self.executed,
            runs=None if self.executed else self.runs,
            implicit=self.implicit,
            row=row,
        )

    def later(self, runs: str, *via: str) -> Scope:
        """A scope for code created now that runs later, `runs` ("on every insert into t")."""
        return self.inner(via=via, executed=False, runs=runs, implicit=True, top_level=False)

    def implied(self, *via: str) -> Scope:
        """A scope for code this statement makes run now (an index expression, a default
        evaluated on existing rows, a trigger fired by a write)."""
        return self.inner(via=via, implicit=True, top_level=False)

    def inner(self, **changes: object) -> Scope:
        """A scope for something nested in this one (`via` is extended, not replaced)."""
        if "via" in changes:
            changes["via"] = self.via + tuple(changes["via"])  # type: ignore[arg-type]
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
