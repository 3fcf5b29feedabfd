"""Fleets: one runbook over many databases, in waves (canary, failure budget, per-instance limits, resumable).

`inventory` (the fleet inventory, targets, read-only discovery), `policy` (waves and stop
decisions, pure), `journal` (the fleet journal), `rollout` (the executor: threads within
the limits, each target the very same `runner.migrate_prod`), `drift` (between tenants, pure).
"""
