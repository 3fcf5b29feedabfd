"""The safety policy: which operation kinds are allowed, reviewed or forbidden.

The default is the ops runbook's policy:

- FORBIDDEN: seeding (INSERT/COPY into user tables), TRUNCATE, DROP (any object),
  DELETE, UPDATE, plus what cannot be checked or reaches outside the schema
  (`dynamic-sql`, `dangerous-call`);
- ALLOWED: CREATE INDEX (IF NOT EXISTS: see rule `create-index-without-if-not-exists`),
  ALTER TABLE ADD COLUMN, ANALYZE, INSERT INTO drizzle.__drizzle_migrations, and DO blocks
  without any SQL statement. (Issue 9 narrowed the tracking insert: the rules
  `ban-tracking-table-write` and `review-tracking-row-from-journal`, with fixed verdicts,
  forbid any write to it from a migration file but the literal row of a journal entry,
  which is reviewed: the kind's verdict only matters for a policy changing those rules.)
- everything else needs a human's explicit allow: REVIEW.

A playbook adjusts it with a plain dict (every key optional; `{}` is the default)::

    {
      "defaults": true,               # start from the runbook's lists above (false: every
                                      #   kind starts at review)
      "allow":  ["create-table"],     # kinds to allow
      "review": ["add-column"],       # kinds to put back to review
      "forbid": ["create-extension"], # kinds to forbid
      "rules": {                      # per-rule verdict: forbidden/review/info/allowed/off
        "non-concurrent-index": "review",
        "create-index-without-if-not-exists": "off",
        "squawk:prefer-text-field": "off"   # squawk's rules too, by their `squawk:` id
      },
      "inline_allow": "review",       # the worst verdict a `-- pgrunbook: allow` comment
                                      #   may lift: "review" (default) or "forbidden"
      "tracking_table": "drizzle.__drizzle_migrations"   # or a list of them
    }

Kinds are those of `classify.KINDS`; a kind may appear in only one of the three lists;
unknown kinds, rules or keys are configuration errors. A rule's verdict in `rules` wins
over the verdict of its kind. `"allowed"` and `"off"` silence a rule. Squawk's rules are
set the same way (`squawk:<rule>`; any name, as squawk's rule set changes with its
versions): the verdict replaces the adapter's default (review or info).

By default an inline comment may only lift `review` (and `info`) findings: the runbook's
FORBIDDEN list is not something a line in the migration itself can waive. A team that
wants that must say so in the playbook (`"inline_allow": "forbidden"`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from pgrunbook.errors import ConfigError

from .classify import KINDS
from .model import Operation, Verdict
from .names import DEFAULT_SCHEMA
from .rules import RULES, Rule

SQUAWK_PREFIX = "squawk:"  # squawk's rules, as `squawk:<rule>` (sqlcheck.squawk's prefix)

DEFAULT_ALLOW = frozenset({"create-index", "add-column", "analyze", "insert-tracking", "do-block"})
DEFAULT_FORBID = frozenset(
    {"drop", "truncate", "delete", "update", "insert-seed", "dynamic-sql", "dangerous-call"}
)
DEFAULT_TRACKING_TABLES = frozenset({("drizzle", "__drizzle_migrations")})

_KEYS = frozenset({"defaults", "allow", "review", "forbid", "rules", "inline_allow", "tracking_table"})
_RULE_VERDICTS = {
    "forbidden": Verdict.FORBIDDEN,
    "review": Verdict.REVIEW,
    "info": Verdict.INFO,
    "allowed": Verdict.ALLOWED,
    "off": Verdict.ALLOWED,
}
_SOURCE = "playbook policy"


@dataclass(frozen=True)
class Policy:
    """Verdicts for operation kinds and rules. Build it with `Policy.from_dict`."""

    allow: frozenset[str] = DEFAULT_ALLOW
    forbid: frozenset[str] = DEFAULT_FORBID
    rule_verdicts: tuple[tuple[str, Verdict], ...] = ()
    inline_allow: Verdict = Verdict.REVIEW
    tracking_tables: frozenset[tuple[str, str]] = DEFAULT_TRACKING_TABLES

    @classmethod
    def from_dict(cls, data: Mapping[str, object] | None) -> Policy:
        """The policy a playbook describes (see the module docstring); raise ConfigError."""
        data = dict(data or {})
        unknown = sorted(set(data) - _KEYS)
        if unknown:
            expected = ", ".join(sorted(_KEYS))
            raise ConfigError(f"unknown key(s) {', '.join(unknown)}; expected {expected}", source=_SOURCE)
        defaults = data.get("defaults", True)
        if not isinstance(defaults, bool):
            raise ConfigError("`defaults` must be true or false", source=_SOURCE)
        allow = set(DEFAULT_ALLOW if defaults else ())
        forbid = set(DEFAULT_FORBID if defaults else ())
        allow_given, review_given, forbid_given = (_kinds(data, key) for key in ("allow", "review", "forbid"))
        _no_overlap(allow_given, review_given, forbid_given)
        allow = (allow - review_given - forbid_given) | allow_given
        forbid = (forbid - review_given - allow_given) | forbid_given
        return cls(
            allow=frozenset(allow),
            forbid=frozenset(forbid),
            rule_verdicts=_rule_verdicts(data.get("rules", {})),
            inline_allow=_inline_allow(data.get("inline_allow", "review")),
            tracking_tables=_tracking_tables(data.get("tracking_table")),
        )

    def kind_verdict(self, kind: str) -> Verdict:
        if kind in self.forbid:
            return Verdict.FORBIDDEN
        if kind in self.allow:
            return Verdict.ALLOWED
        return Verdict.REVIEW

    def rule_verdict(self, rule: Rule, operation: Operation | None = None) -> Verdict:
        """The verdict of `rule`'s findings (ALLOWED: the rule says nothing)."""
        for rule_id, verdict in self.rule_verdicts:
            if rule_id == rule.id:
                return verdict
        if rule.verdict is not None:
            return rule.verdict
        return self.kind_verdict(operation.kind) if operation is not None else Verdict.REVIEW

    def tool_verdict(self, rule_id: str, default: Verdict) -> Verdict:
        """The verdict of another tool's finding (`squawk:<rule>`): the playbook's `rules` entry, else `default`."""
        for known, verdict in self.rule_verdicts:
            if known == rule_id:
                return verdict
        return default

    def with_tracking_table(self, schema: str, table: str) -> Policy:
        """This policy, also knowing `schema.table` as a tracking table (the inventory's)."""
        return replace(self, tracking_tables=self.tracking_tables | {(schema, table)})

    def may_lift(self, verdict: Verdict) -> bool:
        """Whether an inline allow comment may except a finding of this verdict."""
        return verdict.rank <= self.inline_allow.rank


