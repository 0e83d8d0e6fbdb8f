package feedadmindb

// The history of the feeds' runs, bounded to the last KeepRuns of each.

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/feedadmin"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// StartFeedRun records a run as started and forgets the feed's runs
// older than the last feedadmin.KeepRuns.
func (s *Store) StartFeedRun(ctx context.Context, run feedadmin.Run) (int64, error) {
	var id int64
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		var err error
		id, err = tx.Insert(ctx, `INSERT INTO feed_runs (feed, trigger, requested_by, started) VALUES (?, ?, ?, ?)`,
			run.Feed, run.Trigger, run.RequestedBy, tx.Dialect().Time(run.Started))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM feed_runs WHERE feed = ? AND id <= (
			SELECT id FROM feed_runs WHERE feed = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`, run.Feed, run.Feed, feedadmin.KeepRuns)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("start a run of feed %s: %w", run.Feed, err)
	}
	return id, nil
}

// AddFeedRunInput adds one delivered input to a run; the first error
// recorded stays.
func (s *Store) AddFeedRunInput(ctx context.Context, id int64, in feedadmin.RunInput) error {
	if _, err := s.db.Exec(ctx, `UPDATE feed_runs SET inputs = inputs + 1, lines_read = lines_read + ?,
		events_parsed = events_parsed + ?, dead_letters = dead_letters + ?,
		error = CASE WHEN error = '' THEN ? ELSE error END WHERE id = ?`,
		in.LinesRead, in.EventsParsed, in.DeadLetters, in.Error, id); err != nil {
		return fmt.Errorf("add an input to run %d: %w", id, err)
	}
	return nil
}

// AddFeedRunEvents adds what the workers stored of a run's events.
func (s *Store) AddFeedRunEvents(ctx context.Context, id int64, stored, duplicates int64) error {
	if _, err := s.db.Exec(ctx, `UPDATE feed_runs SET events_stored = events_stored + ?, duplicates = duplicates + ? WHERE id = ?`,
		stored, duplicates, id); err != nil {
		return fmt.Errorf("add events to run %d: %w", id, err)
	}
	return nil
}

// FinishFeedRun records the end of a run.
func (s *Store) FinishFeedRun(ctx context.Context, id int64, finished time.Time, errText string) error {
	if _, err := s.db.Exec(ctx, `UPDATE feed_runs SET finished = ?, error = CASE WHEN ? = '' THEN error ELSE ? END WHERE id = ?`,
		s.db.Dialect().Time(finished), errText, errText, id); err != nil {
		return fmt.Errorf("finish run %d: %w", id, err)
	}
	return nil
}

const runColumns = `id, feed, trigger, requested_by, started, finished, inputs, lines_read, events_parsed, events_stored,
	dead_letters, duplicates, error`

func scanRun(row sqlkit.Row) (feedadmin.Run, error) {
	var r feedadmin.Run
	err := row.Scan(&r.ID, &r.Feed, &r.Trigger, &r.RequestedBy, sqlkit.Time(&r.Started), sqlkit.Time(&r.Finished),
		&r.Inputs, &r.LinesRead, &r.EventsParsed, &r.EventsStored, &r.DeadLetters, &r.Duplicates, &r.Error)
	return r, err
}

// ListFeedRuns returns up to limit of feed's runs, newest first.
func (s *Store) ListFeedRuns(ctx context.Context, feed string, limit int) ([]feedadmin.Run, error) {
	if limit <= 0 || limit > feedadmin.KeepRuns {
		limit = feedadmin.KeepRuns
	}
	out, err := sqlkit.All(ctx, s.db, `SELECT `+runColumns+` FROM feed_runs WHERE feed = ? ORDER BY id DESC LIMIT ?`,
		[]any{feed, limit}, scanRun)
	if err != nil {
		return nil, fmt.Errorf("list runs of feed %s: %w", feed, err)
	}
	return out, nil
}
