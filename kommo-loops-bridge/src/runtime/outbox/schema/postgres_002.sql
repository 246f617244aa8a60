-- The bridge's PostgreSQL store, schema version 2: a marker that says this schema holds the
-- bridge's store. A schema can hold other programs' tables too; before creating or migrating
-- anything, the bridge looks for this table and refuses a schema that has tables named like
-- its own without it (see `setup.rs`).
CREATE TABLE IF NOT EXISTS kommo_loops_store (
    application TEXT        NOT NULL PRIMARY KEY CHECK (application = 'kommo-loops-bridge'),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO kommo_loops_store (application) VALUES ('kommo-loops-bridge')
    ON CONFLICT DO NOTHING;
