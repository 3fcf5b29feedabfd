"""The database target in every form libpq accepts, with its secrets never shown.

`DatabaseUrl(raw)` takes what an ops engineer already has in their environment:

- a URL: `postgresql://user:pw@host:5432/db?sslmode=require`, the password in the query
  string (`?password=`: libpq lets it win over the userinfo's), several hosts
  (`postgresql://h1:5432,h2:5433/db?target_session_attrs=read-write`), a Unix-socket
  directory (`postgresql:///db?host=/var/run/postgresql`);
- a key/value conninfo: `host=h port=5432 dbname=db user=app`, `service=prod` (read from
  `PGSERVICEFILE` / `~/.pg_service.conf` / `PGSYSCONFDIR`, as libpq does);
- libpq's environment (`PGHOST`, `PGPORT`, `PGDATABASE`, `PGUSER`, `PGPASSWORD`, ...) for
  whatever the string leaves out: resolved once, here, so that every connection and every
  client tool gets the same explicit target (tools run with a clean `PG*` environment).

libpq parses the string (`psycopg.conninfo.conninfo_to_dict`): no home-made URL grammar.
`str()` / `repr()` show a URL with `***` for each secret (`password`, `sslpassword`);
`.secret()` is for the driver only; `.without_password()` is safe on a command line (client
tools get the password through `PGPASSWORD`).
"""

from __future__ import annotations

import configparser
import getpass
import os
from pathlib import Path
from urllib.parse import quote, urlencode

SECRET_PARAMETERS = frozenset({"password", "sslpassword"})
# libpq's environment variables for the parameters a target is made of (a subset: the rest stays libpq's business)
ENVIRONMENT = {
    "PGHOST": "host", "PGHOSTADDR": "hostaddr", "PGPORT": "port", "PGDATABASE": "dbname", "PGUSER": "user",
    "PGPASSWORD": "password", "PGSSLMODE": "sslmode", "PGSSLROOTCERT": "sslrootcert", "PGSSLCERT": "sslcert",
    "PGSSLKEY": "sslkey", "PGTARGETSESSIONATTRS": "target_session_attrs",
}
_IN_URL = ("user", "password", "host", "port", "dbname")


