package told

// CommitNotifications: a notifier pass's messages, sets, tallies, state
// and consumed queue entries, written in one transaction.

import (
	"context"
	"fmt"
	"slices"

	"github.com/vigil-cert/vigil/internal/outbox/outboxdb"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/leasesql"
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
		restore, err := holdDirtyPages(ctx, tx)
		if err != nil {
			return err
		}
		defer restore()
		if c.LeaseName != "" {
			if err := leasesql.Check(ctx, tx, c.LeaseName, c.LeaseHolder); err != nil {
				return err
			}
		}
		if err := outboxdb.Queue(ctx, tx, messages, at); err != nil {
			return fmt.Errorf("messages: %w", err)
		}
		if err := tell(ctx, tx, c.Told, c.ToldSets); err != nil {
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

// spillPages is how many pages SQLite's writer may hold in its cache in
// a notifier commit before it writes changed ones to the WAL ahead of the
// commit (a "spill"). A morning's batch changes more pages than the
// parts layout's writer cache holds (8 MiB; the first batches of bench
// notify, of organisations with thousands of events, 20 MB each):
// spilled pages that the transaction changes again are written twice,
// and the commit then reads its frames back from the first spill on to
// rewrite their checksums, a third of a second of the pass. At 64 MiB
// the bench's commits still spilled; a batch is bounded (notify's
// commitOrgs and commitBytes), and so is what this lets the cache hold.
const spillPages = 1 << 16

// holdDirtyPages lets SQLite's writer hold up to spillPages changed
// pages in tx before it spills, and returns what sets the threshold
// back; nothing on PostgreSQL.
func holdDirtyPages(ctx context.Context, tx sqlkit.DB) (restore func(), err error) {
	if tx.Dialect() != sqlkit.SQLite {
		return func() {}, nil
	}
	// 0 when spilling is off; else the threshold in pages, the cache's
	// size when none was set.
	var was int
	if err := tx.QueryRow(ctx, "PRAGMA cache_spill").Scan(&was); err != nil {
		return nil, fmt.Errorf("cache spill: %w", err)
	}
	if was == 0 || was >= spillPages {
		return func() {}, nil
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf("PRAGMA cache_spill = %d", spillPages)); err != nil {
		return nil, fmt.Errorf("cache spill: %w", err)
	}
	return func() {
		// Set back even when the pass is cancelled: the connection
		// outlives the transaction.
		tx.Exec(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA cache_spill = %d", was))
	}, nil
}
