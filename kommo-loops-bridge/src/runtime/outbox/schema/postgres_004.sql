-- The bridge's PostgreSQL store, schema version 4: what was last delivered to Loops per
-- contact, so an upsert identical to it is not sent again (docs/architecture.md, "Skipping
-- unchanged upserts").

-- One row per Loops contact (its email, lowercased): the hash of the last upsert delivered
-- (email, userId, properties, mailing lists), and the userId it was sent with, so that a
-- delete by userId forgets it too.
CREATE TABLE IF NOT EXISTS delivered_upserts (
    contact TEXT PRIMARY KEY,
    user_id TEXT,
    hash    TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS delivered_upserts_by_user ON delivered_upserts (user_id)
    WHERE user_id IS NOT NULL;
