"""Drizzle ORM migrations: loader (journal), pure reconciliation (state), recorder (tracking table)."""

from .journal import BREAKPOINT, LocalMigrations, Migration, load_migrations
from .state import AppliedMigration, TrackingRow, TrackingState, reconcile

__all__ = [
    "BREAKPOINT", "AppliedMigration", "LocalMigrations", "Migration", "TrackingRow", "TrackingState",
    "load_migrations", "reconcile",
]
