-- expect: allowed info:non-concurrent-index
CREATE INDEX IF NOT EXISTS "idx_é" ON "utilisateurs" ("rôle");
