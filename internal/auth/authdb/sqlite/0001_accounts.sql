-- Accounts, their sessions, API tokens and recovery codes, and the audit
-- log. IF NOT EXISTS: a database made before accounts had a schema of
-- their own already holds these tables (see sqlkit.Schema).
CREATE TABLE IF NOT EXISTS users (
	id             INTEGER PRIMARY KEY,
	name           TEXT    NOT NULL UNIQUE,
	email          TEXT    NOT NULL,
	role           TEXT    NOT NULL,
	password_hash  TEXT    NOT NULL, -- argon2id, PHC string form
	totp_secret    TEXT    NOT NULL, -- sealed; '' when no second factor
	language       TEXT    NOT NULL,
	disabled       INTEGER NOT NULL,
	created        INTEGER NOT NULL, -- Unix microseconds
	org_id         INTEGER REFERENCES organisations (id), -- a constituent's organisation
	totp_last_step INTEGER NOT NULL DEFAULT 0 -- the last TOTP time step accepted
);
CREATE INDEX IF NOT EXISTS users_org ON users (org_id) WHERE org_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS sessions (
	id_hash    BLOB    PRIMARY KEY, -- SHA-256 of the cookie value
	user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	csrf_token TEXT    NOT NULL,
	created    INTEGER NOT NULL,
	expires    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires);

CREATE TABLE IF NOT EXISTS api_tokens (
	id        INTEGER PRIMARY KEY,
	user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name      TEXT    NOT NULL,
	hash      BLOB    NOT NULL UNIQUE, -- SHA-256 of the token
	created   INTEGER NOT NULL,
	last_used INTEGER
);
CREATE INDEX IF NOT EXISTS api_tokens_user ON api_tokens (user_id);

CREATE TABLE IF NOT EXISTS recovery_codes (
	user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	code_hash BLOB    NOT NULL,
	PRIMARY KEY (user_id, code_hash)
) WITHOUT ROWID;

-- The audit log is append-only; user_id is 0 for the system.
CREATE TABLE IF NOT EXISTS audit (
	id      INTEGER PRIMARY KEY,
	time    INTEGER NOT NULL,
	user_id INTEGER NOT NULL,
	actor   TEXT    NOT NULL,
	action  TEXT    NOT NULL,
	target  TEXT    NOT NULL,
	detail  TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_actor ON audit (actor, id);
