"""The fleet inventory: many databases, one runbook. Instances, targets, the rollout policy.

    name: tenants
    base: production.yml          # the inventory every target starts from (relative to this file)
    playbook: ../playbooks/runbook.yml
    dir: ../fleet                 # fleet journals; each target's backups and run journals in dir/targets/<instance>/<db>
    instances:
      eu-1:
        url: postgresql://deploy@db-eu-1:5432/postgres   # the server; each target replaces the database name
        max_parallel: 1            # runs at once on this server (one index build at a time)
        databases: [tenant_acme]   # listed targets
        discover: "tenant_*"       # and every database whose name matches (read-only: pg_database)
    targets:                       # targets with their own overrides of the base inventory
      - { instance: eu-1, database: tenant_big, overrides: { environment: big } }
    policy: { canary: 1, waves: ["50%", "100%"], max_parallel: 2, max_failures: 2, on_failure: continue }

A target is `<instance>/<database>`; its inventory is the base inventory with its database
URL, its own backup folder, and the instance's then the target's overrides (`Target.config`).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from .._yaml import load_yaml
from ..config import Config, DatabaseSettings, Inventory, Playbook, _Model, _resolve_paths, _validate, load_playbook
from ..conninfo import DatabaseUrl
from ..errors import ConfigError, UsageError
from .policy import Budget, PolicyError, Wave, plan_waves


class FleetInstance(_Model):
    url: DatabaseUrl
    passfile: Path | None = None
    max_parallel: int = Field(1, ge=1, description="migrate-prod runs at once on this server")
    databases: list[str] = []
    discover: str | None = Field(None, description="also every database whose name matches this glob (read-only discovery)")
    exclude: list[str] = Field([], description="globs of database names never targeted")
    overrides: dict[str, Any] = Field({}, description="inventory keys for every target of this instance")

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    @field_validator("url", mode="before")
    @classmethod
    def _parse_url(cls, value: Any) -> DatabaseUrl:
        return DatabaseSettings._parse_url(value)


class FleetTargetSpec(_Model):
    instance: str
    database: str
    overrides: dict[str, Any] = {}


class FleetPolicy(_Model):
    canary: int | list[str] = Field(1, description="the first wave: a count of the first targets, or target names")
    waves: list[int | str] = Field(["100%"], description="sizes of the waves after the canary: counts or \"N%\"; the last repeats")
    max_parallel: int = Field(2, ge=1, description="runs at once over the whole fleet")
    max_failures: int | None = Field(None, ge=1, description="stop once this many targets failed")
    max_failure_percent: float | None = Field(None, ge=0, le=100, description="stop once more than this share of targets failed")
    on_failure: Literal["continue", "stop"] = Field("continue", description="what a failed target means for its wave")
    between_waves: Literal["go", "pause", "confirm"] = "go"
    pause_seconds: float = Field(0, ge=0)

    @property
    def budget(self) -> Budget:
        return Budget(self.max_failures, self.max_failure_percent)


class FleetInventory(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    base: Path
    playbook: Path | None = None
    dir: Path = Path("fleet")
    instances: dict[str, FleetInstance]
    targets: list[FleetTargetSpec] = []
    policy: FleetPolicy = FleetPolicy()

    @model_validator(mode="after")
    def _references(self) -> FleetInventory:
        for spec in self.targets:
            if spec.instance not in self.instances:
                raise ValueError(f"targets: instance {spec.instance!r} is not under `instances:` ({', '.join(self.instances)})")
        for name in self.instances:
            if "/" in name or not name:
                raise ValueError(f"instance name {name!r}: no slash (targets are named <instance>/<database>)")
        return self


@dataclass(frozen=True)
class Target:
    """One database of the fleet, and the inventory its runbook runs with."""

    name: str  # <instance>/<database>
    instance: str
    database: str
    config: Config

    @property
    def backup_dir(self) -> Path:
        return self.config.inventory.backup.dir


@dataclass(frozen=True)
class Fleet:
    spec: FleetInventory
    path: Path
    playbook: Playbook
    playbook_path: Path

    @property
    def dir(self) -> Path:
        return self.spec.dir

    def limits(self) -> dict[str, int]:
        return {name: instance.max_parallel for name, instance in self.spec.instances.items()}

    def target_names(self, discovered: dict[str, list[str]] | None = None) -> list[str]:
        """Every target's name, in inventory order (instances' listed, then discovered, then `targets:`)."""
        names: list[str] = []
        for iname, instance in self.spec.instances.items():
            for db in [*instance.databases, *(discovered or {}).get(iname, [])]:
                if not any(fnmatch.fnmatchcase(db, pattern) for pattern in instance.exclude):
                    names.append(f"{iname}/{db}")
        names += [f"{s.instance}/{s.database}" for s in self.spec.targets]
        return list(dict.fromkeys(names))

    def target(self, name: str) -> Target:
        iname, _, database = name.partition("/")
        instance = self.spec.instances.get(iname)
        if instance is None or not database:
            raise UsageError(f"no target {name!r} in fleet {self.spec.name}", next_step="targets are named <instance>/<database>")
        data, lines = load_yaml(self.spec.base)
        data = _resolve_paths(data, base=self.spec.base.resolve().parent)
        if not isinstance(data, dict):
            raise ConfigError("expected a mapping of keys at the top level", source=str(self.spec.base))
        database_section = dict(data.get("database") or {})
        database_section["url"] = instance.url.with_dbname(database)
        if instance.passfile is not None:
            database_section["passfile"] = str(instance.passfile)
        data["database"] = database_section
        data["name"] = f"{self.spec.name}:{name}"
        data.setdefault("backup", {})
        data["backup"] = {**data["backup"], "dir": str(self.dir / "targets" / iname / database)}
        for overrides in (instance.overrides, *(s.overrides for s in self.spec.targets if f"{s.instance}/{s.database}" == name)):
            _merge(data, overrides)
        inventory: Inventory = _validate(Inventory, data, lines, self.spec.base)
        return Target(name, iname, database, Config(inventory, self.playbook, self.path, self.playbook_path))

    def waves(self, names: list[str]) -> tuple[Wave, ...]:
        policy = self.spec.policy
        try:
            return plan_waves(names, policy.canary, policy.waves)
        except PolicyError as exc:
            raise ConfigError(f"policy: {exc}", source=str(self.path), next_step=f"fix {self.path} and run again") from None


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged = dict(base[key])
            _merge(merged, value)
            base[key] = merged
        else:
            base[key] = value


def load_fleet(path: str | Path, playbook: str | Path | None = None) -> Fleet:
    from ..config import DEFAULT_PLAYBOOK

    path = Path(path)
    data, lines = load_yaml(path)
    if isinstance(data, dict):
        here = path.resolve().parent
        for key in ("base", "playbook", "dir"):
            if isinstance(data.get(key), str):
                data[key] = str((here / Path(data[key]).expanduser()).resolve())
        for instance in (data.get("instances") or {}).values() if isinstance(data.get("instances"), dict) else []:
            if isinstance(instance, dict) and isinstance(instance.get("passfile"), str):
                instance["passfile"] = str((here / Path(instance["passfile"]).expanduser()).resolve())
        data.setdefault("dir", str(here / "fleet"))
    spec: FleetInventory = _validate(FleetInventory, data, lines, path)
    pb_path = Path(playbook) if playbook else (spec.playbook or DEFAULT_PLAYBOOK)
    return Fleet(spec, path, load_playbook(pb_path), pb_path)


def discover(fleet: Fleet) -> dict[str, list[str]]:
    """Per instance with `discover:`, the databases whose name matches, read in a READ ONLY transaction."""
    from ..pg import connect, map_errors, read_only

    found: dict[str, list[str]] = {}
    for iname, instance in fleet.spec.instances.items():
        if not instance.discover:
            continue
        settings = DatabaseSettings(url=instance.url, passfile=instance.passfile, application_name="pgrunbook")
        with map_errors(f"discovering the databases of instance {iname}", changed="nothing was changed (read only)",
                        next_step=f"check instances.{iname}.url in {fleet.path}", url=instance.url):
            with connect(settings) as conn, read_only(conn):
                names = [row[0] for row in conn.execute(
                    "SELECT datname FROM pg_database WHERE NOT datistemplate AND datallowconn ORDER BY datname")]
        found[iname] = [name for name in names if fnmatch.fnmatchcase(name, instance.discover)]
    return found
