package database_test

import (
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/notify/notifydb"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/outbox/outboxdb"
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
	if _, ok := w.Notifier.(*notifydb.Store); !ok {
		t.Fatalf("Wrapped's Notifier = %T, want the notifier's data of the database", w.Notifier)
	}
	if _, ok := w.Messages.(*outboxdb.Store); !ok {
		t.Fatalf("Wrapped's Messages = %T, want the outbox of the database", w.Messages)
	}
	if _, err := w.ListMessages(t.Context(), outbox.MessageQuery{}); err != nil {
		t.Fatalf("ListMessages through the wrapped DB: %v", err)
	}
	if _, err := w.NotifiedOrganisations(t.Context(), time.Now()); err != nil {
		t.Fatalf("NotifiedOrganisations through the wrapped DB: %v", err)
	}
	if _, err := w.ListNotificationPolicies(t.Context()); err != nil {
		t.Fatalf("ListNotificationPolicies through the wrapped DB: %v", err)
	}
}