class DatabaseUrl:
    """A database target (URL or conninfo) whose secrets are never shown; see the module docstring."""

    def __init__(self, raw: str, *, environ: dict[str, str] | None = None) -> None:
        from psycopg import ProgrammingError
        from psycopg.conninfo import conninfo_to_dict

        text = raw.strip()
        if "://" in text and not text.startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql:// (got another scheme), or be a libpq conninfo like host=h dbname=db")
        try:
            params = {k: str(v) for k, v in conninfo_to_dict(text).items() if v is not None}
        except ProgrammingError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
            raise ValueError(f"not a libpq URL or conninfo: {_masked(first)}") from None
        self._params = _resolved(params, os.environ if environ is None else environ)
        if not self._params.get("dbname"):
            raise ValueError("must name a database: postgresql://user@host:5432/dbname (or dbname=, PGDATABASE, a service)")
        for port in self._params.get("port", "").split(","):
            if port and not port.isdigit():
                raise ValueError("the port must be a number")

    @classmethod
    def from_params(cls, params: dict[str, str]) -> DatabaseUrl:
        from psycopg.conninfo import make_conninfo

        return cls(make_conninfo(**params), environ={})

    # ------------------------------------------------------------------ parts

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(h for h in self._params.get("host", self._params.get("hostaddr", "")).split(",") if h) or ("localhost",)

    @property
    def host(self) -> str:
        return self.hosts[0]

    @property
    def port(self) -> int:
        first = self._params.get("port", "").split(",")[0]
        return int(first) if first else 5432

    @property
    def user(self) -> str:
        return self._params.get("user", "")

    @property
    def dbname(self) -> str:
        return self._params["dbname"]

    @property
    def password(self) -> str | None:
        return self._params.get("password")

    @property
    def key(self) -> str:
        """`user@host:port/db`: names the target in run journals (no password)."""
        hosts = ",".join(self.hosts)
        return f"{self.user or getpass.getuser()}@{hosts}:{self.port}/{self.dbname}"

    @property
    def query(self) -> str:
        """The parameters beyond user/host/port/db, secrets left out, as a URL query string."""
        # quote, not urlencode's default quote_plus: libpq reads a `+` as a plus, never as a space
        return urlencode([(k, v) for k, v in self._params.items() if k not in _IN_URL and k not in SECRET_PARAMETERS], safe="/", quote_via=quote)

    # ------------------------------------------------------------------ renderings

    def secret(self) -> str:
        """Everything, password included: for the driver only."""
        return self._url("keep")

    def without_password(self) -> str:
        """Safe for process arguments and logs: no secret anywhere (tools get the password from PGPASSWORD)."""
        return self._url("drop")

    def with_dbname(self, dbname: str) -> DatabaseUrl:
        return DatabaseUrl.from_params({**self._params, "dbname": dbname})

    def _url(self, secrets: str) -> str:
        """`postgresql://` rendering; secrets kept, dropped or shown as ***."""
        p = self._params
        password = p.get("password")
        shown = None if password is None or secrets == "drop" else ("***" if secrets == "mask" else quote(password, safe=""))
        user = quote(p.get("user", ""), safe="")
        auth = f"{user}:{shown}@" if shown is not None else (f"{user}@" if user else "")
        hosts, ports = p.get("host", ""), p.get("port", "")
        extra = []
        if hosts and any(h.startswith("/") or h.startswith("@") for h in hosts.split(",")):
            netloc, extra = auth, [("host", hosts)] + ([("port", ports)] if ports else [])  # socket directories: in the query
        else:
            host_list, port_list = hosts.split(",") if hosts else [], ports.split(",") if ports else []
            pairs = [h + (f":{port_list[i] if i < len(port_list) else port_list[-1]}" if port_list else "") for i, h in enumerate(host_list)]
            netloc = auth + ",".join(pairs)
        rest = [(k, v) for k, v in p.items() if k not in _IN_URL and (k not in SECRET_PARAMETERS or secrets != "drop")]
        rest = [(k, "***" if k in SECRET_PARAMETERS and secrets == "mask" else v) for k, v in rest]
        query = urlencode(extra + rest, safe="/*", quote_via=quote)  # `%20`: libpq decodes no `+`
        return f"postgresql://{netloc}/{quote(p['dbname'], safe='')}" + (f"?{query}" if query else "")

    def __str__(self) -> str:
        return self._url("mask")

    __repr__ = __str__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DatabaseUrl) and other._params == self._params

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._params.items())))


def _resolved(params: dict[str, str], environ: dict[str, str]) -> dict[str, str]:
    """The string's parameters, then its service's, then libpq's environment: first one wins."""
    merged = dict(params)
    service = merged.pop("service", None) or environ.get("PGSERVICE")
    if service:
        for key, value in _service(service, environ).items():
            merged.setdefault(key, value)
    for variable, key in ENVIRONMENT.items():
        if environ.get(variable) and key not in merged:
            merged[key] = environ[variable]
    return merged  # no dbname = user default (libpq's): which database to migrate is never guessed


def _service(name: str, environ: dict[str, str]) -> dict[str, str]:
    """A connection service's parameters, from the files libpq reads (the user's first)."""
    candidates = [Path(environ["PGSERVICEFILE"])] if environ.get("PGSERVICEFILE") else [Path.home() / ".pg_service.conf"]
    candidates.append(Path(environ.get("PGSYSCONFDIR", "/etc/postgresql-common")) / "pg_service.conf")
    for path in candidates:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(path)
        except configparser.Error as exc:
            raise ValueError(f"service file {path} is not readable: {exc.__class__.__name__}") from None
        if parser.has_section(name):
            return dict(parser.items(name))
    raise ValueError(f"service {name!r} not found in {', '.join(map(str, candidates))}")


def _masked(message: str) -> str:
    """libpq's parse error without the fragment it quotes (it could be part of a password)."""
    return message.split('"')[0].strip() or "unreadable"
