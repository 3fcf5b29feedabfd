"""The code already in the database, read for the static analysis (`sqlcheck.CodeCatalog`).

A pending migration can run code it does not contain: a function created by an earlier
migration or by hand, a trigger or rule on the tracking table (it fires on pgrunbook's own
tracking insert), an event trigger (it fires on the migration's DDL). This reads them,
read-only, one query per kind, in the caller's transaction (analyze and the gate hold a
READ ONLY one). PostgreSQL's own objects (pg_catalog, information_schema) and objects that
belong to an extension are left out: they are the built-ins and the extensions' code, not
the application's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .sqlcheck.catalog_model import (
    CatalogEventTrigger,
    CatalogFunction,
    CatalogRule,
    CatalogTrigger,
    CodeCatalog,
)
from .sqlcheck.triggers import trigger_events

if TYPE_CHECKING:
    import psycopg

_SYSTEM = "('pg_catalog', 'information_schema')"


def _not_extension(catalog: str, oid: str) -> str:
    return (f"NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '{catalog}'::regclass "
            f"AND d.objid = {oid} AND d.deptype = 'e')")


_FUNCTIONS = f"""
SELECT n.nspname, p.proname,
       coalesce((SELECT array_agg(format_type(a.t, NULL) ORDER BY a.i)
                 FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(t, i)), '{{}}'),
       l.lanname, p.prosrc,
       CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) END,
       p.pronargdefaults, p.prokind = 'p'
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE n.nspname NOT IN {_SYSTEM} AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
  AND {_not_extension('pg_proc', 'p.oid')}
ORDER BY 1, 2, 3
"""

_TRIGGERS = f"""
SELECT n.nspname, c.relname, t.tgname, fn.nspname, f.proname, t.tgtype, t.tgenabled <> 'D'
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_proc f ON f.oid = t.tgfoid
JOIN pg_namespace fn ON fn.oid = f.pronamespace
WHERE NOT t.tgisinternal AND n.nspname NOT IN {_SYSTEM}
  AND {_not_extension('pg_class', 'c.oid')}
ORDER BY 1, 2, 3
"""

_RULES = f"""
SELECT n.nspname, c.relname, r.rulename, pg_get_ruledef(r.oid)
FROM pg_rewrite r
JOIN pg_class c ON c.oid = r.ev_class
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE r.rulename <> '_RETURN' AND n.nspname NOT IN {_SYSTEM}
  AND {_not_extension('pg_class', 'c.oid')}
ORDER BY 1, 2, 3
"""

_EVENT_TRIGGERS = f"""
SELECT e.evtname, e.evtevent, n.nspname, p.proname, e.evtenabled <> 'D'
FROM pg_event_trigger e
JOIN pg_proc p ON p.oid = e.evtfoid
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE {_not_extension('pg_event_trigger', 'e.oid')}
ORDER BY 1
"""


def read_code_catalog(conn: psycopg.Connection) -> CodeCatalog:
    """The database's functions, triggers, rules and event triggers (read-only queries)."""
    functions = tuple(
        CatalogFunction(schema, name, tuple(types), language, source or "", definition, int(defaults), bool(procedure))
        for schema, name, types, language, source, definition, defaults, procedure in conn.execute(_FUNCTIONS)
    )
    triggers = tuple(
        CatalogTrigger(schema, table, name, fschema, fname, trigger_events(int(tgtype)), bool(enabled))
        for schema, table, name, fschema, fname, tgtype, enabled in conn.execute(_TRIGGERS)
    )
    rules = tuple(CatalogRule(*row) for row in conn.execute(_RULES))
    event_triggers = tuple(
        CatalogEventTrigger(name, event, fschema, fname, bool(enabled))
        for name, event, fschema, fname, enabled in conn.execute(_EVENT_TRIGGERS)
    )
    return CodeCatalog(functions, triggers, rules, event_triggers)
