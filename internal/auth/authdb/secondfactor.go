package authdb

// The second factor's data: the last accepted TOTP step, the recovery
// codes.

import (
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// ClaimTOTPStep records step as the user's last accepted TOTP step when it
// is later than the recorded one. The comparison sits in the UPDATE, so
// that two concurrent claims of one step end with one winner: SQLite's
// single writer decides it, PostgreSQL's row lock does.
func (a *Store) ClaimTOTPStep(ctx context.Context, userID, step int64) (bool, error) {
	n, err := a.db.Exec(ctx, `UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`, step, userID, step)
	if err != nil {
		return false, fmt.Errorf("claim totp step of user %d: %w", userID, err)
	}
	return n == 1, nil
}

// ReplaceRecoveryCodes swaps the user's recovery codes in one transaction;
// ErrNotFound when there is no such user.
func (a *Store) ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte) error {
	err := a.db.Tx(ctx, func(tx sqlkit.DB) error {
		if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return err
		}
		for _, h := range hashes {
			if _, err := tx.Exec(ctx, `INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)`, userID, h); err != nil {
				if tx.IsForeignKey(err) {
					return store.ErrNotFound
				}
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replace recovery codes of user %d: %w", userID, err)
	}
	return nil
}

// UseRecoveryCode deletes the matching code; the DELETE's row count says
// whether it was there, so a code cannot be spent twice.
func (a *Store) UseRecoveryCode(ctx context.Context, userID int64, hash []byte) (bool, error) {
	n, err := a.db.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = ? AND code_hash = ?`, userID, hash)
	if err != nil {
		return false, fmt.Errorf("use recovery code of user %d: %w", userID, err)
	}
	return n == 1, nil
}

// CountRecoveryCodes returns how many unused codes the user has.
func (a *Store) CountRecoveryCodes(ctx context.Context, userID int64) (int, error) {
	var n int
	if err := a.db.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = ?`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count recovery codes of user %d: %w", userID, err)
	}
	return n, nil
}
