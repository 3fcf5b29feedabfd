"""Table names as the playbook writes them: `users` (schema public) or `auth.users` (pure).

One rule everywhere a playbook names a table (expectations.tables, critical_tables,
role_count.table, fingerprint.table): a name without a dot is in `public`, the schema drizzle-kit
uses by default; `schema.table` names another schema. Identifiers are taken as written (no
quoting, no dot inside a name): what `CREATE TABLE "auth"."users"` makes is `auth.users` here.
"""

from __future__ import annotations


def split_table(name: str) -> tuple[str, str]:
    """`auth.users` -> ("auth", "users"); `users` -> ("public", "users")."""
    schema, dot, table = name.partition(".")
    return (schema, table) if dot else ("public", name)


def qualified(name: str) -> str:
    """The schema-qualified form every table count is keyed by (`public.users`)."""
    return "{}.{}".format(*split_table(name))
