-- The names (file names or URLs) of the first inputs of each run, in the
-- order they came; they go with their run.
CREATE TABLE IF NOT EXISTS feed_run_inputs (
	run_id   INTEGER NOT NULL REFERENCES feed_runs (id) ON DELETE CASCADE,
	position INTEGER NOT NULL, -- 0 for the run's first input
	name     TEXT    NOT NULL,
	PRIMARY KEY (run_id, position)
) WITHOUT ROWID;
