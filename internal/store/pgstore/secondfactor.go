package pgstore

import (
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/store"
)

// ClaimTOTPStep records step as the user's last accepted TOTP step when it
// is later than the recorded one; the comparison sits in the UPDATE, whose
// row lock makes two concurrent claims of one step end with one winner.
func (s *Store) ClaimTOTPStep(ctx context.Context, userID, step int64) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1`, step, userID)
	if err != nil {
		return false, fmt.Errorf("pgstore: claim totp step of user %d: %w", userID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReplaceRecoveryCodes swaps the user's recovery codes in one transaction.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: replace recovery codes of user %d: %w", userID, err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
		return fmt.Errorf("pgstore: replace recovery codes of user %d: %w", userID, err)
	}
	for _, h := range hashes {
		if _, err := tx.Exec(ctx, `INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)`, userID, h); err != nil {
			if isForeignKey(err) {
				return fmt.Errorf("pgstore: replace recovery codes of user %d: %w", userID, store.ErrNotFound)
			}
			return fmt.Errorf("pgstore: replace recovery codes of user %d: %w", userID, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: replace recovery codes of user %d: %w", userID, err)
	}
	return nil
}

// UseRecoveryCode deletes the matching code; the DELETE's row count says
// whether it was there, so a code cannot be spent twice.
func (s *Store) UseRecoveryCode(ctx context.Context, userID int64, hash []byte) (bool, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1 AND code_hash = $2`, userID, hash)
	if err != nil {
		return false, fmt.Errorf("pgstore: use recovery code of user %d: %w", userID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// CountRecoveryCodes returns how many unused codes the user has.
func (s *Store) CountRecoveryCodes(ctx context.Context, userID int64) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgstore: count recovery codes of user %d: %w", userID, err)
	}
	return n, nil
}
