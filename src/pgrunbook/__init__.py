"""pgrunbook: verify, back up provably, migrate (Drizzle) and validate PostgreSQL, with rollback."""

__version__ = "0.1.0"
