#!/usr/bin/python
"""Ansible module: run one pgrunbook task on this host with --json; changed/failed as the run says."""

from __future__ import annotations

DOCUMENTATION = r"""
module: pgrunbook_task
short_description: Run a pgrunbook task (migrate-prod, verify, ...) with --json
description:
  - Runs C(python -m pgrunbook TASK -i INVENTORY --json) in the project folder on the host.
  - C(changed) is true only when the database changed (migrations applied or baselined, or a rollback ran), read from the run journal.
  - C(failed) follows the exit code (0 ok; 1 runtime, 2 usage, 3 check failed or NO-GO, 4 rolled back).
  - In check mode, read-only tasks run; migrate-prod and migrate run as C(migrate --dry-run); rollback as C(rollback --dry-run).
author: pgrunbook
options:
  task:
    description: The pgrunbook task, for example migrate-prod, verify or fleet.migrate-prod.
    required: true
    type: str
  inventory:
    description: The pgrunbook inventory on the host (-i).
    type: path
  playbook:
    description: The pgrunbook playbook (-p).
    type: path
  chdir:
    description: The project folder (holding tasks.py).
    required: true
    type: path
  python:
    description: The interpreter with pgrunbook installed.
    type: str
    default: python3
  args:
    description: More options for the task, for example C(["--online"]).
    type: list
    elements: str
    default: []
  assume_yes:
    description: Pass --yes (targets that are not the sandbox).
    type: bool
    default: false
  environment:
    description: Variables for the task (the ${VAR} of its inventory); never logged.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: migrate-prod on this host's database
  pgrunbook.fleet.pgrunbook_task:
    task: migrate-prod
    chdir: /srv/pgrunbook
    inventory: /srv/pgrunbook/inventory/production.yml
    assume_yes: true
    environment: {PROD_DB_URL: "{{ vault_prod_db_url }}"}
"""

RETURN = r"""
rc:
  description: pgrunbook's exit code.
  returned: always
  type: int
result:
  description: The task's --json output.
  returned: when the task ran with --json
  type: dict
sql:
  description: In check mode for migrate and migrate-prod, the exact SQL the migration would run.
  returned: check mode
  type: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

READ_ONLY = {"verify", "analyze", "runs", "runs.list", "runs.show", "report", "backup.list", "backup.verify", "fleet.verify",
             "fleet.status"}
WITH_YES = {"migrate", "migrate-prod", "rollback", "fleet.migrate-prod"}
EXIT_MEANING = {1: "runtime error", 2: "usage or configuration error", 3: "check failed / NO-GO", 4: "rolled back"}


def database_changed(result):
    """From a migrate-prod result: did the run apply or baseline a migration, or roll back? Read from its journal."""
    journal = result.get("journal") if isinstance(result, dict) else None
    if not journal or not os.path.exists(journal):
        return False
    with open(journal, encoding="utf-8") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            data = record.get("data") or {}
            if record.get("phase") == "migrate" and record.get("event") == "end" and (data.get("applied") or data.get("baseline")):
                return True
            if record.get("phase") == "rollback" and record.get("event") in ("start", "step"):
                return True
    return False


def main():
    module = AnsibleModule(
        argument_spec={
            "task": {"type": "str", "required": True},
            "inventory": {"type": "path"},
            "playbook": {"type": "path"},
            "chdir": {"type": "path", "required": True},
            "python": {"type": "str", "default": "python3"},
            "args": {"type": "list", "elements": "str", "default": []},
            "assume_yes": {"type": "bool", "default": False},
            "environment": {"type": "dict", "default": {}, "no_log": True},
        },
        supports_check_mode=True,
    )
    p = module.params
    task, as_json, dry_sql = p["task"], True, False
    extra = list(p["args"])
    if module.check_mode and task not in READ_ONLY:
        if task in ("migrate-prod", "migrate"):
            task, as_json, dry_sql = "migrate", False, True
            extra = [a for a in extra if a in ("--online", "--single-transaction")] + ["--dry-run"]
        elif task == "rollback":
            extra = extra + ["--dry-run"]
        else:
            module.exit_json(changed=False, skipped=True, msg=f"check mode: {task} has no dry run; skipped")
    argv = [p["python"], "-m", "pgrunbook", task]
    if p["inventory"]:
        argv += ["-i", p["inventory"]]
    if p["playbook"]:
        argv += ["-p", p["playbook"]]
    if as_json:
        argv.append("--json")
    if p["assume_yes"] and task in WITH_YES:
        argv.append("--yes")
    argv += extra
    env = {k: str(v) for k, v in (p["environment"] or {}).items()}
    # stdin a pipe, never the tty `ssh -tt` may give: pgrunbook must not wait for a typed confirmation (use assume_yes)
    rc, out, err = module.run_command(argv, cwd=p["chdir"], environ_update=env, data="\n")
    if dry_sql:
        module.exit_json(changed=False, rc=rc, sql=out, failed=rc != 0, msg=f"check mode: migrate --dry-run (exit {rc})", stderr=err)
    try:
        result = json.loads(out) if out.strip() else {}
    except ValueError:
        result = {"stdout": out}
    if module.check_mode or task not in ("migrate-prod", "migrate", "rollback", "fleet.migrate-prod"):
        changed = False
    elif task == "fleet.migrate-prod":
        changed = _fleet_changed(result)
    else:
        changed = database_changed(result) or rc == 4
    if rc != 0:
        module.fail_json(msg=f"pgrunbook {task}: exit {rc} ({EXIT_MEANING.get(rc, 'failed')})", rc=rc, changed=changed,
                         result=result, stderr=err[-4000:])
    module.exit_json(changed=changed, rc=rc, result=result)


def _fleet_changed(result):
    """Any target of the fleet run whose own run journal says the database changed (<dir>/targets/<target>/runs/<run>/)."""
    journal = result.get("journal") if isinstance(result, dict) else None
    if not journal:
        return False
    fleet_dir = os.path.dirname(os.path.dirname(os.path.dirname(journal)))
    for target in result.get("targets", []):
        if target.get("run"):
            path = os.path.join(fleet_dir, "targets", target["target"], "runs", target["run"], "journal.jsonl")
            if database_changed({"journal": path}):
                return True
    return False


if __name__ == "__main__":
    main()
