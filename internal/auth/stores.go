package auth

import (
	"context"
	"time"
)

// The interfaces below are the parts of the store each piece of auth uses,
// each no wider than its callers need. The full store.Store satisfies all
// of them, so `vigil serve` hands the store itself.

// AuditLog is where Record writes.
type AuditLog interface {
	AddAudit(ctx context.Context, e AuditEntry) error
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
	GetUserByName(ctx context.Context, name string) (User, error)
	CountRecoveryCodes(ctx context.Context, userID int64) (int, error)
	SecondFactorStore
	AuditLog
}

// SessionStore is what Sessions keeps sessions in.
type SessionStore interface {
	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, idHash []byte) (Session, error)
	DeleteSession(ctx context.Context, idHash []byte) error
	DeleteExpiredSessions(ctx context.Context, now time.Time) error
}

// TokenStore is where NewAPIToken records a new API token.
type TokenStore interface {
	CreateAPIToken(ctx context.Context, t *APIToken) error
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
	CreateUser(ctx context.Context, u *User) error
	SetupTokenReader
	PutState(ctx context.Context, key string, value []byte) error
	DeleteState(ctx context.Context, key string) error
	AuditLog
}

// Accounts is everything kept of accounts: users, their second factors,
// sessions and API tokens, and the audit log. internal/auth/authdb keeps
// it on the database; internal/sealed wraps it to seal TOTP secrets. The
// interfaces above are the parts of it each piece of auth uses.
type Accounts interface {
	// CreateUser sets u.ID and u.Created (when zero); ErrConflict on a
	// taken name, ErrNotFound when u.OrgID is neither 0 nor an
	// organisation.
	CreateUser(ctx context.Context, u *User) error
	GetUser(ctx context.Context, id int64) (User, error)
	GetUserByName(ctx context.Context, name string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	// UpdateUser replaces the account u.ID but its creation time;
	// ErrNotFound when there is no such account or u.OrgID is neither 0
	// nor an organisation, ErrConflict on a taken name.
	UpdateUser(ctx context.Context, u User) error
	// DeleteUser removes the account id with its sessions, API tokens
	// and recovery codes (the audit log keeps its entries); ErrNotFound
	// when there is no such account, ErrLastAdmin when it is the last
	// enabled administrator.
	DeleteUser(ctx context.Context, id int64) error
	CountUsers(ctx context.Context) (int64, error)
	// ClaimTOTPStep records step as the user's last accepted TOTP time
	// step and reports true when it is later than the one recorded
	// before; false (a replayed or older code, or no such user) leaves
	// the record as it was.
	ClaimTOTPStep(ctx context.Context, userID, step int64) (bool, error)
	// ReplaceRecoveryCodes drops the user's recovery codes and keeps the
	// given hashes instead (none: the user has no recovery codes).
	ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte) error
	// UseRecoveryCode removes the user's code with hash and reports
	// whether there was one: a recovery code works once.
	UseRecoveryCode(ctx context.Context, userID int64, hash []byte) (bool, error)
	// CountRecoveryCodes returns how many unused codes the user has.
	CountRecoveryCodes(ctx context.Context, userID int64) (int, error)
	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, idHash []byte) (Session, error)
	DeleteSession(ctx context.Context, idHash []byte) error
	DeleteUserSessions(ctx context.Context, userID int64) error
	DeleteExpiredSessions(ctx context.Context, now time.Time) error
	CreateAPIToken(ctx context.Context, t *APIToken) error
	GetAPITokenByHash(ctx context.Context, hash []byte) (APIToken, error)
	ListAPITokens(ctx context.Context, userID int64) ([]APIToken, error)
	DeleteAPIToken(ctx context.Context, userID, id int64) error
	TouchAPIToken(ctx context.Context, id int64, when time.Time) error
	AddAudit(ctx context.Context, e AuditEntry) error
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
}
