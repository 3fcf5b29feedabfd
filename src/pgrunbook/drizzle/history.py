"""drizzle 1.0's migration history is a graph: which migrations were generated on diverging branches (pure).

Each 1.0 migration folder holds a `snapshot.json` with its `id` and `prevIds` (its parents; a merge
has two). drizzle-kit 1.0 checks the graph in its CLI (drizzle-kit 1.0.0-rc.5, `bin.cjs`,
`assertHistory`, `loadFolder`, `detectBranchConflicts`; Apache-2.0, © Drizzle Team):

    if (!parent) throw broken(node, missingParentMessage(node.folder, parentId), { parentId });
    if (!sortsAfter(node.folder, parent.folder)) throw folderOrderError(node, parent);
    leafIds: [...snapshots.keys()].filter((id) => !parentIds.has(id)).reverse()
    const leafIds = leafIdsOf(nodes);   // detectBranchConflicts: every pair of open heads

but the programmatic migrator (`migrate()`) reads `migration.sql` only, and `--ignore-conflicts`
skips the CLI's check: a folder merged from two branches is applied in name order, each branch's
SQL written against a schema without the other's. `check_history` reports, before anything runs:

- `heads`: more than one open head (snapshots no other names as parent): two branches, never merged;
- `missing-parent`: a parent id no folder holds (a folder deleted, or left on another branch);
- `parent-sorts-after`: a parent whose folder sorts after its child's (migrate runs the child first);
- `parent-not-applied`: a migration recorded as applied whose parent is not (the database took a
  branch's migration without its parent; the parent runs after it).

Folders without a readable snapshot (hand-written, or a 0.45 journal folder) are not checked: said, not guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .journal import LocalMigrations

ROOT = "00000000-0000-0000-0000-000000000000"  # drizzle-kit's originUUID: the first migration's parent
IssueKind = Literal["heads", "missing-parent", "parent-sorts-after", "parent-not-applied"]


@dataclass(frozen=True)
class Node:
    """One migration folder in the graph: its name, its snapshot id and its parents' ids."""

    tag: str
    id: str
    prev_ids: tuple[str, ...]


@dataclass(frozen=True)
class HistoryIssue:
    kind: IssueKind
    tags: tuple[str, ...]  # the migrations concerned (for heads: each head)
    message: str


@dataclass(frozen=True)
class History:
    checked: int  # migrations with a snapshot
    unchecked: tuple[str, ...]  # migrations without one
    heads: tuple[str, ...]  # the open heads' migrations, in name order
    issues: tuple[HistoryIssue, ...]

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def diverging(self) -> tuple[str, ...]:
        """Every migration an issue names, once, in name order."""
        return tuple(sorted({t for i in self.issues for t in i.tags}))

    def as_json(self) -> dict:
        return {"checked": self.checked, "unchecked": list(self.unchecked), "heads": list(self.heads),
                "issues": [{"kind": i.kind, "migrations": list(i.tags), "message": i.message} for i in self.issues]}


def check_history(nodes: Iterable[Node], *, applied: Iterable[str] = (), unchecked: Iterable[str] = ()) -> History:
    """The graph of `nodes` (one per migration with a snapshot), against the migrations `applied` (tags)."""
    nodes = sorted(nodes, key=lambda n: n.tag)
    done = set(applied)
    by_id = {n.id: n for n in nodes}
    parents = {p for n in nodes for p in n.prev_ids}
    heads = tuple(n.tag for n in nodes if n.id not in parents)
    issues: list[HistoryIssue] = []
    if len(heads) > 1:
        branches = "; ".join(f"{head} (from {_fork(by_id, nodes, head, heads)})" for head in heads)
        issues.append(HistoryIssue("heads", heads, f"{len(heads)} open heads, generated on diverging branches never merged: "
                                   f"{branches}; each branch's SQL was written without the other's"))
    for node in nodes:
        for parent_id in node.prev_ids:
            if parent_id == ROOT:
                continue
            parent = by_id.get(parent_id)
            if parent is None:
                issues.append(HistoryIssue("missing-parent", (node.tag,), f"{node.tag}: its parent snapshot {parent_id} is in no "
                                           "migration folder (deleted, or left on another branch)"))
            elif parent.tag >= node.tag:
                issues.append(HistoryIssue("parent-sorts-after", (node.tag, parent.tag), f"{node.tag} sorts before its parent "
                                           f"{parent.tag}: migrate would run it first"))
            elif node.tag in done and parent.tag not in done:
                issues.append(HistoryIssue("parent-not-applied", (node.tag, parent.tag), f"{node.tag} is recorded as applied but "
                                           f"its parent {parent.tag} is not: the database took a branch's migration without "
                                           "its parent, which would now run after it"))
    return History(len(nodes), tuple(sorted(unchecked)), heads, tuple(issues))


def history_of(local: LocalMigrations, applied: Iterable[str] = ()) -> History | None:
    """The history check of a loaded folder; None for a 0.45 journal folder (its history is a line: the journal)."""
    if local.format != "1.0":
        return None
    nodes = [Node(m.tag, m.snapshot_id, m.prev_ids) for m in local.entries if m.snapshot_id is not None]
    return check_history(nodes, applied=applied, unchecked=[m.tag for m in local.entries if m.snapshot_id is None])


def _fork(by_id: dict[str, Node], nodes: list[Node], head: str, heads: tuple[str, ...]) -> str:
    """Where `head`'s branch starts: its first ancestor that is not an ancestor of another head (or the first migration)."""
    tag_node = {n.tag: n for n in nodes}
    own = _ancestors(by_id, tag_node[head])
    others = set().union(*(_ancestors(by_id, tag_node[h]) for h in heads if h != head))
    mine = sorted(t for t in own if t not in others)
    return mine[0] if mine else head


def _ancestors(by_id: dict[str, Node], node: Node) -> set[str]:
    seen: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if current.tag in seen:
            continue
        seen.add(current.tag)
        stack.extend(by_id[p] for p in current.prev_ids if p in by_id)
    return seen
