-- Alert storage that scales with history: an index for every lookup on the alert path, so the
-- per-message bookkeeping costs the same at 1M rows of history as at 10k, and retention can
-- delete in small batches that each finish well inside the statement timeout.

-- Delivery by message: marking a message sent, splitting a refused one, and the ON DELETE SET
-- NULL when retention removes a finished message (without it each of those scans the table).
CREATE INDEX alert_deliveries_message ON alert_deliveries (message_id) WHERE message_id IS NOT NULL;

-- Delivery by channel and status: the next deliveries of a channel not yet in a message.
CREATE INDEX alert_deliveries_unassigned ON alert_deliveries (channel_id)
    WHERE status = 'PENDING' AND message_id IS NULL;

-- Why a delivery was set aside (a card that cannot be rendered, or that Discord refuses), and
-- when: /admin status lists the latest failures with their reasons.
ALTER TABLE alert_deliveries ADD COLUMN error text;
ALTER TABLE alert_deliveries ADD COLUMN failed_at timestamptz;
CREATE INDEX alert_deliveries_failed ON alert_deliveries (failed_at) WHERE status = 'FAILED';

-- Alerts sent in the last day, for /admin status, without counting all of history.
CREATE INDEX alert_deliveries_sent ON alert_deliveries (sent_at) WHERE status = 'SENT';

-- Retention: the oldest trades first, and finished outbox messages by age.
CREATE INDEX trades_traded_at ON trades (traded_at);
CREATE INDEX alert_messages_finished ON alert_messages (created_at) WHERE status <> 'PENDING';

-- A trade the live stream never delivered, found by the reconciler while the stream was up.
ALTER TABLE trades DROP CONSTRAINT trades_source_check;
ALTER TABLE trades ADD CONSTRAINT trades_source_check
    CHECK (source IN ('stream', 'backfill', 'reconcile'));
