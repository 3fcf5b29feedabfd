"""YAML loading that remembers where every value came from and expands `${VAR}`.

`load_yaml(path)` returns plain Python data plus a `Lines` map from key paths
(`("database", "url")`) to 1-based line numbers, so that configuration errors can say
`inventory/production.yml:7 database.url: ...`. Interpolation happens on scalar values
only, never on keys, so an error can name the key whose value needs the variable.

Syntax: `${NAME}` (required) and `${NAME:-default}` (default when unset or empty);
`$${` is a literal `${`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

KeyPath = tuple[str | int, ...]
Lines = dict[KeyPath, int]

_VAR = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def dotted(path: KeyPath) -> str:
    """`("backup", "targets", 0, "path")` -> `backup.targets[0].path`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def interpolate(value: str, *, env: Mapping[str, str], where: str, missing: list[tuple[str, str]] | None = None) -> str:
    """`value` with its `${VAR}` expanded. A required variable that is not set raises, or, given
    `missing`, is noted there (name, where) and left empty, so that a file reports all of them at once."""
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, default = match.group(1), match.group(2)
        found = env.get(name)
        if found:
            return found
        if default is not None:
            return default
        if missing is not None:
            missing.append((name, where))
            return ""
        raise _missing_error([(name, where)])

    return _VAR.sub(replace, value)


def _missing_error(missing: list[tuple[str, str]]) -> ConfigError:
    """Every required variable a file needs and the environment lacks, in one error."""
    names = list(dict.fromkeys(name for name, _ in missing))
    if len(missing) == 1:
        name, where = missing[0]
        return ConfigError(f"environment variable {name} is not set", source=where,
                           next_step=f"export {name}=... (or give a default: ${{{name}:-value}}) and run again")
    places = "; ".join(f"{name} ({where})" for name, where in missing)
    return ConfigError(f"{len(names)} environment variables are not set: {places}",
                       next_step="export " + " ".join(f"{n}=..." for n in names) + " and run again (or give defaults: ${NAME:-value})")


def load_yaml(path: Path, *, env: Mapping[str, str] | None = None) -> tuple[Any, Lines]:
    env = os.environ if env is None else env
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", source=str(path), next_step="check the -i/--inventory or --playbook path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", source=str(path)) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"invalid YAML: {problem}", source=where, next_step="fix the YAML syntax at that line") from None
    lines: Lines = {}
    if node is None:
        return {}, lines
    missing: list[tuple[str, str]] = []
    data = _build(node, (), lines, path, env, missing)
    if missing:
        raise _missing_error(missing)
    return data, lines


def _build(node: yaml.Node, path: KeyPath, lines: Lines, file: Path, env: Mapping[str, str], missing: list[tuple[str, str]]) -> Any:
    lines[path] = node.start_mark.line + 1
    where = f"{file}:{node.start_mark.line + 1} {dotted(path)}" if path else str(file)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in out:
                raise ConfigError(f"duplicate key {key!r}", source=f"{file}:{key_node.start_mark.line + 1}")
            out[key] = _build(value_node, (*path, key), lines, file, env, missing)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), lines, file, env, missing) for i, item in enumerate(node.value)]
    value = _scalar(node)
    if isinstance(value, str) and "$" in value:
        return interpolate(value, env=env, where=where, missing=missing)
    return value


def _scalar(node: yaml.Node) -> Any:
    """The typed value of a scalar node (int, bool, null, float, str) per YAML 1.1 rules."""
    if node.tag == "tag:yaml.org,2002:str":
        return node.value
    return yaml.SafeLoader("").construct_object(node)
