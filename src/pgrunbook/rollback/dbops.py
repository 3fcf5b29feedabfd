"""Database-level operations of the full rollback: create, restore into, swap, and the one guarded DROP.

All of them run on a maintenance connection (database `postgres`, else `template1`), never on
the database being replaced. `drop_restore_db()` is the only DROP of the rollback; it goes
through `owned.drop_owned()`, which refuses unless this process created the database, the
name matches `<db>_restore_<YYYYmmdd_HHMMSS>`, it is neither the target's name nor the kept
name, and the database still carries this run's token in its comment. After the swap the
database is released, so the one now serving `<db>` can never be dropped by it.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import TYPE_CHECKING, Any

from ..errors import NOTHING_CHANGED, ConnectionFailure, RuntimeFailure
from ..models import DatabaseRights
from ..owned import OwnedDatabase, adopt, drop_owned, release
from ..pg import connect, error_message

if TYPE_CHECKING:
    import psycopg

    from ..config import DatabaseSettings

_LIST_GUCS = {"search_path", "temp_tablespaces", "session_preload_libraries", "shared_preload_libraries", "local_preload_libraries"}


def stamp(now: dt.datetime | None = None) -> str:
    return (now or dt.datetime.now()).strftime("%Y%m%d_%H%M%S")


def restore_name(db: str, ts: str) -> str:
    return f"{db[:39]}_restore_{ts}"


def kept_name(db: str, ts: str) -> str:
    return f"{db[:31]}_before_rollback_{ts}"


def _restore_re(db: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(db[:39]) + r"_restore_\d{8}_\d{6}$")


def admin(db: DatabaseSettings) -> psycopg.Connection:
    """A maintenance connection on the same server (autocommit): `postgres`, else `template1`."""
    try:
        return connect(db, autocommit=True, url=db.url.with_dbname("postgres"))
    except ConnectionFailure as first:
        try:
            return connect(db, autocommit=True, url=db.url.with_dbname("template1"))
        except ConnectionFailure:
            raise first from None


def privileges(conn: psycopg.Connection, dbname: str) -> DatabaseRights:
    row = conn.execute(
        """SELECT current_user, r.rolsuper, r.rolcreatedb, pg_has_role(current_user, d.datdba, 'MEMBER'), pg_get_userbyid(d.datdba),
                  r.rolsuper OR pg_has_role(current_user, 'pg_signal_backend', 'MEMBER')
           FROM pg_roles r, pg_database d WHERE r.rolname = current_user AND d.datname = %s""", [dbname]).fetchone()
    if row is None:
        # read first, before the rollback acts
        raise RuntimeFailure(f"database {dbname!r} does not exist on this server", changed=NOTHING_CHANGED,
                             next_step="check database.url in the inventory")
    return DatabaseRights(row[0], bool(row[1]), bool(row[2]), bool(row[3]), row[4], bool(row[5]))


def exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("SELECT EXISTS (SELECT FROM pg_database WHERE datname = %s)", [name]).fetchone()[0]


def oid(conn: psycopg.Connection, name: str) -> int | None:
    """The database's identity: a rename keeps it, a new database never has it."""
    row = conn.execute("SELECT oid FROM pg_database WHERE datname = %s", [name]).fetchone()
    return None if row is None else int(row[0])


# --------------------------------------------------------------------------- create / drop


RestoreDb = OwnedDatabase  # purpose "rollback restore"


def database_profile(conn: psycopg.Connection, dbname: str) -> dict[str, Any]:
    """What CREATE DATABASE needs to reproduce the original: encoding, locale, owner, settings, ACL, comment."""
    (row,) = conn.execute("SELECT to_jsonb(d) FROM pg_database d WHERE datname = %s", [dbname]).fetchone() or (None,)
    if row is None:
        # Read mid-rollback too (the app may be stopped already): this says only what the read did.
        raise RuntimeFailure(f"database {dbname!r} does not exist on this server", changed="no database was changed (only the catalog was read)")
    encoding = conn.execute("SELECT pg_encoding_to_char(%s)", [row["encoding"]]).fetchone()[0]
    settings = conn.execute(
        """SELECT coalesce(pg_get_userbyid(s.setrole), ''), s.setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
           WHERE d.datname = %s""", [dbname]).fetchall()
    acl = conn.execute(
        """SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END, a.privilege_type
           FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = %s""", [dbname]).fetchall()
    comment = conn.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [dbname]).fetchone()[0]
    return {
        "owner": conn.execute("SELECT pg_get_userbyid(%s::oid)", [row["datdba"]]).fetchone()[0], "encoding": encoding,
        "collate": row.get("datcollate"), "ctype": row.get("datctype"), "provider": row.get("datlocprovider"),
        "icu_locale": row.get("datlocale") or row.get("daticulocale"), "acl": None if row.get("datacl") is None else acl,
        "settings": settings, "comment": comment,
    }


