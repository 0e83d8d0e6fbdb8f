// Package leasesql keeps the named leases that let one process of several
// run a singleton job (package lease), written once on sqlkit.DB for both
// stores. Taking a lease is one upsert whose WHERE decides who wins, and
// taking it from a given holder one UPDATE whose WHERE names that holder,
// so neither store needs row locking to take one: PostgreSQL's ON
// CONFLICT and UPDATE are atomic on the row, and SQLite has a single
// writer. Check, in the transaction of a write made under a lease, keeps
// the lease from passing on until that write commits. Errors name the
// operation; the store prefixes its name.
package leasesql

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// Take gives holder the lease name until now+ttl when it is free, expired
// or holder's, and returns who holds it: holder when it took it, else the
// other holder, or "" when the lease was released in between.
func Take(ctx context.Context, db sqlkit.DB, name, holder string, now time.Time, ttl time.Duration) (string, error) {
	d := db.Dialect()
	n, err := db.Exec(ctx, `INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
		WHERE leases.holder = excluded.holder OR leases.expires <= ?`, name, holder, d.Time(now.Add(ttl)), d.Time(now))
	if err != nil {
		return "", fmt.Errorf("take lease %s: %w", name, err)
	}
	if n == 1 {
		return holder, nil
	}
	// Who holds it is only said, not decided, here: a second statement
	// is enough.
	var other string
	err = db.QueryRow(ctx, `SELECT holder FROM leases WHERE name = ?`, name).Scan(&other)
	switch {
	case db.IsNoRows(err):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("read the holder of lease %s: %w", name, err)
	}
	return other, nil
}

// TakeFrom gives holder the lease name until now+ttl when from holds it,
// expired or not, and reports whether it did.
func TakeFrom(ctx context.Context, db sqlkit.DB, name, from, holder string, now time.Time, ttl time.Duration) (bool, error) {
	n, err := db.Exec(ctx, `UPDATE leases SET holder = ?, expires = ? WHERE name = ? AND holder = ?`,
		holder, db.Dialect().Time(now.Add(ttl)), name, from)
	if err != nil {
		return false, fmt.Errorf("take lease %s from %s: %w", name, from, err)
	}
	return n == 1, nil
}

// Release ends holder's lease on name.
func Release(ctx context.Context, db sqlkit.DB, name, holder string) error {
	if _, err := db.Exec(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder); err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}

// Check returns nil when holder holds the lease name, else an error
// wrapping store.ErrLeaseLost. Run in the transaction of a write made
// under the lease, it keeps the lease from passing to another process
// until that transaction ends: on PostgreSQL the lease's row is locked
// (FOR SHARE: a takeover's update waits for the commit); on SQLite the
// transaction holds the database's write lock from its start (BEGIN
// IMMEDIATE), so a takeover waits for it anyway.
// Whether the lease expired by the clock is not asked: as long as no
// other process took it, no other runs the job.
func Check(ctx context.Context, db sqlkit.DB, name, holder string) error {
	q := `SELECT holder FROM leases WHERE name = ?`
	if db.Dialect() == sqlkit.Postgres {
		q += ` FOR SHARE`
	}
	var held string
	err := db.QueryRow(ctx, q, name).Scan(&held)
	switch {
	case db.IsNoRows(err):
		return fmt.Errorf("lease %s: released; %w", name, store.ErrLeaseLost)
	case err != nil:
		return fmt.Errorf("read the holder of lease %s: %w", name, err)
	case held != holder:
		return fmt.Errorf("lease %s: held by %s; %w", name, held, store.ErrLeaseLost)
	}
	return nil
}
