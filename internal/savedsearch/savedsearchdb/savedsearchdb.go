// Package savedsearchdb keeps the saved searches (internal/savedsearch)
// in a table of their own schema (Schema), created and migrated with the
// database. Its queries are written once on the shared SQL layer
// (sqlkit) and run on SQLite and PostgreSQL alike, which the contract
// tests (savedsearchtest) check. Errors name the operation and wrap
// store.ErrNotFound.
package savedsearchdb

import (
	"context"
	"embed"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/savedsearch"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

//go:embed sqlite/*.sql postgres/*.sql
var migrations embed.FS

// Schema is the saved searches' table. A search belongs to an account,
// so the schema comes after the accounts'.
var Schema = sqlkit.Schema{Name: "savedsearch", FS: migrations}

// Store keeps the saved searches on a database. It is safe for
// concurrent use.
type Store struct {
	db sqlkit.DB
}

// New returns the saved searches kept on db, which Schema has migrated.
func New(db sqlkit.DB) *Store { return &Store{db: db} }

var _ savedsearch.Searches = (*Store)(nil)

// columns are a search's columns, its owner's name among them.
const columns = `s.id, s.user_id, u.name, s.name, s.query, s.table_columns, s.shared, s.created, s.updated
	FROM saved_searches AS s JOIN users AS u ON u.id = s.user_id`

func scan(row sqlkit.Row) (savedsearch.Search, error) {
	var s savedsearch.Search
	var tableColumns string
	err := row.Scan(&s.ID, &s.UserID, &s.Owner, &s.Name, &s.Query, &tableColumns, &s.Shared, sqlkit.Time(&s.Created), sqlkit.Time(&s.Updated))
	s.Columns = savedsearch.ParseColumns(tableColumns)
	return s, err
}

// now is the time a search is stored or changed, as the database keeps
// it (to the microsecond).
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// CreateSavedSearch stores s (see savedsearch.Searches). The count of the
// owner's searches and the insert are one transaction; on PostgreSQL the
// owner's row is locked first, so that two saves at once cannot pass
// the bound together (SQLite has one writer at a time).
func (st *Store) CreateSavedSearch(ctx context.Context, s *savedsearch.Search) error {
	if err := savedsearch.Check(s); err != nil {
		return fmt.Errorf("create saved search: %w", err)
	}
	at := now()
	err := st.db.Tx(ctx, func(tx sqlkit.DB) error {
		lock := `SELECT name FROM users WHERE id = ?`
		if tx.Dialect() != sqlkit.SQLite {
			lock += ` FOR UPDATE`
		}
		var owner string
		if err := tx.QueryRow(ctx, lock, s.UserID).Scan(&owner); err != nil {
			return store.NotFound(err, fmt.Sprintf("owner %d", s.UserID))
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM saved_searches WHERE user_id = ?`, s.UserID).Scan(&n); err != nil {
			return err
		}
		if n >= savedsearch.MaxPerUser {
			return savedsearch.ErrTooMany
		}
		d := tx.Dialect()
		id, err := tx.Insert(ctx, `INSERT INTO saved_searches (user_id, name, query, table_columns, shared, created, updated)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			s.UserID, s.Name, s.Query, strings.Join(s.Columns, ","), s.Shared, d.Time(at), d.Time(at))
		if tx.IsUnique(err) {
			return savedsearch.ErrNameTaken
		}
		if err != nil {
			return err
		}
		s.ID, s.Owner, s.Created, s.Updated = id, owner, at, at
		return nil
	})
	if err != nil {
		return fmt.Errorf("create saved search: %w", err)
	}
	return nil
}

// GetSavedSearch returns one search; ErrNotFound when there is none.
func (st *Store) GetSavedSearch(ctx context.Context, id int64) (savedsearch.Search, error) {
	s, err := scan(st.db.QueryRow(ctx, `SELECT `+columns+` WHERE s.id = ?`, id))
	return s, store.NotFound(err, fmt.Sprintf("get saved search %d", id))
}

// ListSavedSearches returns the user's searches, then, when shared, the
// others' shared ones, each group in the byte order of their names.
func (st *Store) ListSavedSearches(ctx context.Context, userID int64, shared bool) ([]savedsearch.Search, error) {
	where := `s.user_id = ?`
	if shared {
		where += ` OR s.shared`
	}
	// The own searches first: a CASE, which both databases order alike.
	out, err := sqlkit.All(ctx, st.db, `SELECT `+columns+` WHERE `+where+
		` ORDER BY CASE WHEN s.user_id = ? THEN 0 ELSE 1 END, s.name, s.id`, []any{userID, userID}, scan)
	if err != nil {
		return nil, fmt.Errorf("list saved searches: %w", err)
	}
	return out, nil
}

// UpdateSavedSearch renames s.ID and sets its sharing, when it belongs
// to s.UserID; ErrNotFound when it does not.
func (st *Store) UpdateSavedSearch(ctx context.Context, s *savedsearch.Search) error {
	name, err := savedsearch.CleanName(s.Name)
	if err != nil {
		return fmt.Errorf("update saved search: %w", err)
	}
	at := now()
	n, err := st.db.Exec(ctx, `UPDATE saved_searches SET name = ?, shared = ?, updated = ? WHERE id = ? AND user_id = ?`,
		name, s.Shared, st.db.Dialect().Time(at), s.ID, s.UserID)
	switch {
	case st.db.IsUnique(err):
		return fmt.Errorf("update saved search: %w", savedsearch.ErrNameTaken)
	case err != nil:
		return fmt.Errorf("update saved search: %w", err)
	case n == 0:
		return fmt.Errorf("update saved search %d: %w", s.ID, store.ErrNotFound)
	}
	s.Name, s.Updated = name, at
	return nil
}

// DeleteSavedSearch deletes one search; ErrNotFound when there is none.
// Who may is the caller's decision (savedsearch.Viewer.CanDelete).
func (st *Store) DeleteSavedSearch(ctx context.Context, id int64) error {
	n, err := st.db.Exec(ctx, `DELETE FROM saved_searches WHERE id = ?`, id)
	switch {
	case err != nil:
		return fmt.Errorf("delete saved search %d: %w", id, err)
	case n == 0:
		return fmt.Errorf("delete saved search %d: %w", id, store.ErrNotFound)
	}
	return nil
}
