"""The session settings that change how SQL parses or resolves: which ones sessions pin, check or report (pure data).

`pg` pins and verifies them in every session it opens; `facts` reads their database- and
role-level overrides; `verify` reports the overrides. No I/O here.
"""

from __future__ import annotations

# Settings that change how the server parses SQL or resolves names, pinned to the values
# our analysis assumes (pglast parses as a default server does) in every session we open:
# with `standard_conforming_strings = off` on the database, `'a\'; DELETE …'` is one
# literal to the analysis and two statements to the server. Set as startup options (they
# win over database- and role-level settings), then read back: a pooler that drops them
# is an error, not a silent difference.
# - search_path `public, pg_temp`: pg_catalog stays implicitly first (a `public.now()`
#   cannot shadow a built-in), unqualified names resolve to public as analysis, facts and
#   the executor assume (not to a "$user" schema), a temporary table cannot shadow an app
#   table, and unqualified CREATEs still land in public (drizzle's generated SQL runs
#   unchanged).
# - DateStyle, IntervalStyle and TimeZone are not pinned: they change how some literal
#   values read, not which statements run, and the app's migrations were written for the
#   database's own values.
PINNED_SETTINGS: tuple[tuple[str, str], ...] = (
    ("standard_conforming_strings", "on"),
    ("backslash_quote", "safe_encoding"),
    ("escape_string_warning", "on"),
    ("client_encoding", "UTF8"),
    ("search_path", "public, pg_temp"),
    ("check_function_bodies", "on"),
    ("array_nulls", "on"),
    ("transform_null_equals", "off"),
    # A library named at database or role level would be loaded into our session (parser and
    # executor hooks): none is. (session_preload_libraries needs a superuser: verify reports it.)
    ("local_preload_libraries", ""),
)
# Only a superuser may set these: read, not pinned; `inv verify` names any override.
CHECKED_SETTINGS: tuple[tuple[str, str], ...] = (
    ("session_replication_role", "origin"),  # `replica` silences triggers and foreign-key checks
    ("plpgsql.variable_conflict", "error"),  # changes what a name in a PL/pgSQL body means
)
# Not even readable by every role: only reported, from pg_db_role_setting, by `inv verify`.
REPORTED_SETTINGS: tuple[tuple[str, str], ...] = (
    ("session_preload_libraries", ""),  # loads a library (code) into every session at start
)


def setting_differs(name: str, wanted: str, actual: str | None) -> bool:
    """Compare as the server spells them: case and the spaces of a list do not matter."""
    def norm(value: str | None) -> str | None:
        return None if value is None else value.replace(" ", "").lower()

    return norm(actual) != norm(wanted)


# Every setting whose database- or role-level override `facts` reads and `verify` reports.
WATCHED_SETTINGS: tuple[tuple[str, str], ...] = PINNED_SETTINGS + CHECKED_SETTINGS + REPORTED_SETTINGS
