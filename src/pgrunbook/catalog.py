"""The code already in the database, read for the static analysis (`sqlcheck.CodeCatalog`).

A pending migration can run code it does not contain: a function created by an earlier
migration or by hand, a trigger or rule on the tracking table (it fires on pgrunbook's own
tracking insert), an event trigger (it fires on the migration's DDL), an operator, a
domain's CHECK or an expression index (evaluated on rows). This reads them,
read-only, one query per kind, in the caller's transaction (analyze and the gate hold a
READ ONLY one). PostgreSQL's own objects (pg_catalog, information_schema) and objects that
belong to an extension are left out: they are the built-ins and the extensions' code, not
the application's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .sqlcheck.catalog_model import (
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


_OPERATORS = f"""
SELECT n.nspname, o.oprname, format_type(o.oprleft, NULL), format_type(o.oprright, NULL), pn.nspname, p.proname
FROM pg_operator o
JOIN pg_namespace n ON n.oid = o.oprnamespace
JOIN pg_proc p ON p.oid = o.oprcode
JOIN pg_namespace pn ON pn.oid = p.pronamespace
WHERE n.nspname NOT IN {_SYSTEM} AND {_not_extension('pg_operator', 'o.oid')}
ORDER BY 1, 2
"""

_DOMAINS = f"""
SELECT n.nspname, t.typname,
       coalesce((SELECT array_agg(pg_get_constraintdef(c.oid) ORDER BY c.conname)
                 FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c'), '{{}}'),
       t.typdefault
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'd' AND n.nspname NOT IN {_SYSTEM} AND {_not_extension('pg_type', 't.oid')}
ORDER BY 1, 2
"""

# Only indexes whose expressions or predicate may call code: plain column indexes hold none.
_INDEXES = f"""
SELECT n.nspname, c.relname, i.relname, pg_get_indexdef(x.indexrelid)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class c ON c.oid = x.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE (x.indexprs IS NOT NULL OR x.indpred IS NOT NULL) AND n.nspname NOT IN {_SYSTEM}
  AND n.nspname NOT LIKE 'pg\\_toast%' AND {_not_extension('pg_class', 'c.oid')}
ORDER BY 1, 2, 3
"""


_CASTS = f"""
SELECT format_type(c.castsource, NULL), format_type(c.casttarget, NULL), n.nspname, p.proname
FROM pg_cast c
JOIN pg_proc p ON p.oid = c.castfunc
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname NOT IN {_SYSTEM} AND {_not_extension('pg_cast', 'c.oid')}
ORDER BY 1, 2
"""


_UNVALIDATED_CHECKS = f"""
SELECT n.nspname, c.relname, k.conname, pg_get_constraintdef(k.oid)
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE k.contype = 'c' AND NOT k.convalidated AND n.nspname NOT IN {_SYSTEM}
  AND {_not_extension('pg_class', 'c.oid')}
ORDER BY 1, 2, 3
"""


# PostgreSQL's own functions and the extensions' whose every overload is IMMUTABLE or STABLE (they cannot write):
# calling one is not calling unknown code. Volatile ones (pg_reload_conf, lo_create, uuid_generate_v4...) are not here.
_READ_ONLY_BUILTINS = f"""
SELECT n.nspname, p.proname
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE (n.nspname = 'pg_catalog' OR NOT {_not_extension('pg_proc', 'p.oid')}) AND p.prokind IN ('f', 'w')
GROUP BY 1, 2
HAVING bool_and(p.provolatile IN ('i', 's'))
"""


def read_code_catalog(conn: psycopg.Connection) -> CodeCatalog:
    """The database's functions, triggers, rules, event triggers, operators, domains,
    expression indexes, casts and NOT VALID checks (read-only queries, one per kind)."""
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
    operators = tuple(CatalogOperator(*row) for row in conn.execute(_OPERATORS))
    domains = tuple(
        CatalogDomain(schema, name, tuple(checks), default) for schema, name, checks, default in conn.execute(_DOMAINS)
    )
    indexes = tuple(CatalogIndex(*row) for row in conn.execute(_INDEXES))
    casts = tuple(CatalogCast(*row) for row in conn.execute(_CASTS))
    checks = tuple(CatalogCheck(*row) for row in conn.execute(_UNVALIDATED_CHECKS))
    builtins = frozenset((schema, name) for schema, name in conn.execute(_READ_ONLY_BUILTINS))
    return CodeCatalog(functions, triggers, rules, event_triggers, operators, domains, indexes, casts, checks, builtins)
