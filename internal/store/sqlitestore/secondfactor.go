package sqlitestore

import (
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/store"
)

// ClaimTOTPStep records step as the user's last accepted TOTP step when it
// is later than the recorded one; the comparison sits in the UPDATE so the
// single writer decides it atomically.
func (s *Store) ClaimTOTPStep(ctx context.Context, userID, step int64) (bool, error) {
	res, err := s.write.ExecContext(ctx, `UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`, step, userID, step)
	if err != nil {
		return false, fmt.Errorf("sqlitestore: claim totp step of user %d: %w", userID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlitestore: claim totp step of user %d: %w", userID, err)
	}
	return n == 1, nil
}

// ReplaceRecoveryCodes swaps the user's recovery codes in one transaction.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: replace recovery codes of user %d: %w", userID, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("sqlitestore: replace recovery codes of user %d: %w", userID, err)
	}
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)`, userID, h); err != nil {
			if isForeignKey(err) {
				return fmt.Errorf("sqlitestore: replace recovery codes of user %d: %w", userID, store.ErrNotFound)
			}
			return fmt.Errorf("sqlitestore: replace recovery codes of user %d: %w", userID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: replace recovery codes of user %d: %w", userID, err)
	}
	return nil
}

// UseRecoveryCode deletes the matching code; the DELETE's row count says
// whether it was there, so a code cannot be spent twice.
func (s *Store) UseRecoveryCode(ctx context.Context, userID int64, hash []byte) (bool, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ? AND code_hash = ?`, userID, hash)
	if err != nil {
		return false, fmt.Errorf("sqlitestore: use recovery code of user %d: %w", userID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlitestore: use recovery code of user %d: %w", userID, err)
	}
	return n == 1, nil
}

// CountRecoveryCodes returns how many unused codes the user has.
func (s *Store) CountRecoveryCodes(ctx context.Context, userID int64) (int, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = ?`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlitestore: count recovery codes of user %d: %w", userID, err)
	}
	return n, nil
}
