package told

// CommitNotifications: a notifier pass's messages, sets, tallies, state
// and consumed queue entries, written in one transaction.

import (
	"context"
	"fmt"
	"slices"

	"github.com/vigil-cert/vigil/internal/outbox/outboxdb"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/queuesql"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
	"github.com/vigil-cert/vigil/internal/store/statesql"
)

// CommitNotifications stores one pass of the notifier in one transaction:
// the messages (in the outbox, with the events they report), the keys
// told, the tallies, the state, and the removal of the consumed pending
// notifications from the event store's queue. It sets the messages' IDs,
// and fills in their Size, a zero Status (queued), Created (now) and
// NextAttempt (Created: due at once). On error nothing is stored and c is
// unchanged: a crash before the commit leaves everything pending, after
// it everything queued.
func (s *Store) CommitNotifications(ctx context.Context, c *Commit) error {
	messages := slices.Clone(c.Messages)
	at := store.RecordTime()
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		if err := outboxdb.Queue(ctx, tx, messages, at); err != nil {
			return fmt.Errorf("messages: %w", err)
		}
		if err := tell(ctx, tx, c.Told); err != nil {
			return fmt.Errorf("keys: %w", err)
		}
		if err := writeTallies(ctx, tx, c.Repeats); err != nil {
			return err
		}
		if err := statesql.PutAll(ctx, tx, c.State); err != nil {
			return err
		}
		if err := queuesql.ConsumePending(ctx, tx, c.Done); err != nil {
			return fmt.Errorf("consume pending: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("told: commit notifications: %w", err)
	}
	copy(c.Messages, messages)
	return nil
}
