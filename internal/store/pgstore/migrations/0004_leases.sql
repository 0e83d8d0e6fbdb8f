-- Leases (store.Leases): which process does a job that only one may do.
CREATE TABLE leases (
	name    text        PRIMARY KEY,
	holder  text        NOT NULL,
	expires timestamptz NOT NULL
);
