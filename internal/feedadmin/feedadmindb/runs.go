package feedadmindb

// The history of the feeds' runs, bounded to the last KeepRuns of each.

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/feedadmin"
	"github.com/vigil-cert/vigil/internal/i18n"
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

// AddFeedRunInput adds one delivered input to a run, and its name when
// it is one of the first feedadmin.RunInputNames; the first error
// recorded stays. The update and the name are one transaction, and the
// update's row lock orders two inputs of a run added at once. A run
// forgotten meanwhile is not an error.
func (s *Store) AddFeedRunInput(ctx context.Context, id int64, in feedadmin.RunInput) error {
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		var inputs int64
		err := tx.QueryRow(ctx, `UPDATE feed_runs SET inputs = inputs + 1, lines_read = lines_read + ?,
			events_parsed = events_parsed + ?, dead_letters = dead_letters + ?,
			problem = CASE WHEN error = '' THEN ? ELSE problem END,
			error = CASE WHEN error = '' THEN ? ELSE error END WHERE id = ? RETURNING inputs`,
			in.LinesRead, in.EventsParsed, in.DeadLetters, in.Problem.Encode(), in.Error, id).Scan(&inputs)
		switch {
		case tx.IsNoRows(err):
			return nil
		case err != nil:
			return err
		case inputs > feedadmin.RunInputNames:
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO feed_run_inputs (run_id, position, name) VALUES (?, ?, ?)`,
			id, inputs-1, feedadmin.InputName(in.Name))
		return err
	})
	if err != nil {
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
func (s *Store) FinishFeedRun(ctx context.Context, id int64, finished time.Time, errText string, problem i18n.Message) error {
	if _, err := s.db.Exec(ctx, `UPDATE feed_runs SET finished = ?, problem = CASE WHEN ? = '' THEN problem ELSE ? END,
		error = CASE WHEN ? = '' THEN error ELSE ? END WHERE id = ?`,
		s.db.Dialect().Time(finished), errText, problem.Encode(), errText, errText, id); err != nil {
		return fmt.Errorf("finish run %d: %w", id, err)
	}
	return nil
}

const runColumns = `id, feed, trigger, requested_by, started, finished, inputs, lines_read, events_parsed, events_stored,
	dead_letters, duplicates, error, problem`

func scanRun(row sqlkit.Row) (feedadmin.Run, error) {
	var (
		r       feedadmin.Run
		problem string
	)
	err := row.Scan(&r.ID, &r.Feed, &r.Trigger, &r.RequestedBy, sqlkit.Time(&r.Started), sqlkit.Time(&r.Finished),
		&r.Inputs, &r.LinesRead, &r.EventsParsed, &r.EventsStored, &r.DeadLetters, &r.Duplicates, &r.Error, &problem)
	// Only AddFeedRunInput and FinishFeedRun write the column, by
	// Message.Encode.
	r.Problem, _ = i18n.Decode(problem)
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
	if len(out) == 0 {
		return out, nil
	}
	// The names of the listed runs' inputs, in one query: the runs are
	// the newest, so their ids are those from the oldest listed on.
	type inputName struct {
		run  int64
		name string
	}
	names, err := sqlkit.All(ctx, s.db, `SELECT i.run_id, i.name FROM feed_run_inputs AS i JOIN feed_runs AS r ON r.id = i.run_id
		WHERE r.feed = ? AND i.run_id >= ? ORDER BY i.run_id, i.position`, []any{feed, out[len(out)-1].ID},
		func(row sqlkit.Row) (inputName, error) {
			var n inputName
			err := row.Scan(&n.run, &n.name)
			return n, err
		})
	if err != nil {
		return nil, fmt.Errorf("list the inputs of feed %s's runs: %w", feed, err)
	}
	at := make(map[int64]int, len(out))
	for i, r := range out {
		at[r.ID] = i
	}
	for _, n := range names {
		if i, ok := at[n.run]; ok {
			out[i].InputNames = append(out[i].InputNames, n.name)
		}
	}
	return out, nil
}
