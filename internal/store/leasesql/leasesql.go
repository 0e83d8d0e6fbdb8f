// Package leasesql keeps the named leases that let one process of several
// run a singleton job (package lease), written once on sqlkit.DB for both
// stores. Taking a lease is one upsert whose WHERE decides who wins, so
// neither store needs row locking: PostgreSQL's ON CONFLICT is atomic on
// the row, and SQLite has a single writer. Errors name the operation; the
// store prefixes its name.
package leasesql

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// Take gives holder the lease name until now+ttl when it is free, expired
// or holder's, and reports whether holder holds it.
func Take(ctx context.Context, db sqlkit.DB, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	d := db.Dialect()
	n, err := db.Exec(ctx, `INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
		WHERE leases.holder = excluded.holder OR leases.expires <= ?`, name, holder, d.Time(now.Add(ttl)), d.Time(now))
	if err != nil {
		return false, fmt.Errorf("take lease %s: %w", name, err)
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
