package authdb

// The accounts' part in deleting an organisation.

import (
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// RefuseOrganisationDelete refuses, in tx, the transaction that deletes
// the organisation id, while an account belongs to it (users.org_id
// refers to it): the error wraps store.ErrConflict, and the accounts must
// be moved or deleted first. It is the accounts' constituencydb.DeleteHook
// Refuse, given by internal/database.
func RefuseOrganisationDelete(ctx context.Context, tx sqlkit.DB, id int64, _ string) error {
	var users int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM users WHERE org_id = ?`, id).Scan(&users); err != nil {
		return fmt.Errorf("count the organisation's users: %w", err)
	}
	if users > 0 {
		return fmt.Errorf("%d users belong to it; move or delete them first: %w", users, store.ErrConflict)
	}
	return nil
}
