-- A message's body is kept packed (outbox.PackBody: full base64 lines
-- decoded, then S2), body_codec 1; the messages queued before hold
-- it as it is sent, body_codec 0.
ALTER TABLE outbox_messages ADD COLUMN body_codec INTEGER NOT NULL DEFAULT 0;
