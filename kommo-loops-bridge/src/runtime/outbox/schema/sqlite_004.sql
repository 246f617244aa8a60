-- The bridge's SQLite store, schema version 4: the lane of each outbox item, the API whose rate
-- it spends, so that workers claim per lane (docs/architecture.md, "Lanes"). Planning jobs and
-- `kommo.*` actions are in the Kommo lane, `loops.*` actions in the Loops lane.
ALTER TABLE outbox_items ADD COLUMN lane TEXT NOT NULL DEFAULT 'kommo'
    CHECK (lane IN ('kommo', 'loops'));

-- Items stored before: a job's JSON starts with its tag, and an action's with its type.
UPDATE outbox_items SET lane = 'loops'
    WHERE substr(action, 1, 41) = '{"job":"execute","action":{"type":"loops.';