def create_restore_db(conn: psycopg.Connection, name: str, profile: dict[str, Any], *, set_owner: bool) -> RestoreDb:
    from psycopg import sql

    parts = [sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING {}").format(sql.Identifier(name), sql.Literal(profile["encoding"]))]
    if profile.get("collate"):
        parts.append(sql.SQL("LC_COLLATE {} LC_CTYPE {}").format(sql.Literal(profile["collate"]), sql.Literal(profile["ctype"])))
    if profile.get("provider") == "i" and profile.get("icu_locale"):
        parts.append(sql.SQL("LOCALE_PROVIDER icu ICU_LOCALE {}").format(sql.Literal(profile["icu_locale"])))
    if set_owner:
        parts.append(sql.SQL("OWNER {}").format(sql.Identifier(profile["owner"])))
    conn.execute(sql.SQL(" ").join(parts))
    return adopt(conn, name, "rollback restore")


def copy_database_settings(conn: psycopg.Connection, name: str, profile: dict[str, Any]) -> list[str]:
    """Database-level settings and grants (pg_dump leaves them out without --create); returns what could not be copied."""
    from psycopg import errors, sql

    problems = []
    statements = []
    for role, config in profile["settings"]:
        for item in config or []:
            key, _, value = item.partition("=")
            values = [v.strip().strip('"') for v in value.split(",")] if key in _LIST_GUCS else [value]
            target = sql.SQL("ALTER ROLE {} IN DATABASE {}").format(sql.Identifier(role), sql.Identifier(name)) if role else \
                sql.SQL("ALTER DATABASE {}").format(sql.Identifier(name))
            statements.append(sql.SQL("{} SET {} = {}").format(target, sql.Identifier(key), sql.SQL(", ").join(sql.Literal(v) for v in values)))
    if profile["acl"] is not None:
        statements.append(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(name)))
        for grantee, privilege in profile["acl"]:
            who = sql.SQL("PUBLIC") if grantee == "PUBLIC" else sql.Identifier(grantee)
            statements.append(sql.SQL("GRANT {} ON DATABASE {} TO {}").format(sql.SQL(privilege), sql.Identifier(name), who))
    for statement in statements:
        try:
            conn.execute(statement)
        except errors.Error as exc:
            problems.append(f"{statement.as_string(conn)}: {error_message(exc)}")
    return problems


def drop_restore_db(conn: psycopg.Connection, target: str, restore: RestoreDb, *, kept: str | None = None) -> None:
    """Drop the restore database this run created — and nothing else, ever."""
    drop_owned(conn, restore, pattern=_restore_re(target), protect=(target, kept), force=True)


def forget(restore: RestoreDb) -> None:
    """After the swap: the restore database is `<db>` now, and must never be dropped as scratch."""
    release(restore)


# --------------------------------------------------------------------------- restore


def count_tables(db: DatabaseSettings, dbname: str, role_count, only: list[str] | None = None) -> dict[str, int]:  # noqa: ANN001
    """Exact counts of every table of `dbname`, or of `only` (one READ ONLY snapshot)."""
    from ..backup.snapshot import count_rows
    from ..pg import read_only

    with connect(db, url=db.url.with_dbname(dbname)) as conn, read_only(conn):
        return dict(count_rows(conn, role_count, only)["tables"])


# --------------------------------------------------------------------------- the swap


def sessions(conn: psycopg.Connection, dbname: str) -> list[tuple[int, str, str]]:
    return conn.execute("SELECT pid, coalesce(usename, ''), coalesce(application_name, '') FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()", [dbname]).fetchall()


def allow_connections(conn: psycopg.Connection, dbname: str, allow: bool) -> None:
    from psycopg import sql

    conn.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(sql.Identifier(dbname), sql.SQL("true" if allow else "false")))


def terminate(conn: psycopg.Connection, dbname: str) -> int:
    rows = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                        [dbname]).fetchall()
    return sum(1 for (ok,) in rows if ok)


def rename(conn: psycopg.Connection, old: str, new: str, *, attempts: int = 6, wait: float = 0.5) -> int:
    """ALTER DATABASE old RENAME TO new, terminating sessions between bounded attempts; returns sessions terminated."""
    from psycopg import errors, sql

    ended = 0
    for attempt in range(1, attempts + 1):
        ended += terminate(conn, old)
        try:
            conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(old), sql.Identifier(new)))
            return ended
        except errors.ObjectInUse:
            if attempt == attempts:
                left = sessions(conn, old)
                raise RuntimeFailure(
                    f"cannot rename {old}: {len(left)} session(s) still connected after {attempts} attempts: "
                    + ", ".join(f"pid {p} ({u}{', ' + a if a else ''})" for p, u, a in left[:5]),
                    changed=f"{old} was not renamed; {ended} session(s) connected to it were terminated") from None
            time.sleep(wait * attempt)
    return ended


def set_comment(conn: psycopg.Connection, dbname: str, comment: str | None) -> None:
    from psycopg import sql

    conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(dbname), sql.Literal(comment)))
