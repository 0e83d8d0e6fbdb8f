// Package database puts Vigil's database together: the event store
// (SQLite or PostgreSQL, internal/store) and, on the same connection, the
// data each capability keeps in tables of its own. Adding a capability
// that keeps data is adding its schema to Schemas and its store to DB.
package database

import (
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/auth/authdb"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/constituency/constituencydb"
	"github.com/vigil-cert/vigil/internal/feedadmin"
	"github.com/vigil-cert/vigil/internal/feedadmin/feedadmindb"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/notify/notifydb"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// Schemas are the capabilities' schemas, each after those its tables
// refer to (the accounts' users and the notification policies refer to
// the constituency's organisations).
var Schemas = []sqlkit.Schema{constituencydb.Schema, authdb.Schema, notifydb.Schema, feedadmindb.Schema}

// DB is Vigil's database: the event store, and each capability's data on
// its connection. Consumers take the narrow interfaces they need; DB
// satisfies them all.
type DB struct {
	store.Store
	auth.Accounts
	constituency.Organisations
	notify.Settings
	feedadmin.Data
}

// New migrates st and every capability's schema to the current version
// and returns the database on it.
func New(ctx context.Context, st store.Store) (*DB, error) {
	if err := st.Migrate(ctx, Schemas...); err != nil {
		return nil, err
	}
	return On(st), nil
}

// On returns the database on st, migrated already.
func On(st store.Store) *DB {
	return &DB{Store: st, Accounts: authdb.New(st.DB()), Organisations: constituencydb.New(st.DB()), Settings: notifydb.New(st.DB()),
		Data: feedadmindb.New(st.DB())}
}

// Migrate brings the event store and every capability's schema, then the
// extra schemas given, to the current version.
func (d *DB) Migrate(ctx context.Context, extra ...sqlkit.Schema) error {
	if err := d.Store.Migrate(ctx, append(Schemas[:len(Schemas):len(Schemas)], extra...)...); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	return nil
}

// Wrapped returns a copy of d whose event store and accounts are st and
// acc (wrappers of d's, as internal/sealed's are), every other
// capability's data kept as it is in d: a DB built field by field would
// leave a capability added later nil.
func (d *DB) Wrapped(st store.Store, acc auth.Accounts) *DB {
	w := *d
	w.Store, w.Accounts = st, acc
	return &w
}
