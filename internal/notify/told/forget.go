package told

import (
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// ForgetOrganisation removes, in tx, the transaction that deletes the
// organisation handle, what was told to it (notified_sets) and its "seen
// again" tally (notify_tallies). It is the notifier's
// constituencydb.DeleteHook Forget, given by internal/database.
func ForgetOrganisation(ctx context.Context, tx sqlkit.DB, _ int64, handle string) error {
	for _, table := range []string{"notified_sets", "notify_tallies"} {
		if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE org = ?`, handle); err != nil {
			return fmt.Errorf("forget %s: %w", table, err)
		}
	}
	return nil
}
