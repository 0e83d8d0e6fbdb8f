// Package feedsql keeps the feeds' statistics (lines read, events out,
// dead letters, duplicates and warnings per feed and report, with the last
// run, its error and the newest event), written once on sqlkit.DB for both
// stores. Errors name the operation; the store prefixes its name.
package feedsql

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// AddCounters adds c to the totals of key. The last run and its error,
// with its message, are replaced when run is set; the newest event time only moves forward. The
// columns of the row already there are named through the alias f, as
// PostgreSQL needs them told apart from excluded's.
func AddCounters(ctx context.Context, db sqlkit.DB, key store.FeedKey, c store.FeedCounters, run, lastEvent time.Time, lastError string, lastProblem i18n.Message) error {
	d := db.Dialect()
	_, err := db.Exec(ctx, `INSERT INTO feeds AS f (name, report, lines_read, events_out, dead_letters, duplicates, warnings, last_run, last_error, last_problem, last_event)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name, report) DO UPDATE SET
			lines_read = f.lines_read + excluded.lines_read,
			events_out = f.events_out + excluded.events_out,
			dead_letters = f.dead_letters + excluded.dead_letters,
			duplicates = f.duplicates + excluded.duplicates,
			warnings = f.warnings + excluded.warnings,
			last_error = CASE WHEN excluded.last_run IS NULL THEN f.last_error ELSE excluded.last_error END,
			last_problem = CASE WHEN excluded.last_run IS NULL THEN f.last_problem ELSE excluded.last_problem END,
			last_run = coalesce(excluded.last_run, f.last_run),
			last_event = CASE WHEN f.last_event IS NULL OR excluded.last_event > f.last_event THEN coalesce(excluded.last_event, f.last_event) ELSE f.last_event END`,
		key.Feed, key.Report, c.LinesRead, c.EventsOut, c.DeadLetters, c.Duplicates, c.Warnings, d.NullTime(run), lastError, lastProblem.Encode(), d.NullTime(lastEvent))
	if err != nil {
		return fmt.Errorf("add feed counters %s %q: %w", key.Feed, key.Report, err)
	}
	return nil
}

// ListStatus returns every feed's and report's totals, by feed name and
// then by report, each sorted by its bytes.
func ListStatus(ctx context.Context, db sqlkit.DB) ([]store.FeedStatus, error) {
	d := db.Dialect()
	out, err := sqlkit.All(ctx, db, `SELECT name, report, lines_read, events_out, dead_letters, duplicates, warnings, last_run, last_error, last_problem, last_event
		FROM feeds ORDER BY `+d.ByteOrder("name")+`, `+d.ByteOrder("report"), nil, func(row sqlkit.Row) (store.FeedStatus, error) {
		var (
			f       store.FeedStatus
			problem string
		)
		err := row.Scan(&f.Name, &f.Report, &f.LinesRead, &f.EventsOut, &f.DeadLetters, &f.Duplicates, &f.Warnings,
			sqlkit.Time(&f.LastRun), &f.LastError, &problem, sqlkit.Time(&f.LastEvent))
		// Only AddCounters writes the column, by Message.Encode.
		f.LastProblem, _ = i18n.Decode(problem)
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("list feeds: %w", err)
	}
	return out, nil
}
