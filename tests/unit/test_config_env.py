"""All missing `${VAR}` of a file in one error (issue 14, item 3), not one per run."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgrunbook._yaml import load_yaml
from pgrunbook.errors import ConfigError


def test_every_missing_variable_is_reported_at_once(tmp_path: Path):
    path = tmp_path / "inventory.yml"
    path.write_text("database:\n  url: postgresql://${DB_USER}:x@${DB_HOST}/app\napi:\n  password: ${API_PW}\n"
                    "  other: ${DB_USER}\n  fine: ${UNSET_WITH_DEFAULT:-ok}\n")
    with pytest.raises(ConfigError) as caught:
        load_yaml(path, env={})
    error = caught.value
    assert "3 environment variables are not set" in error.what
    for where in (f"DB_USER ({path}:2 database.url)", f"DB_HOST ({path}:2 database.url)", f"API_PW ({path}:4 api.password)"):
        assert where in error.what
    assert error.next_step.startswith("export DB_USER=... DB_HOST=... API_PW=... ")
    assert error.exit_code == 2


def test_one_missing_variable_keeps_its_line_and_a_set_one_expands(tmp_path: Path):
    path = tmp_path / "inventory.yml"
    path.write_text("database:\n  url: ${PROD_DB_URL}\nname: ${NAME}\n")
    with pytest.raises(ConfigError) as caught:
        load_yaml(path, env={"NAME": "prod"})
    assert caught.value.what == f"{path}:2 database.url: environment variable PROD_DB_URL is not set"
    data, _ = load_yaml(path, env={"NAME": "prod", "PROD_DB_URL": "postgresql://h/db"})
    assert data == {"database": {"url": "postgresql://h/db"}, "name": "prod"}
