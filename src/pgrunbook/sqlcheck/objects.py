"""The objects migrations create, and what exists after a set of them has run.

Two uses:

- *baseline evidence*: when the tracking table says a migration already ran, the objects
  it creates should exist in the live database (`created_objects`);
- *expected post-state*: after the pending migrations run, these objects should exist
  and those should not (`objects_after`), applying creates, drops and renames in order.

Only operations that run during the migration count (`Operation.executed`): the body of
a function nobody calls creates nothing. Objects are compared the way PostgreSQL names
them: case-sensitive, schema-qualified (`public` by default). Drops and renames of
objects the migrations did not create still count: after `ALTER TABLE users RENAME TO
people`, `people` is expected and `users` is not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from .model import CreatedObject, Operation

# Kinds whose name is only unique within their table.
_TABLE_SCOPED = frozenset({"column", "constraint", "trigger", "policy", "rule"})
_RELATIONS = frozenset({"table", "view"})

Key = tuple[str, str, str | None, str]


def key(obj: CreatedObject) -> Key:
    return (obj.kind, obj.schema, obj.table if obj.kind in _TABLE_SCOPED else None, obj.name)


def created_objects(operations: Iterable[Operation]) -> tuple[CreatedObject, ...]:
    """Every object the operations create, in order, without duplicates."""
    seen: dict[Key, CreatedObject] = {}
    for operation in operations:
        if operation.executed:
            for obj in operation.creates:
                seen.setdefault(key(obj), obj)
    return tuple(seen.values())


@dataclass(frozen=True)
class ObjectState:
    """What should exist (`present`) and not exist (`absent`) after the migrations."""

    present: tuple[CreatedObject, ...]
    absent: tuple[CreatedObject, ...]

    def of_kind(self, kind: str) -> tuple[CreatedObject, ...]:
        return tuple(obj for obj in self.present if obj.kind == kind)

    @property
    def tables(self) -> tuple[CreatedObject, ...]:
        return self.of_kind("table")

    @property
    def indexes(self) -> tuple[CreatedObject, ...]:
        return self.of_kind("index")

    def columns_of(self, schema: str, table: str) -> tuple[str, ...]:
        return tuple(o.name for o in self.present if o.kind == "column" and (o.schema, o.table) == (schema, table))


def objects_after(migrations: Iterable[object]) -> ObjectState:
    """Apply the operations of `migrations` (FileAnalysis objects, or iterables of
    operations) in order and return the resulting object state."""
    state = _State()
    for migration in migrations:
        for operation in getattr(migration, "operations", migration):
            if operation.executed:
                state.apply(operation)
    return ObjectState(tuple(state.present.values()), tuple(state.absent.values()))


class _State:
    def __init__(self) -> None:
        self.present: dict[Key, CreatedObject] = {}
        self.absent: dict[Key, CreatedObject] = {}

    def apply(self, operation: Operation) -> None:
        for obj in operation.creates:
            self._add(obj)
        if operation.kind == "drop" and operation.target is not None:
            self._drop(operation.target)
        elif operation.kind == "rename" and operation.target is not None and operation.new_name:
            if operation.has("set_schema"):
                self._move(operation.target, operation.new_name)
            else:
                self._rename(operation.target, operation.new_name)

    # ----------------------------------------------------------------- creates and drops

    def _add(self, obj: CreatedObject) -> None:
        self.present.setdefault(key(obj), obj)  # IF NOT EXISTS: the first definition stays
        self.absent.pop(key(obj), None)

    def _remove(self, obj: CreatedObject) -> None:
        self.present.pop(key(obj), None)
        self.absent[key(obj)] = obj

    def _drop(self, target: CreatedObject) -> None:
        if target.kind == "schema":
            dependents = [o for o in self.present.values() if o.schema == target.name]
        elif target.kind in _RELATIONS:
            dependents = [o for o in self.present.values() if (o.schema, o.table) == (target.schema, target.name)]
        elif target.kind == "column":
            dependents = [o for o in self._on_table(target) if target.name in o.columns]
        elif target.kind == "constraint":  # the index enforcing it goes with it
            dependents = [o for o in self._on_table(target) if o.kind == "index" and o.name == target.name]
        else:
            dependents = []
        for obj in dependents:
            self.present.pop(key(obj), None)
        self._remove(self._known(target))

    def _known(self, target: CreatedObject) -> CreatedObject:
        """The tracked object a DROP/RENAME names (DROP INDEX does not say the table)."""
        if target.kind in _TABLE_SCOPED:
            return self.present.get(key(target), target)
        for obj in self.present.values():
            if (obj.kind, obj.schema, obj.name) == (target.kind, target.schema, target.name):
                return obj
        return target

    def _on_table(self, target: CreatedObject) -> list[CreatedObject]:
        same_table = (target.schema, target.table)
        return [o for o in self.present.values() if (o.schema, o.table) == same_table and o is not target]

    # ----------------------------------------------------------------- renames

    def _rename(self, target: CreatedObject, new_name: str) -> None:
        old = self._known(target)
        if old.kind in _RELATIONS:
            self._retable(old.schema, old.name, old.schema, new_name)
        elif old.kind == "column":
            self._recolumn(old, new_name)
        elif old.kind == "schema":
            self._reschema(old.name, new_name)
            return
        elif old.kind == "constraint":  # renaming a constraint renames its index too
            index = next((o for o in self._on_table(old) if o.kind == "index" and o.name == old.name), None)
            if index is not None:
                self._replace(index, replace(index, name=new_name, implicit=False))
        elif old.kind not in ("type", "index", "sequence", "function", "materialized view"):
            return  # enum values, triggers...: not tracked
        self._replace(old, replace(old, name=new_name, implicit=False))

    def _move(self, target: CreatedObject, new_schema: str) -> None:
        old = self._known(target)
        if old.kind in _RELATIONS:
            self._retable(old.schema, old.name, new_schema, old.name)
        self._replace(old, replace(old, schema=new_schema))

    def _replace(self, old: CreatedObject, new: CreatedObject) -> None:
        self._remove(old)
        self._add(new)

    def _retable(self, schema: str, table: str, new_schema: str, new_table: str) -> None:
        for obj in list(self.present.values()):
            if (obj.schema, obj.table) == (schema, table):
                self.present.pop(key(obj))
                moved = replace(obj, schema=new_schema, table=new_table)
                self.present[key(moved)] = moved

    def _recolumn(self, column: CreatedObject, new_name: str) -> None:
        for obj in self._on_table(column):
            if column.name in obj.columns:
                columns = tuple(new_name if c == column.name else c for c in obj.columns)
                self.present[key(obj)] = replace(obj, columns=columns)
        self._replace(column, replace(column, name=new_name))

    def _reschema(self, schema: str, new_schema: str) -> None:
        for obj in list(self.present.values()):
            if obj.schema == schema:
                self.present.pop(key(obj))
                moved = replace(obj, schema=new_schema, name=new_schema if obj.kind == "schema" else obj.name)
                self.present[key(moved)] = moved
        self.absent[("schema", schema, None, schema)] = CreatedObject("schema", schema, None, schema)
        self._add(CreatedObject("schema", new_schema, None, new_schema))
