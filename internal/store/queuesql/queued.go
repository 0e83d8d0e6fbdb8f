package queuesql

import (
	"context"
	"fmt"
	"slices"

	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// Queued returns, for those of ids (PendingNotification.Seq) that are in
// the queue, the organisations waiting for them, in no order: what a
// notification sent now consumes with its commit (ConsumePending). The
// notifier reads it before the transaction of that commit, between its
// passes: an entry consumed in between is consumed again to no effect
// (ConsumePending takes an id consumed twice), and entries queued in
// between are those of events stored after the read, never these ids.
func Queued(ctx context.Context, db sqlkit.DB, ids []int64) (map[int64][]string, error) {
	out := make(map[int64][]string)
	var (
		org string
		id  int64
	)
	for chunk := range slices.Chunk(ids, sqlkit.ParametersPerStatement) {
		a := db.Dialect().Args()
		err := db.Each(ctx, `SELECT org, event_id FROM notify_queue WHERE `+sqlkit.In(a, "event_id", chunk), a.List(), func(row sqlkit.Row) error {
			if err := row.Scan(&org, &id); err != nil {
				return err
			}
			out[id] = append(out[id], org)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("queued entries: %w", err)
		}
	}
	return out, nil
}
