"""Static safety analysis of Drizzle migration files, before they touch production.

pgrunbook applies migrations to databases holding real users' data. This package reads
each migration file and says, before anything runs, what it would do and whether the
ops runbook's policy allows it:

    from pgrunbook.sqlcheck import analyze_sql
    analysis = analyze_sql(text, file="0011_add_performance_indexes.sql")
    analysis.verdict   # allowed / review / forbidden, the worst of its findings

Design, one module per step:

- `split`: text -> statements, as drizzle's migrator cuts them (`--> statement-breakpoint`)
  and then PostgreSQL's parser (pglast), with exact 1-based lines and columns;
  SqlParseError names file:line:col when the SQL does not parse.
- `classify` (+ `ddl`, `plpgsql`): parse tree -> `Operation`s of a known `kind`. Never a
  regex on SQL text: a keyword in a comment, a string or an identifier is inert. CTEs,
  DO blocks, function bodies (followed at their call sites), EXECUTE, EXPLAIN ANALYZE,
  MERGE, COPY... are looked into.
- `triggers`: the code that fires on its own (triggers, rules, event triggers, casts and
  operators the set creates) and what SET does; `catalog_model`: `CodeCatalog`, the
  code already in the database (read by `pgrunbook.catalog`), a pure input.
- `rules`: one unit per rule, with a stable kebab-case id, the consequence (`message`)
  and the remedy (`help`), in the style of Squawk's rules.
- `policy`: the verdict of each kind (the runbook's FORBIDDEN/ALLOWED lists, everything
  else review), adjustable from the playbook with a plain dict.
- `comments`: reviewed exceptions written in the file, `-- pgrunbook: allow <rule> <why>`.
- `exceptions`: reviewed exceptions in the playbook, pinned to a migration's tag and sha256.
- `objects`: the objects migrations create, and the state after a migration set.
- `analysis`: `analyze_sql` / `analyze_files`, which tie the above together.
- `squawk`: the one module doing I/O, an adapter running the `squawk` linter, whose
  findings come back as `squawk:<rule>` findings of verdict info or review.

The executed-code model. The promise is that forbidden SQL is never classified allowed,
including SQL a migration runs without writing it as a statement. So every path by which
code runs is followed, and judged at the statement that makes it run:

- executed (`Operation.executed`, `implicit`): functions called (created in the set or
  existing in the database, the right overload, LANGUAGE internal/c as the built-in they
  alias), triggers and rules on the tables the run writes — the tracking table first:
  pgrunbook inserts a row there after every file, so what fires on it runs in the same
  run —, event triggers (on the run's DDL), index expressions and partial-index
  predicates, added columns' defaults and generated expressions, validated CHECKs,
  USING, domains' CHECKs. Their forbidden findings stay forbidden and no inline comment
  lifts them, whatever the policy's `inline_allow`.
- created for later (a trigger on an app table, a default of a new table, a function
  nobody calls): capped at `review`, the message saying when it runs ("on every INSERT on
  public.users"); a comment lifts it only if the policy lets comments lift the verdict
  it would have if it ran now.
- what cannot be read (a body that does not parse, compiled code of unknown symbol, an
  unknown function) is `review` at least; what cannot be analysed at all (EXECUTE of
  built text, other languages) is `dynamic-sql`, forbidden.

`analyze_files(..., catalog=CodeCatalog, journal=((hash, when), ...))` adds what the
files do not hold: the database's code, and the journal entries a literal tracking row
must match (any other write to the tracking table is forbidden).

Everything but `squawk` is pure: pglast and the standard library, values in, values out; this
package face loads `squawk` only when `run_squawk` is first asked for.
"""

from .analysis import AnalyzedStatement, FileAnalysis, analyze_files, analyze_sql, journal_pairs, with_findings
from .catalog_model import (
    CatalogCast,
    CatalogCheck,
    CatalogDomain,
    CatalogEventTrigger,
    CatalogFunction,
    CatalogIndex,
    CatalogOperator,
    CatalogRule,
    CatalogTrigger,
    CodeCatalog,
)
from .classify import KINDS, FunctionDef
from .comments import AllowComment
from .exceptions import PinnedFile, PlanLint, ReviewedException, apply_exceptions, parse_exceptions, plan_contains
from .model import CreatedObject, Finding, Operation, Verdict
from .objects import ObjectState, created_objects, objects_after
from .policy import DEFAULT_POLICY, Policy
from .rules import RULES, Rule

__all__ = [
    "DEFAULT_POLICY",
    "KINDS",
    "RULES",
    "AllowComment",
    "AnalyzedStatement",
    "CatalogCast",
    "CatalogCheck",
    "CatalogDomain",
    "CatalogEventTrigger",
    "CatalogFunction",
    "CatalogIndex",
    "CatalogOperator",
    "CatalogRule",
    "CatalogTrigger",
    "CodeCatalog",
    "CreatedObject",
    "FileAnalysis",
    "Finding",
    "FunctionDef",
    "ObjectState",
    "PinnedFile",
    "PlanLint",
    "ReviewedException",
    "Operation",
    "Policy",
    "Rule",
    "Verdict",
    "analyze_files",
    "apply_exceptions",
    "analyze_sql",
    "created_objects",
    "journal_pairs",
    "objects_after",
    "parse_exceptions",
    "plan_contains",
    "run_squawk",
    "with_findings",
]


def __getattr__(name: str) -> object:
    """`run_squawk` on first use: the adapter imports subprocess, and the pure modules importing
    `sqlcheck.model` & co. run this package's face first (they must load no I/O library)."""
    if name == "run_squawk":
        from .squawk import run_squawk

        return run_squawk
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
