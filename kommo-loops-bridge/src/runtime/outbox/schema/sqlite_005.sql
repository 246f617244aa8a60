-- The bridge's SQLite store, schema version 5: a worker of one lane finds that lane's
-- unfinished items in id order, and its next due one, without walking the whole backlog.
-- Without them a claim sorted every unfinished item (30 ms with 7,000 of them waiting), and
-- an idle worker's look for its next due item read them all (9 ms), on the connection the
-- webhooks are stored through: a burst's acknowledgements waited behind them.
CREATE INDEX outbox_items_lane_unfinished ON outbox_items (lane, id)
    WHERE state IN ('pending', 'leased');
CREATE INDEX outbox_items_lane_due ON outbox_items (lane, not_before_ms)
    WHERE state = 'pending';
