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
- `rules`: one unit per rule, with a stable kebab-case id, the consequence (`message`)
  and the remedy (`help`), in the style of Squawk's rules.
- `policy`: the verdict of each kind (the runbook's FORBIDDEN/ALLOWED lists, everything
  else review), adjustable from the playbook with a plain dict.
- `comments`: reviewed exceptions written in the file, `-- pgrunbook: allow <rule> <why>`.
- `objects`: the objects migrations create, and the state after a migration set.
- `analysis`: `analyze_sql` / `analyze_files`, which tie the above together.
- `squawk`: the one module doing I/O, an adapter running the `squawk` linter, whose
  findings come back as `squawk:<rule>` findings of verdict info or review.

Everything but `squawk` is pure: pglast and the standard library, values in, values out.
"""

from .analysis import AnalyzedStatement, FileAnalysis, analyze_files, analyze_sql, journal_pairs, with_findings
from .catalog_model import CatalogEventTrigger, CatalogFunction, CatalogRule, CatalogTrigger, CodeCatalog
from .classify import KINDS, FunctionDef
from .comments import AllowComment
from .model import CreatedObject, Finding, Operation, Verdict
from .objects import ObjectState, created_objects, objects_after
from .policy import DEFAULT_POLICY, Policy
from .rules import RULES, Rule
from .squawk import run_squawk

__all__ = [
    "DEFAULT_POLICY",
    "KINDS",
    "RULES",
    "AllowComment",
    "AnalyzedStatement",
    "CatalogEventTrigger",
    "CatalogFunction",
    "CatalogRule",
    "CatalogTrigger",
    "CodeCatalog",
    "CreatedObject",
    "FileAnalysis",
    "Finding",
    "FunctionDef",
    "ObjectState",
    "Operation",
    "Policy",
    "Rule",
    "Verdict",
    "analyze_files",
    "analyze_sql",
    "created_objects",
    "journal_pairs",
    "objects_after",
    "run_squawk",
    "with_findings",
]
