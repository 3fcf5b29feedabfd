"""After an in-place restore: what is in the database but not in the backup, and who made it.

`pg_restore --clean` drops and recreates only the objects its archive holds. What a run
created that the backup does not know about survives it: in scenario B the whole drizzle
schema and its ledger (12 tracking rows pointing at 43 indexes that are gone), and any
table, view, sequence or schema a migration created. The database then equals neither the
backup nor the migrated state, and drizzle's next deploy trusts the ledger.

So, after the restore: the archive's table of contents (`pg_restore --list`) is compared
with the catalog. What is extra and was created by this run (the tracking schema it
created, the objects its applied migrations create, as `sqlcheck.objects_after` reads
them) is dropped in one transaction, without CASCADE — these are the only objects this
code may drop, and the safety dump taken before the restore still holds them. Anything
else extra was made by someone else after the backup: kept, and reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

# `pg_restore --list` lines: "215; 1259 16386 TABLE public users postgres", "3; 2615 2200 SCHEMA - drizzle postgres"
# (not "TABLE DATA", "SEQUENCE SET", "SEQUENCE OWNED BY": those are contents of objects listed elsewhere)
_TOC = re.compile(r"^\d+;\s+\d+\s+\d+\s+(SCHEMA|TABLE(?! DATA)|VIEW|MATERIALIZED VIEW|SEQUENCE(?! SET| OWNED BY)) (\S+) (\S+) ",
                  re.MULTILINE)
_KIND = {"r": "table", "p": "table", "v": "view", "m": "view", "S": "sequence"}
_DROP_ORDER = ("view", "table", "sequence", "schema")  # dependants first; no CASCADE, ever


@dataclass(frozen=True, order=True)
class DbObject:
    kind: str  # schema | table | view | sequence
    schema: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name if self.kind == 'schema' else f'{self.schema}.{self.name}'}"


def toc_objects(listing: str) -> frozenset[DbObject]:
    """The schemas and relations an archive's table of contents holds (pure)."""
    found = set()
    for kind, schema, name in _TOC.findall(listing):
        if kind == "SCHEMA":
            found.add(DbObject("schema", name, name))
        else:
            found.add(DbObject("view" if "VIEW" in kind else kind.lower(), schema, name))
    return frozenset(found)


def extra_objects(live: Iterable[DbObject], backup: frozenset[DbObject]) -> tuple[DbObject, ...]:
    """What the database holds that the backup does not (pure). `public` always exists."""
    return tuple(sorted(o for o in live if o not in backup and not (o.kind == "schema" and o.name == "public")))


def created_by_run(extras: Iterable[DbObject], run_created: Iterable[DbObject], tracking_schema: str | None) -> tuple[DbObject, ...]:
    """The extras this run made: those its migrations create, and the tracking schema it created
    with everything in it (the ledger table and its id sequence) (pure)."""
    made = set(run_created)
    return tuple(o for o in extras if o in made or (tracking_schema is not None and o.schema == tracking_schema))


def drop_statements(objects: Iterable[DbObject]) -> list[str]:
    """DROP ... IF EXISTS, dependants first, never CASCADE (pure; identifiers quoted)."""
    def ident(part: str) -> str:
        return '"' + part.replace('"', '""') + '"'

    ordered = sorted(objects, key=lambda o: (_DROP_ORDER.index(o.kind), o.schema, o.name))
    return [f"DROP SCHEMA IF EXISTS {ident(o.name)}" if o.kind == "schema"
            else f"DROP {o.kind.upper()} IF EXISTS {ident(o.schema)}.{ident(o.name)}" for o in ordered]


def live_objects(conn: psycopg.Connection) -> frozenset[DbObject]:
    """Schemas and relations outside the system schemas, not owned by an extension."""
    not_extension = ("NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = {cls}::regclass AND d.objid = {oid} "
                     "AND d.deptype = 'e')")
    schemas = conn.execute(
        "SELECT nspname FROM pg_namespace n WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' AND "
        + not_extension.format(cls="'pg_namespace'", oid="n.oid")).fetchall()
    relations = conn.execute(
        "SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' "
        "AND NOT c.relispartition AND " + not_extension.format(cls="'pg_class'", oid="c.oid")).fetchall()
    return frozenset({DbObject("schema", s, s) for (s,) in schemas}
                     | {DbObject(_KIND[k], s, n) for s, n, k in relations})


def run_created_objects(created: Iterable[object]) -> frozenset[DbObject]:
    """sqlcheck's CreatedObjects (what the applied migrations create) as DbObjects."""
    found = set()
    for obj in created:
        kind = getattr(obj, "kind", "")
        if kind == "schema":
            found.add(DbObject("schema", obj.name, obj.name))
        elif kind in ("table", "view", "sequence"):
            found.add(DbObject(kind, obj.schema, obj.name))
    return frozenset(found)
