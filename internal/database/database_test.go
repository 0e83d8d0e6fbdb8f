package database_test

import (
	"testing"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/notify/notifydb"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

// TestWrappedKeepsCapabilities: wrapping the event store and the accounts
// (as vigil serve does with internal/sealed's wrappers) keeps the other
// capabilities' stores, which a DB built field by field had left nil: the
// notifier's first pass then crashed on the policies.
func TestWrappedKeepsCapabilities(t *testing.T) {
	st := dbtest.SQLite(t)
	db, err := database.New(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	w := db.Wrapped(db.Store, db.Accounts)
	if w == db {
		t.Fatal("Wrapped returned the same DB, not a copy")
	}
	if _, ok := w.Settings.(*notifydb.Store); !ok {
		t.Fatalf("Wrapped's Settings = %T, want the notification settings of the database", w.Settings)
	}
	if _, err := w.ListNotificationPolicies(t.Context()); err != nil {
		t.Fatalf("ListNotificationPolicies through the wrapped DB: %v", err)
	}
}
