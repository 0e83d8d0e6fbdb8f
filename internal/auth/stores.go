package auth

import (
	"context"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
)

// The interfaces below are the parts of the store each piece of auth uses,
// each no wider than its callers need. The full store.Store satisfies all
// of them, so `vigil serve` hands the store itself.

// AuditLog is where Record writes.
type AuditLog interface {
	AddAudit(ctx context.Context, e store.AuditEntry) error
}

// SecondFactorStore is what ProveSecondFactor uses: a TOTP step claimed
// once, a recovery code used once.
type SecondFactorStore interface {
	ClaimTOTPStep(ctx context.Context, userID, step int64) (bool, error)
	UseRecoveryCode(ctx context.Context, userID int64, hash []byte) (bool, error)
}

// LoginStore is what Logins reads and writes: the account by its name, its
// second factor, and the audit log.
type LoginStore interface {
	GetUserByName(ctx context.Context, name string) (store.User, error)
	CountRecoveryCodes(ctx context.Context, userID int64) (int, error)
	SecondFactorStore
	AuditLog
}

// SessionStore is what Sessions keeps sessions in.
type SessionStore interface {
	CreateSession(ctx context.Context, s store.Session) error
	GetSession(ctx context.Context, idHash []byte) (store.Session, error)
	DeleteSession(ctx context.Context, idHash []byte) error
	DeleteExpiredSessions(ctx context.Context, now time.Time) error
}

// TokenStore is where NewAPIToken records a new API token.
type TokenStore interface {
	CreateAPIToken(ctx context.Context, t *store.APIToken) error
}

// SetupTokenReader is what CheckSetupToken reads the setup token from.
type SetupTokenReader interface {
	GetState(ctx context.Context, key string) ([]byte, error)
}

// SetupStore is what the first start uses: EnsureSetupToken keeps the
// setup token while there is no user, and CreateFirstAdmin spends it on
// the first administrator and audits that.
type SetupStore interface {
	CountUsers(ctx context.Context) (int64, error)
	CreateUser(ctx context.Context, u *store.User) error
	SetupTokenReader
	PutState(ctx context.Context, key string, value []byte) error
	DeleteState(ctx context.Context, key string) error
	AuditLog
}
