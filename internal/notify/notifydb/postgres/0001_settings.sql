-- The notification policies and the templates' overrides. IF NOT
-- EXISTS: a database made before notifications had a schema of their own
-- already holds these tables (see sqlkit.Schema).
CREATE TABLE IF NOT EXISTS notification_policies (
	org_id     bigint      PRIMARY KEY,
	enabled    boolean     NOT NULL,
	taxonomies text[]      NOT NULL,
	types      text[]      NOT NULL,
	feeds      text[]      NOT NULL,
	immediate  text[]      NOT NULL,
	digest     text        NOT NULL,
	format     text        NOT NULL,
	language   text        NOT NULL,
	updated    timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS notification_templates (
	language   text        COLLATE "C" NOT NULL,
	name       text        COLLATE "C" NOT NULL,
	subject    text        NOT NULL,
	body       text        NOT NULL,
	updated    timestamptz NOT NULL,
	updated_by text        NOT NULL,
	PRIMARY KEY (language, name)
);
