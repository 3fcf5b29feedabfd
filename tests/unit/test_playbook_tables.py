"""Playbook table names and defaults for any app (issue 12, item 1), without a server."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pgrunbook.config import Expectations, FingerprintSpec
from pgrunbook.names import qualified, split_table


@pytest.mark.parametrize(("name", "parts"), [("users", ("public", "users")), ("auth.users", ("auth", "users"))])
def test_a_name_without_a_schema_is_in_public(name, parts):
    assert split_table(name) == parts and qualified(name) == ".".join(parts)


def test_critical_tables_default_to_the_playbooks_own_tables_not_the_seeds():
    exp = Expectations(tables=["accounts", "auth.users"], role_count={"table": "auth.users", "column": "role"})
    assert exp.critical_tables == ["auth.users", "accounts"]
    assert "campaigns" not in Expectations(tables=["accounts"]).critical_tables


def test_critical_tables_set_explicitly_are_kept():
    assert Expectations(tables=["a"], critical_tables=["a", "b"]).critical_tables == ["a", "b"]
    assert Expectations(tables=["a"], critical_tables=[]).critical_tables == []


def test_the_fingerprint_defaults_to_the_role_table_and_can_be_named_or_turned_off():
    assert Expectations(tables=[]).fingerprinted == FingerprintSpec(table="users")
    named = Expectations(tables=[], fingerprint={"table": "auth.users", "columns": ["id", "email"]})
    assert named.fingerprinted == FingerprintSpec(table="auth.users", columns=["id", "email"])
    assert Expectations(tables=[], fingerprint=False).fingerprinted is None
    with pytest.raises(ValidationError):
        Expectations(tables=[], fingerprint=True)
