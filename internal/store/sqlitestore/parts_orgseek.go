package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
)

// orgSeek skips, in a search confined to an organisation, the sealed
// partitions whose time.source range holds none of its events, by seeking
// in the index of events by organisation (org, time_source, event_id)
// instead of asking the partition: a seek gives the organisation's
// nearest event to the partition's end, and serves the following
// partitions until they pass it, so a sparse organisation's search costs
// a seek for each partition it has events in, not two queries for each
// partition of the store.
type orgSeek struct {
	org   string
	asc   bool
	valid bool
	bound int64 // the seek's start: newest at most bound (oldest at least with asc)
	found bool
	ts    int64 // the event found
}

// absent reports that sum's partition holds none of the organisation's
// events. Partitions come in the search's order: by tmax descending
// (tmin ascending with asc).
func (o *orgSeek) absent(ctx context.Context, db *sql.DB, sum *partSummary) (bool, error) {
	end := sum.tmax // where the partition starts, in the search's order
	if o.asc {
		end = sum.tmin
	}
	// The last seek holds for end when end lies between its start and
	// what it found: the organisation has no event in between.
	reuse := o.valid && (!o.asc && end <= o.bound && (!o.found || end >= o.ts) ||
		o.asc && end >= o.bound && (!o.found || end <= o.ts))
	if !reuse {
		q := `SELECT time_source FROM event_orgs WHERE org = ? AND time_source <= ? ORDER BY time_source DESC LIMIT 1`
		if o.asc {
			q = `SELECT time_source FROM event_orgs WHERE org = ? AND time_source >= ? ORDER BY time_source ASC LIMIT 1`
		}
		o.valid, o.bound, o.found = true, end, true
		if err := db.QueryRowContext(ctx, q, o.org, end).Scan(&o.ts); errors.Is(err, sql.ErrNoRows) {
			o.found = false
		} else if err != nil {
			o.valid = false
			return false, err
		}
	}
	if !o.found {
		return true, nil
	}
	if o.asc {
		return o.ts > sum.tmax, nil
	}
	return o.ts < sum.tmin, nil
}
