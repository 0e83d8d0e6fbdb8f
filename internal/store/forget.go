package store

// What the event store and the notifier keep under a deleted organisation.

import (
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// ForgetOrganisationEvents removes, in tx, the transaction that deletes
// the organisation handle, its entries in the index of events by
// organisation (event_orgs), so that an event search by its handle finds
// nothing; the events keep extra.constituency. It is the event store's
// constituencydb.DeleteHook Forget, given by internal/database.
func ForgetOrganisationEvents(ctx context.Context, tx sqlkit.DB, _ int64, handle string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM event_orgs WHERE org = ?`, handle); err != nil {
		return fmt.Errorf("forget event_orgs: %w", err)
	}
	return nil
}

// ForgetOrganisationNotifications removes, in tx, the transaction that
// deletes the organisation handle, the notifier's records of it: its
// pending notifications (notify_queue), the observations told to it
// (notified_sets) and its tally (notify_tallies). It is the notifier's
// constituencydb.DeleteHook Forget, given by internal/database; it
// belongs with those tables, and moves with them when they leave
// internal/store.
func ForgetOrganisationNotifications(ctx context.Context, tx sqlkit.DB, _ int64, handle string) error {
	for _, table := range []string{"notify_queue", "notified_sets", "notify_tallies"} {
		if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE org = ?`, handle); err != nil {
			return fmt.Errorf("forget %s: %w", table, err)
		}
	}
	return nil
}
