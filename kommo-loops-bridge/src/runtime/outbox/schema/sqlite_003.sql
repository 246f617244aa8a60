-- The bridge's SQLite store, schema version 3: what was last delivered to Loops per contact,
-- so an upsert identical to it is not sent again (docs/architecture.md, "Skipping unchanged
-- upserts").

-- One row per Loops contact (its email, lowercased): the hash of the last upsert delivered
-- (email, userId, properties, mailing lists), and the userId it was sent with, so that a
-- delete by userId forgets it too.
CREATE TABLE delivered_upserts (
    contact TEXT PRIMARY KEY,
    user_id TEXT,
    hash    TEXT NOT NULL
) WITHOUT ROWID;

CREATE INDEX delivered_upserts_by_user ON delivered_upserts (user_id) WHERE user_id IS NOT NULL;
