-- Second factor (store.SecondFactors): the last TOTP time step accepted
-- per user, so a code is good once even across processes and restarts,
-- and the hashes of the one-time recovery codes.
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;

CREATE TABLE recovery_codes (
	user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	code_hash BLOB    NOT NULL,
	PRIMARY KEY (user_id, code_hash)
) WITHOUT ROWID;
