// Package feedadmindb keeps the feeds' administration data (package
// feedadmin): the console's overrides of the configuration file's feeds,
// the runs asked for by hand and the history of runs. Its tables are its
// own schema (Schema); its queries are written once on the shared SQL
// layer (sqlkit) and run on SQLite and PostgreSQL alike, which its
// contract tests (feedadmintest) check.
package feedadmindb

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/feedadmin"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

//go:embed sqlite/*.sql postgres/*.sql
var migrations embed.FS

// Schema is the feeds' administration tables.
var Schema = sqlkit.Schema{Name: "feedadmin", FS: migrations}

// Store keeps the feeds' administration data on a database. It is safe
// for concurrent use.
type Store struct {
	db sqlkit.DB
}

// New returns the feeds' administration data kept on db, which Schema
// has migrated.
func New(db sqlkit.DB) *Store { return &Store{db: db} }

var _ feedadmin.Data = (*Store)(nil)

const overrideColumns = `name, definition, paused, updated, updated_by`

func scanOverride(row sqlkit.Row) (feedadmin.Override, error) {
	var o feedadmin.Override
	var def sql.NullString
	var paused sql.NullBool
	if err := row.Scan(&o.Name, &def, &paused, sqlkit.Time(&o.Updated), &o.UpdatedBy); err != nil {
		return feedadmin.Override{}, err
	}
	if def.Valid {
		o.Definition = []byte(def.String)
	}
	if paused.Valid {
		p := paused.Bool
		o.Paused = &p
	}
	return o, nil
}

// ListFeedOverrides returns every override by name.
func (s *Store) ListFeedOverrides(ctx context.Context) ([]feedadmin.Override, error) {
	out, err := sqlkit.All(ctx, s.db, `SELECT `+overrideColumns+` FROM feed_overrides ORDER BY name`, nil, scanOverride)
	if err != nil {
		return nil, fmt.Errorf("list feed overrides: %w", err)
	}
	return out, nil
}

// GetFeedOverride returns one override; store.ErrNotFound when none.
func (s *Store) GetFeedOverride(ctx context.Context, name string) (feedadmin.Override, error) {
	o, err := scanOverride(s.db.QueryRow(ctx, `SELECT `+overrideColumns+` FROM feed_overrides WHERE name = ?`, name))
	return o, s.notFound(err, "get feed override "+name)
}

// change runs fn in a transaction that also counts the change.
func (s *Store) change(ctx context.Context, what string, fn func(tx sqlkit.DB) error) error {
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		if err := fn(tx); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE feed_overrides_version SET version = version + 1 WHERE id = 1`)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// PutFeedDefinition sets the definition of a feed's override, keeping its
// paused state.
func (s *Store) PutFeedDefinition(ctx context.Context, name string, definition []byte, by string, at time.Time) error {
	if len(definition) == 0 {
		return fmt.Errorf("put feed definition %s: empty definition", name)
	}
	d := s.db.Dialect()
	return s.change(ctx, "put feed definition "+name, func(tx sqlkit.DB) error {
		_, err := tx.Exec(ctx, `INSERT INTO feed_overrides (name, definition, paused, updated, updated_by) VALUES (?, ?, NULL, ?, ?)
			ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, updated = excluded.updated, updated_by = excluded.updated_by`,
			name, string(definition), d.Time(at), by)
		return err
	})
}

// SetFeedPaused sets the paused state of a feed's override, keeping its
// definition; an override left with neither is deleted.
func (s *Store) SetFeedPaused(ctx context.Context, name string, paused *bool, by string, at time.Time) error {
	d := s.db.Dialect()
	var p any
	if paused != nil {
		p = *paused
	}
	return s.change(ctx, "set feed paused "+name, func(tx sqlkit.DB) error {
		if _, err := tx.Exec(ctx, `INSERT INTO feed_overrides (name, definition, paused, updated, updated_by) VALUES (?, NULL, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, updated = excluded.updated, updated_by = excluded.updated_by`,
			name, p, d.Time(at), by); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM feed_overrides WHERE name = ? AND definition IS NULL AND paused IS NULL`, name)
		return err
	})
}

// DeleteFeedOverride drops a feed's override.
func (s *Store) DeleteFeedOverride(ctx context.Context, name string) error {
	return s.change(ctx, "delete feed override "+name, func(tx sqlkit.DB) error {
		_, err := tx.Exec(ctx, `DELETE FROM feed_overrides WHERE name = ?`, name)
		return err
	})
}

// FeedOverridesVersion returns the count of changes to the overrides.
func (s *Store) FeedOverridesVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.db.QueryRow(ctx, `SELECT version FROM feed_overrides_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("feed overrides version: %w", err)
	}
	return v, nil
}

// RequestFeedRun asks for a run of feed.
func (s *Store) RequestFeedRun(ctx context.Context, feed, by string, at time.Time) error {
	if _, err := s.db.Exec(ctx, `INSERT INTO feed_run_requests (feed, requested, requested_by) VALUES (?, ?, ?)
		ON CONFLICT (feed) DO UPDATE SET requested = excluded.requested, requested_by = excluded.requested_by`,
		feed, s.db.Dialect().Time(at), by); err != nil {
		return fmt.Errorf("request a run of feed %s: %w", feed, err)
	}
	return nil
}

func scanRequest(row sqlkit.Row) (feedadmin.RunRequest, error) {
	var r feedadmin.RunRequest
	err := row.Scan(&r.Feed, sqlkit.Time(&r.Requested), &r.RequestedBy)
	return r, err
}

// ListFeedRunRequests returns the pending requests by feed.
func (s *Store) ListFeedRunRequests(ctx context.Context) ([]feedadmin.RunRequest, error) {
	out, err := sqlkit.All(ctx, s.db, `SELECT feed, requested, requested_by FROM feed_run_requests ORDER BY feed`, nil, scanRequest)
	if err != nil {
		return nil, fmt.Errorf("list feed run requests: %w", err)
	}
	return out, nil
}

// TakeFeedRunRequest removes feed's pending request and returns it. Of
// several processes taking it at once, one deletes the row and gets it.
func (s *Store) TakeFeedRunRequest(ctx context.Context, feed string) (feedadmin.RunRequest, bool, error) {
	var req feedadmin.RunRequest
	taken := false
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		r, err := scanRequest(tx.QueryRow(ctx, `SELECT feed, requested, requested_by FROM feed_run_requests WHERE feed = ?`, feed))
		if tx.IsNoRows(err) {
			return nil
		}
		if err != nil {
			return err
		}
		n, err := tx.Exec(ctx, `DELETE FROM feed_run_requests WHERE feed = ? AND requested = ?`, feed, tx.Dialect().Time(r.Requested))
		if err != nil {
			return err
		}
		req, taken = r, n == 1
		return nil
	})
	if err != nil {
		return feedadmin.RunRequest{}, false, fmt.Errorf("take the run request of feed %s: %w", feed, err)
	}
	return req, taken, nil
}

// notFound wraps err as a failure of what, store.ErrNotFound when a
// single-row query selected nothing.
func (s *Store) notFound(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case s.db.IsNoRows(err) || errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}
