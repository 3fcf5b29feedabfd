"""Reviewed exceptions in the playbook, pinned to one migration file's hash.

A team with one deliberate `DROP COLUMN` should neither allow `ban-drop` for every future
migration nor edit the file (which changes drizzle's hash and breaks every database where
it already ran). The playbook says, once, after review::

    exceptions:
      - migration: 0133_drop_legacy_flag         # the journal tag
        sha256: 5f1c...e9                         # drizzle's hash of the file (`inv analyze` shows it)
        rules: [ban-drop, squawk:ban-drop-column]
        objects: [public.users.legacy_flag]       # optional: only findings about these objects (a table: and on it)
        reason: the flag is unused since v2.3 (PR 812)
        reviewed_by: jd

What it lifts. Findings of the listed rules in that file (squawk's as `squawk:<rule>`),
restricted to `objects` when given (a finding about another object stays; squawk's findings
name no object, so they match only an exception without `objects`). A playbook exception
may lift a forbidden finding of the file's own statements, unlike an inline comment under
the default policy: it is out of the file, reviewed, and pinned to the exact bytes reviewed.
It never lifts what no inline comment may lift whatever the policy (`Finding.waivable`
False: forbidden findings of code the run executes implicitly, a trigger on the ledger, a
function called from a default...). Those are not in the file as written: the reviewer of
the file's text did not review them, and the same file can run different code against a
different database. Safety first: fix the code, not the verdict.

What voids it. Another hash: the file is not what was reviewed. The exception then lifts
nothing and the file gets an `exception-file-changed` finding (review) naming the file,
the pinned and the actual hash. An exception that lifts nothing (its migration is not in
the plan, or no finding matches) is returned as stale, for a WARN.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from pgrunbook.errors import ConfigError

from .analysis import SQUAWK_PREFIX, FileAnalysis
from .model import Finding, Verdict
from .names import DEFAULT_SCHEMA
from .rules import RULES

_SOURCE = "playbook exceptions"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_KEYS = frozenset({"migration", "sha256", "rules", "objects", "reason", "reviewed_by"})
FILE_CHANGED = "exception-file-changed"
UNLIFTABLE = frozenset({FILE_CHANGED})


@dataclass(frozen=True)
class ReviewedException:
    """One reviewed exception: `migration` (journal tag) pinned to `sha256` may break `rules`."""

    migration: str
    sha256: str
    rules: tuple[str, ...]
    reason: str
    reviewed_by: str
    objects: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, object], index: int = 0) -> ReviewedException:
        where = f"exceptions[{index}]"
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where} must be a mapping", source=_SOURCE)
        unknown = sorted(set(data) - _KEYS)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; expected {', '.join(sorted(_KEYS))}",
                              source=_SOURCE)
        text = {key: str(data.get(key) or "").strip() for key in ("migration", "sha256", "reason", "reviewed_by")}
        for key, value in text.items():
            if not value:
                raise ConfigError(f"{where}: `{key}` is required (an exception says which file, which bytes, why "
                                  "and who reviewed it)", source=_SOURCE)
        sha = text["sha256"].lower()
        if not _SHA256.fullmatch(sha):
            raise ConfigError(f"{where}: `sha256` must be the 64 hex digits of drizzle's hash of the file", source=_SOURCE)
        rules = _names(data.get("rules"), f"{where}.rules")
        if not rules:
            raise ConfigError(f"{where}: `rules` must list at least one rule id", source=_SOURCE)
        for rule_id in rules:
            if not rule_id.startswith(SQUAWK_PREFIX) and rule_id not in RULES:
                raise ConfigError(f"{where}: unknown rule {rule_id!r} (squawk's rules are written squawk:<rule>)",
                                  source=_SOURCE)
            if rule_id in UNLIFTABLE:
                raise ConfigError(f"{where}: {rule_id} cannot be excepted: update the pinned sha256 after reviewing "
                                  "the file again", source=_SOURCE)
        objects = _names(data.get("objects"), f"{where}.objects")
        return cls(text["migration"], sha, rules, text["reason"], text["reviewed_by"], objects)

    @property
    def label(self) -> str:
        objects = f" on {', '.join(self.objects)}" if self.objects else ""
        return f"{self.migration} may break {', '.join(self.rules)}{objects} (reviewed by {self.reviewed_by})"

    def matches(self, finding: Finding) -> bool:
        if finding.rule_id not in self.rules or finding.excepted is not None or not finding.waivable:
            return False
        if finding.rule_id in UNLIFTABLE:
            return False
        if not self.objects:
            return True
        return any(_same_object(wanted, found) for wanted in self.objects for found in finding.objects)


def parse_exceptions(items: Iterable[Mapping[str, object]] | None) -> tuple[ReviewedException, ...]:
    """The playbook's `exceptions` list, validated (ConfigError)."""
    return tuple(ReviewedException.from_dict(item, i) for i, item in enumerate(items or ()))


@dataclass(frozen=True)
class PinnedFile:
    """What an exception is pinned to: a file of the plan, its journal tag and drizzle's hash of it."""

    tag: str
    file: str
    sha256: str


