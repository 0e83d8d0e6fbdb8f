package told

import (
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/store/sqlkit"
	"github.com/vigil-cert/vigil/internal/store/statesql"
)

// LastDigestPrefix starts the state key (Commit.State) under which the
// notifier remembers when an organisation's last digest went out:
// LastDigestPrefix + the organisation's handle. It is here, not in
// internal/notify, so that ForgetOrganisation removes the key the
// notifier writes.
const LastDigestPrefix = "notify.last-digest."

// ForgetOrganisation removes, in tx, the transaction that deletes the
// organisation handle, what was told to it (notified_sets), its "seen
// again" tally (notify_tallies) and its last-digest time (the state key
// LastDigestPrefix + handle). It is the notifier's
// constituencydb.DeleteHook Forget, given by internal/database.
func ForgetOrganisation(ctx context.Context, tx sqlkit.DB, _ int64, handle string) error {
	for _, table := range []string{"notified_sets", "notify_tallies"} {
		if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE org = ?`, handle); err != nil {
			return fmt.Errorf("forget %s: %w", table, err)
		}
	}
	if err := statesql.Delete(ctx, tx, LastDigestPrefix+handle); err != nil {
		return fmt.Errorf("forget: %w", err)
	}
	return nil
}
