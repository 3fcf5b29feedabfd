"""Review noise of the lint on ordinary drizzle-kit output (issue 12 item 7).

Runs the gate's lint (`planning.lint_plan`'s steps: our rules with the default policy, squawk
merged in with `with_findings`, the lock estimates) over each real-world project of
`tests/realworld/` as a brand-new database plan: every file from 0000 is applied, no table
exists yet (every `CREATE TABLE [IF NOT EXISTS]` meets none), no code in the database (an empty
catalog), no live column types. Prints the blocking findings (review or forbidden) grouped by rule
id (with a sample statement each) and by project.

    python bench/lint_noise.py              # the table
    python bench/lint_noise.py --json       # {"total": n, "by_rule": {...}, "by_project": {...}}
    python bench/lint_noise.py --rule review-create-table --all   # every finding of one rule
    python bench/lint_noise.py --no-squawk  # our rules only

`blocking_findings()` is what tests/realworld/test_realworld.py pins.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "realworld"


def projects() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if (p / "SOURCE").is_file())


def blocking_findings(project: Path, *, squawk: bool = True) -> list:
    """The blocking findings of the gate's lint on `project` applied to a new database, in file order."""
    from pgrunbook.analyze import lock_estimates
    from pgrunbook.drizzle import load_migrations
    from pgrunbook.planning import SQUAWK_EXCLUDED
    from pgrunbook.sqlcheck import DEFAULT_POLICY, CodeCatalog, analyze_files, with_findings

    local = load_migrations(project / "drizzle")
    files = [(m.filename, m.text) for m in local.entries]
    journal = tuple((m.hash, m.when) for m in local.entries)
    created = {(op.target.schema, op.target.name) for a in analyze_files(files) for op in a.operations
               if op.kind == "create-table" and op.target is not None}
    # a new database holds no code: an empty catalog (analyze reads the live one)
    analyses = analyze_files(files, DEFAULT_POLICY, catalog=CodeCatalog(), journal=journal, absent_tables=created,
                             column_types={})
    lock_findings = ()
    if squawk:
        from pgrunbook.sqlcheck import run_squawk

        lock_findings = run_squawk([m.path for m in local.entries], in_transaction=True, exclude=SQUAWK_EXCLUDED)
    new_tables = {f"{o.schema}.{o.name}" for a in analyses for o in a.created if o.kind == "table"}
    merged = [with_findings(a, [f for f in lock_findings if f.file.endswith(a.file)] + list(lock_estimates(a, (), new_tables)),
                            DEFAULT_POLICY) for a in analyses]
    return [f for a in merged for f in a.blocking]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-squawk", action="store_true")
    parser.add_argument("--rule", help="print every finding of this rule id")
    parser.add_argument("--all", action="store_true", help="with --rule: every finding, not one per project")
    args = parser.parse_args(argv)
    found = {p.name: blocking_findings(p, squawk=not args.no_squawk) for p in projects()}
    by_rule: dict[str, Counter] = defaultdict(Counter)
    sample: dict[str, object] = {}
    for name, findings in found.items():
        for f in findings:
            by_rule[f.rule_id][name] += 1
            sample.setdefault(f.rule_id, f)
    total = sum(len(v) for v in found.values())
    if args.json:
        print(json.dumps({"total": total, "by_project": {n: len(v) for n, v in found.items()},
                          "by_rule": {r: dict(c) for r, c in sorted(by_rule.items(), key=lambda kv: -sum(kv[1].values()))}},
                         indent=2))
        return 0
    if args.rule:
        for name, findings in found.items():
            hits = [f for f in findings if f.rule_id == args.rule]
            for f in hits if args.all else hits[:1]:
                print(f"{name}/{f.file}:{f.line} [{f.verdict.value}] {f.message}\n    {' '.join((f.statement or '').split())[:300]}")
        return 0
    print(f"blocking findings on a new database: {total}  " + "  ".join(f"{n}={len(v)}" for n, v in found.items()))
    for rule, counts in sorted(by_rule.items(), key=lambda kv: -sum(kv[1].values())):
        f = sample[rule]
        per = ", ".join(f"{n} {c}" for n, c in sorted(counts.items()))
        print(f"\n{sum(counts.values()):5d}  {rule}  ({per})  [{f.verdict.value}]")
        print(f"       {f.file}:{f.line}: {' '.join((f.statement or '').split())[:200]}")
        print(f"       -> {f.message[:200]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