def apply_exceptions(
    analyses: Sequence[FileAnalysis], files: Sequence[PinnedFile], exceptions: Sequence[ReviewedException]
) -> tuple[tuple[FileAnalysis, ...], tuple[str, ...]]:
    """(the analyses with the playbook's exceptions applied, one line per stale exception)."""
    by_file = {f.file: f for f in files}
    used: set[ReviewedException] = set()
    result = []
    for analysis in analyses:
        pinned = by_file.get(analysis.file)
        mine = [e for e in exceptions if pinned is not None and e.migration == pinned.tag]
        findings = list(analysis.findings)
        for exception in mine:
            if exception.sha256 != pinned.sha256:
                used.add(exception)  # reported here, in the file's findings: not stale, void
                rule = RULES[FILE_CHANGED]
                findings.append(Finding(
                    FILE_CHANGED, rule.verdict,
                    f"the playbook exception \"{exception.label}\" is void: {pinned.file} changed since it was "
                    f"reviewed (pinned sha256 {exception.sha256}, the file's sha256 is now {pinned.sha256}); it "
                    "lifts nothing.",
                    rule.help, analysis.file, 1, "",
                ))
                continue
            for i, finding in enumerate(findings):
                if exception.matches(finding):
                    used.add(exception)
                    findings[i] = replace(finding, verdict=Verdict.ALLOWED, lifted_from=finding.verdict,
                                          excepted=f"{exception.reason} (playbook exception, reviewed by "
                                                   f"{exception.reviewed_by})")
        if findings != list(analysis.findings):
            analysis = replace(analysis, findings=tuple(findings), verdict=Verdict.worst(f.verdict for f in findings))
        result.append(analysis)
    stale = tuple(_stale(e, files) for e in exceptions if e not in used)
    return tuple(result), stale


def _stale(exception: ReviewedException, files: Sequence[PinnedFile]) -> str:
    if not any(f.tag == exception.migration for f in files):
        return f"exception \"{exception.label}\" matches nothing: {exception.migration} is not a migration this plan applies"
    return (f"exception \"{exception.label}\" matches nothing: {exception.migration} has no finding of "
            f"{', '.join(exception.rules)}" + (" about those objects" if exception.objects else "")
            + " that a playbook exception may lift")


def _names(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigError(f"`{where}` must be a list", source=_SOURCE)
    names = tuple(str(v).strip() for v in value)
    if not all(names):
        raise ConfigError(f"`{where}` holds an empty name", source=_SOURCE)
    return names


def _same_object(wanted: str, found: str) -> bool:
    """`users.legacy_flag` names `public.users.legacy_flag`; `users` names `public.users` and what is on it
    (`public.users.legacy_flag`, a constraint `public.users.users_email_key`): a reviewer who names a table
    reviewed the change of that table."""
    names = (wanted, f"{DEFAULT_SCHEMA}.{wanted}")
    return found in names or any(found.startswith(f"{name}.") and found.count(".") == 2 for name in names
                                 if name.count(".") == 1)


# --------------------------------------------------------------------------- the plan's one lint result

# Operation kinds the GO line names when the plan runs them (issue 12 item 5: say what is there, never a fixed text).
DESTRUCTIVE = {"drop": "DROP", "delete": "DELETE", "update": "UPDATE", "truncate": "TRUNCATE", "insert-seed": "seeding"}


@dataclass(frozen=True)
class PlanLint:
    """The one lint result of a plan: what analyze shows, the gate decides on and the journal records.

    It is the sequence of its analyses (one per migration to apply, in order), so code that
    only needs them iterates it; `stale_exceptions` are the playbook exceptions that lifted
    nothing (a WARN).
    """

    analyses: tuple[FileAnalysis, ...]
    stale_exceptions: tuple[str, ...] = ()

    def __iter__(self):  # noqa: ANN204
        return iter(self.analyses)

    def __len__(self) -> int:
        return len(self.analyses)

    def __getitem__(self, index: int) -> FileAnalysis:
        return self.analyses[index]

    @property
    def exceptions(self) -> tuple[Finding, ...]:
        return tuple(f for a in self.analyses for f in a.exceptions)

    def contains(self) -> tuple[tuple[str, int], ...]:
        """(verb, how many operations) of DROP / DELETE / UPDATE / TRUNCATE / seeding the plan runs."""
        return plan_contains(self.analyses)


def plan_contains(analyses: Iterable[FileAnalysis]) -> tuple[tuple[str, int], ...]:
    """(verb, count) of the destructive operations the migrations run (their own statements and the code they
    execute), in DESTRUCTIVE's order; verbs absent are left out."""
    counts = dict.fromkeys(DESTRUCTIVE.values(), 0)
    for analysis in analyses:
        for op in (*analysis.operations, *analysis.run_operations):
            if op.executed and op.kind in DESTRUCTIVE:
                counts[DESTRUCTIVE[op.kind]] += 1
    return tuple((verb, n) for verb, n in counts.items() if n)
