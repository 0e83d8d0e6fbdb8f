package sqlitestore

// The second factor's data, written once in authsql.

import (
	"context"

	"github.com/vigil-cert/vigil/internal/store/authsql"
)

// ClaimTOTPStep records step as the user's last accepted TOTP step when it
// is later than the recorded one.
func (s *Store) ClaimTOTPStep(ctx context.Context, userID, step int64) (bool, error) {
	ok, err := authsql.ClaimTOTPStep(ctx, s.db(), userID, step)
	return ok, named(err)
}

// ReplaceRecoveryCodes swaps the user's recovery codes in one transaction.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte) error {
	return named(authsql.ReplaceRecoveryCodes(ctx, s.db(), userID, hashes))
}

// UseRecoveryCode deletes the matching code, reporting whether it was
// there.
func (s *Store) UseRecoveryCode(ctx context.Context, userID int64, hash []byte) (bool, error) {
	ok, err := authsql.UseRecoveryCode(ctx, s.db(), userID, hash)
	return ok, named(err)
}

// CountRecoveryCodes returns how many unused codes the user has.
func (s *Store) CountRecoveryCodes(ctx context.Context, userID int64) (int, error) {
	n, err := authsql.CountRecoveryCodes(ctx, s.db(), userID)
	return n, named(err)
}