DEFAULT_POLICY = Policy()


# --------------------------------------------------------------------------- parsing


def _kinds(data: Mapping[str, object], key: str) -> set[str]:
    value = data.get(key, [])
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigError(f"`{key}` must be a list of operation kinds", source=_SOURCE)
    kinds = set(value)
    unknown = sorted(kinds - KINDS)
    if unknown:
        raise ConfigError(
            f"`{key}`: unknown operation kind(s) {', '.join(map(str, unknown))}; "
            f"known kinds: {', '.join(sorted(KINDS))}",
            source=_SOURCE,
        )
    return kinds


def _no_overlap(allow: set[str], review: set[str], forbid: set[str]) -> None:
    lists = {"allow": allow, "review": review, "forbid": forbid}
    for first, second in (("allow", "review"), ("allow", "forbid"), ("review", "forbid")):
        kinds = lists[first] & lists[second]
        if kinds:
            listed = ", ".join(sorted(kinds))
            raise ConfigError(f"kind(s) {listed} listed in both `{first}` and `{second}`", source=_SOURCE)


def _rule_verdicts(value: object) -> tuple[tuple[str, Verdict], ...]:
    if not isinstance(value, Mapping):
        raise ConfigError("`rules` must map rule ids to forbidden/review/info/allowed/off", source=_SOURCE)
    verdicts = []
    for rule_id, verdict in value.items():
        squawk = isinstance(rule_id, str) and rule_id.startswith(SQUAWK_PREFIX) and len(rule_id) > len(SQUAWK_PREFIX)
        if rule_id not in RULES and not squawk:
            raise ConfigError(f"`rules`: unknown rule {rule_id!r} (squawk's rules are written squawk:<rule>)",
                              source=_SOURCE)
        if verdict not in _RULE_VERDICTS:
            choices = ", ".join(_RULE_VERDICTS)
            raise ConfigError(f"`rules`: {rule_id}: {verdict!r} is not one of {choices}", source=_SOURCE)
        verdicts.append((rule_id, _RULE_VERDICTS[verdict]))
    return tuple(sorted(verdicts))


def _inline_allow(value: object) -> Verdict:
    if value not in ("review", "forbidden"):
        raise ConfigError("`inline_allow` must be \"review\" or \"forbidden\"", source=_SOURCE)
    return Verdict(value)


def _tracking_tables(value: object) -> frozenset[tuple[str, str]]:
    if value is None:
        return DEFAULT_TRACKING_TABLES
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, Iterable) or not all(isinstance(n, str) and n for n in names):
        raise ConfigError("`tracking_table` must be a table name like drizzle.__drizzle_migrations", source=_SOURCE)
    tables = set()
    for name in names:
        schema, _, table = name.rpartition(".")
        tables.add((schema or DEFAULT_SCHEMA, table))
    return frozenset(tables)
