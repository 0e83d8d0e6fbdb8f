-- Accounts, their sessions, API tokens and recovery codes, and the audit
-- log. IF NOT EXISTS: a database made before accounts had a schema of
-- their own already holds these tables (see sqlkit.Schema).
CREATE TABLE IF NOT EXISTS users (
	id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name           text        NOT NULL UNIQUE,
	email          text        NOT NULL,
	role           text        NOT NULL,
	password_hash  text        NOT NULL, -- argon2id, PHC string form
	totp_secret    text        NOT NULL, -- sealed; '' when no second factor
	language       text        NOT NULL,
	disabled       boolean     NOT NULL,
	created        timestamptz NOT NULL,
	org_id         bigint      REFERENCES organisations (id), -- a constituent's organisation
	totp_last_step bigint      NOT NULL DEFAULT 0 -- the last TOTP time step accepted
);
CREATE INDEX IF NOT EXISTS users_org ON users (org_id) WHERE org_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS sessions (
	id_hash    bytea       PRIMARY KEY, -- SHA-256 of the cookie value
	user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	csrf_token text        NOT NULL,
	created    timestamptz NOT NULL,
	expires    timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires);

CREATE TABLE IF NOT EXISTS api_tokens (
	id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id   bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name      text        NOT NULL,
	hash      bytea       NOT NULL UNIQUE, -- SHA-256 of the token
	created   timestamptz NOT NULL,
	last_used timestamptz
);
CREATE INDEX IF NOT EXISTS api_tokens_user ON api_tokens (user_id);

CREATE TABLE IF NOT EXISTS recovery_codes (
	user_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	code_hash bytea  NOT NULL,
	PRIMARY KEY (user_id, code_hash)
);

-- The audit log is append-only; user_id is 0 for the system.
CREATE TABLE IF NOT EXISTS audit (
	id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	time    timestamptz NOT NULL,
	user_id bigint      NOT NULL,
	actor   text        NOT NULL,
	action  text        NOT NULL,
	target  text        NOT NULL,
	detail  text        NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_actor ON audit (actor, id);
