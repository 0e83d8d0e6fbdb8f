package store

// What the event store keeps under a deleted organisation.

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

// ForgetOrganisationQueue removes, in tx, the transaction that deletes the
// organisation handle, its pending notifications (notify_queue): the
// queue is the event store's, written as events are stored. It is the
// queue's constituencydb.DeleteHook Forget, given by internal/database.
func ForgetOrganisationQueue(ctx context.Context, tx sqlkit.DB, _ int64, handle string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM notify_queue WHERE org = ?`, handle); err != nil {
		return fmt.Errorf("forget notify_queue: %w", err)
	}
	return nil
}
