-- The notification policies and the templates' overrides. IF NOT
-- EXISTS: a database made before notifications had a schema of their own
-- already holds these tables (see sqlkit.Schema).
CREATE TABLE IF NOT EXISTS notification_policies (
	org_id     INTEGER PRIMARY KEY,
	enabled    INTEGER NOT NULL,
	taxonomies TEXT    NOT NULL,
	types      TEXT    NOT NULL,
	feeds      TEXT    NOT NULL,
	immediate  TEXT    NOT NULL,
	digest     TEXT    NOT NULL,
	format     TEXT    NOT NULL,
	language   TEXT    NOT NULL,
	updated    INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS notification_templates (
	language   TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	subject    TEXT    NOT NULL,
	body       TEXT    NOT NULL,
	updated    INTEGER NOT NULL,
	updated_by TEXT    NOT NULL,
	PRIMARY KEY (language, name)
) WITHOUT ROWID;
