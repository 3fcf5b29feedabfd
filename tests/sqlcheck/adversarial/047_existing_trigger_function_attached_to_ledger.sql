-- expect: review
-- why: existing function (statically review): attaches a hand-made function to the ledger; it runs on pgrunbook's own tracking insert
CREATE TRIGGER notify_ops AFTER INSERT ON drizzle.__drizzle_migrations FOR EACH ROW EXECUTE FUNCTION ops.notify_and_cleanup();
