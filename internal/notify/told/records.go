package told

// What organisations were told: the sets of keys, the tallies of keys
// seen again, and their pruning.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// GetNotifiedKeys returns those of keys told to org that expire after now.
// The statement is prepared once: a pass runs it for every organisation.
func (s *Store) GetNotifiedKeys(ctx context.Context, org string, keys []event.Hash, now time.Time) (map[event.Hash]Key, error) {
	if len(keys) == 0 {
		return make(map[event.Hash]Key), nil
	}
	st, err := s.stmts.Get(ctx, `SELECT keys FROM notified_sets WHERE org = ? AND expires > ? ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("told: get notified keys of %s: %w", org, err)
	}
	var sets []toldSet
	err = st.Each(ctx, []any{org, s.db.Dialect().Time(now)}, func(row sqlkit.Row) error {
		var b []byte
		if err := row.Scan(&b); err != nil {
			return err
		}
		if !toldSet(b).Valid() {
			return errBadKeySet
		}
		sets = append(sets, b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("told: get notified keys of %s: %w", org, err)
	}
	return findTold(sets, org, keys, now), nil
}

// ListRepeatedKeys returns org's "seen again" tally (every organisation's
// for org ""), the entries that expire after now.
func (s *Store) ListRepeatedKeys(ctx context.Context, org string, now time.Time) ([]Key, error) {
	query, args := `SELECT org, tally FROM notify_tallies ORDER BY org`, []any(nil)
	if org != "" {
		query, args = `SELECT org, tally FROM notify_tallies WHERE org = ?`, []any{org}
	}
	var out []Key
	err := s.db.Each(ctx, query, args, func(row sqlkit.Row) error {
		var (
			handle string
			b      []byte
		)
		if err := row.Scan(&handle, &b); err != nil {
			return err
		}
		list, err := decodeTally(handle, b, now)
		if err != nil {
			return fmt.Errorf("%s: %w", handle, err)
		}
		out = append(out, list...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("told: list repeated keys: %w", err)
	}
	return out, nil
}

// NotifiedOrganisations returns the organisations told something that
// has not expired at now.
func (s *Store) NotifiedOrganisations(ctx context.Context, now time.Time) (map[string]bool, error) {
	out := map[string]bool{}
	err := s.db.Each(ctx, `SELECT DISTINCT org FROM notified_sets WHERE expires > ?`, []any{s.db.Dialect().Time(now)}, func(row sqlkit.Row) error {
		var org string
		if err := row.Scan(&org); err != nil {
			return err
		}
		out[org] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("told: notified organisations: %w", err)
	}
	return out, nil
}

// PruneNotifiedKeys removes the sets whose keys all expired before now,
// and merges the sets of organisations that have many. (Expired entries
// of a live set or a tally are skipped when read, and go when the sets
// are merged or the tally rewritten.)
func (s *Store) PruneNotifiedKeys(ctx context.Context, now time.Time) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM notified_sets WHERE expires < ?`, s.db.Dialect().Time(now)); err != nil {
		return fmt.Errorf("told: prune notified keys: %w", err)
	}
	if err := s.compactSets(ctx, now); err != nil {
		return fmt.Errorf("told: prune notified keys: compact: %w", err)
	}
	return nil
}

// compactAbove is how many sets an organisation may have before
// PruneNotifiedKeys merges them into one, so that a lookup reads few rows
// however often the organisation is told something.
const compactAbove = 16

// compactSets merges the sets of every organisation with more than
// compactAbove into one.
func (s *Store) compactSets(ctx context.Context, now time.Time) error {
	orgs, err := sqlkit.All(ctx, s.db, `SELECT org FROM notified_sets GROUP BY org HAVING count(*) > ?`, []any{compactAbove},
		func(row sqlkit.Row) (string, error) {
			var org string
			err := row.Scan(&org)
			return org, err
		})
	if err != nil {
		return err
	}
	for _, org := range orgs {
		if err := s.db.Tx(ctx, func(tx sqlkit.DB) error { return compactOrgSets(ctx, tx, org, now) }); err != nil {
			return fmt.Errorf("%s: %w", org, err)
		}
	}
	return nil
}

// compactOrgSets merges org's sets into one, under the id of the newest.
// PostgreSQL locks the rows it reads (a commit of another process may be
// telling the organisation something); SQLite's one writer has the
// database to itself in the transaction.
func compactOrgSets(ctx context.Context, tx sqlkit.DB, org string, now time.Time) error {
	query := `SELECT id, keys FROM notified_sets WHERE org = ? ORDER BY id`
	if tx.Dialect() == sqlkit.Postgres {
		query += ` FOR UPDATE`
	}
	var (
		sets []toldSet
		last int64
	)
	err := tx.Each(ctx, query, []any{org}, func(row sqlkit.Row) error {
		var b []byte
		if err := row.Scan(&last, &b); err != nil {
			return err
		}
		if toldSet(b).Valid() { // a damaged set is dropped
			sets = append(sets, b)
		}
		return nil
	})
	if err != nil {
		return err
	}
	set, expires := mergeToldSets(org, sets, now)
	if _, err := tx.Exec(ctx, `DELETE FROM notified_sets WHERE org = ?`, org); err != nil {
		return err
	}
	if len(set) == 0 {
		return nil
	}
	_, err = tx.Exec(ctx, `INSERT INTO notified_sets (org, id, expires, keys) VALUES (?, ?, ?, ?)`, org, last, tx.Dialect().Time(expires), set)
	return err
}

// tell stores the newly told keys in tx, one set per organisation, all
// under one new set id, many rows a statement.
func tell(ctx context.Context, tx sqlkit.DB, keys []Key, keySets []KeySet) error {
	if len(keys) == 0 && len(keySets) == 0 {
		return nil
	}
	var id int64
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(id), 0) + 1 FROM notified_sets`).Scan(&id); err != nil {
		return err
	}
	d := tx.Dialect()
	orgs, sets, expires := toldSetsOf(keys, keySets)
	return sqlkit.MultiRow(ctx, tx, len(orgs), 4, func(n int) string {
		return `INSERT INTO notified_sets (org, id, expires, keys) VALUES ` + sqlkit.ValueRows(4, n)
	}, func(dst []any, i int) []any {
		return append(dst, orgs[i], id, d.Time(expires[i]), sets[i])
	})
}

// writeTallies replaces, in tx, the tallies of the organisations in
// tallies; an empty list removes one.
func writeTallies(ctx context.Context, tx sqlkit.DB, tallies map[string][]Key) error {
	var clear, write []string
	for _, org := range slices.Sorted(maps.Keys(tallies)) {
		if len(tallies[org]) == 0 {
			clear = append(clear, org)
		} else {
			write = append(write, org)
		}
	}
	if len(clear) > 0 {
		a := tx.Dialect().Args()
		if _, err := tx.Exec(ctx, `DELETE FROM notify_tallies WHERE `+sqlkit.In(a, "org", clear), a.List()...); err != nil {
			return fmt.Errorf("tallies: %w", err)
		}
	}
	err := sqlkit.MultiRow(ctx, tx, len(write), 2, func(n int) string {
		return `INSERT INTO notify_tallies (org, tally) VALUES ` + sqlkit.ValueRows(2, n) + `
			ON CONFLICT (org) DO UPDATE SET tally = excluded.tally`
	}, func(dst []any, i int) []any {
		return append(dst, write[i], encodeTally(tallies[write[i]]))
	})
	if err != nil {
		return fmt.Errorf("tallies: %w", err)
	}
	return nil
}
