package sqlitestore

// What organisations were told: the sets of keys, the tallies of keys
// seen again, and their pruning.

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// GetNotifiedKeys returns those of keys told to org that expire after now.
func (s *Store) GetNotifiedKeys(ctx context.Context, org string, keys []event.Hash, now time.Time) (map[event.Hash]store.NotifiedKey, error) {
	out := make(map[event.Hash]store.NotifiedKey)
	if len(keys) == 0 {
		return out, nil
	}
	st, err := s.readStmt(ctx, `SELECT keys FROM notified_sets WHERE org = ? AND expires > ? ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: get notified keys of %s: %w", org, err)
	}
	rows, err := st.QueryContext(ctx, org, now.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: get notified keys of %s: %w", org, err)
	}
	sets, err := sqlkit.Collect(rows, func(rows *sql.Rows) (store.ToldSet, error) {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		if !store.ToldSet(b).Valid() {
			return nil, store.ErrBadKeySet
		}
		return b, nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: get notified keys of %s: %w", org, err)
	}
	return store.FindTold(sets, org, keys, now), nil
}

// ListRepeatedKeys returns org's "seen again" tally (every organisation's
// for org ""), the entries that expire after now.
func (s *Store) ListRepeatedKeys(ctx context.Context, org string, now time.Time) ([]store.NotifiedKey, error) {
	query, args := `SELECT org, tally FROM notify_tallies ORDER BY org`, []any(nil)
	if org != "" {
		query, args = `SELECT org, tally FROM notify_tallies WHERE org = ?`, []any{org}
	}
	var out []store.NotifiedKey
	err := sqlkit.Each(ctx, s.read, query, args, func(rows *sql.Rows) error {
		var (
			handle string
			b      []byte
		)
		if err := rows.Scan(&handle, &b); err != nil {
			return err
		}
		list, err := store.DecodeTally(handle, b, now)
		if err != nil {
			return fmt.Errorf("%s: %w", handle, err)
		}
		out = append(out, list...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list repeated keys: %w", err)
	}
	return out, nil
}

// PruneNotifiedKeys removes the sets whose keys all expired before now,
// and merges the sets of organisations that have many. (Expired entries
// of a live set or a tally are skipped when read, and go when the sets
// are merged or the tally rewritten.)
func (s *Store) PruneNotifiedKeys(ctx context.Context, now time.Time) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM notified_sets WHERE expires < ?`, now.UnixMicro()); err != nil {
		return fmt.Errorf("sqlitestore: prune notified keys: %w", err)
	}
	if err := s.compactSets(ctx, now); err != nil {
		return fmt.Errorf("sqlitestore: prune notified keys: compact: %w", err)
	}
	return nil
}

// NotifiedOrganisations returns the organisations told something that
// has not expired at now.
func (s *Store) NotifiedOrganisations(ctx context.Context, now time.Time) (map[string]bool, error) {
	out := map[string]bool{}
	err := sqlkit.Each(ctx, s.read, `SELECT DISTINCT org FROM notified_sets WHERE expires > ?`, []any{now.UnixMicro()}, func(rows *sql.Rows) error {
		var org string
		if err := rows.Scan(&org); err != nil {
			return err
		}
		out[org] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: notified organisations: %w", err)
	}
	return out, nil
}

// compactAbove is how many sets an organisation may have before
// PruneNotifiedKeys merges them into one, so that a lookup reads few rows
// however often the organisation is told something.
const compactAbove = 16

// compactSets merges the sets of every organisation with more than
// compactAbove into one.
func (s *Store) compactSets(ctx context.Context, now time.Time) error {
	orgs, err := sqlkit.Query(ctx, s.read, `SELECT org FROM notified_sets GROUP BY org HAVING count(*) > ?`, []any{compactAbove}, sqlkit.RowTo[string])
	if err != nil {
		return err
	}
	for _, org := range orgs {
		if err := s.compactOrgSets(ctx, org, now); err != nil {
			return fmt.Errorf("%s: %w", org, err)
		}
	}
	return nil
}

func (s *Store) compactOrgSets(ctx context.Context, org string, now time.Time) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var (
		sets []store.ToldSet
		last int64
	)
	err = sqlkit.Each(ctx, tx, `SELECT id, keys FROM notified_sets WHERE org = ? ORDER BY id`, []any{org}, func(rows *sql.Rows) error {
		var b []byte
		if err := rows.Scan(&last, &b); err != nil {
			return err
		}
		if store.ToldSet(b).Valid() { // a damaged set is dropped
			sets = append(sets, b)
		}
		return nil
	})
	if err != nil {
		return err
	}
	set, expires := store.MergeToldSets(org, sets, now)
	if _, err := tx.ExecContext(ctx, `DELETE FROM notified_sets WHERE org = ?`, org); err != nil {
		return err
	}
	if len(set) > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO notified_sets (org, id, expires, keys) VALUES (?, ?, ?, ?)`, org, last, expires.UnixMicro(), set); err != nil {
			return err
		}
	}
	return tx.Commit()
}
