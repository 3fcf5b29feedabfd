"""The pure core imports no I/O library: no driver, no subprocess, no network or SSH client, no AWS SDK.

Each module is imported alone in a fresh interpreter (a module this test process already
loaded would hide what the pure one pulls in). subprocess is checked too: no standard
library module these import loads it, so a `subprocess` in sys.modules means an adapter
(pg, squawk, the backup engine) was imported.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PURE = (
    "pgrunbook.gate",
    "pgrunbook.validate",
    "pgrunbook.verify",
    "pgrunbook.analyze",
    "pgrunbook.outcome",
    "pgrunbook.events",
    "pgrunbook.units",
    "pgrunbook.recap",
    "pgrunbook.drizzle.state",
    "pgrunbook.drizzle.plan",
    "pgrunbook.drizzle.history",
    "pgrunbook.drizzle.journal",
    "pgrunbook.models",
    "pgrunbook.session_settings",
    "pgrunbook.backup.manifest",
    "pgrunbook.sqlcheck",
    "pgrunbook.sqlcheck.analysis",
    "pgrunbook.sqlcheck.catalog_model",
    "pgrunbook.sqlcheck.classify",
    "pgrunbook.sqlcheck.model",
    "pgrunbook.sqlcheck.objects",
    "pgrunbook.sqlcheck.policy",
    "pgrunbook.sqlcheck.rules",
    "pgrunbook.sqlcheck.split",
    "pgrunbook.sqlcheck.triggers",
)
IO_LIBRARIES = ("psycopg", "subprocess", "httpx", "boto3", "botocore", "paramiko", "fabric", "invoke")
# The adapters of pgrunbook itself: a pure module importing one is impure even if that adapter imports lazily.
ADAPTERS = ("pgrunbook.pg", "pgrunbook.facts", "pgrunbook.evidence", "pgrunbook.catalog", "pgrunbook.preflight",
            "pgrunbook.rehearse", "pgrunbook.executor", "pgrunbook.planning", "pgrunbook.drizzle.recorder",
            "pgrunbook.sqlcheck.squawk", "pgrunbook.backup.engine", "pgrunbook.targets", "pgrunbook.ssh")

PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(name for name in sys.modules if name in sys.argv[2:])))
"""


def loaded_after_import(module: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, module, *IO_LIBRARIES, *ADAPTERS],
                            capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout)


@pytest.mark.parametrize("module", PURE)
def test_pure_module_loads_no_io(module):
    assert loaded_after_import(module) == []


def test_the_probe_sees_an_adapter():
    """The probe itself works: the adapter `pg` loads subprocess."""
    assert "subprocess" in loaded_after_import("pgrunbook.pg")
