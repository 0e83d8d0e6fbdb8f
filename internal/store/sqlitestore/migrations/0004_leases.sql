-- Leases (store.Leases): which process does a job that only one may do.
CREATE TABLE leases (
	name    TEXT    PRIMARY KEY,
	holder  TEXT    NOT NULL,
	expires INTEGER NOT NULL -- Unix microseconds
) WITHOUT ROWID;
