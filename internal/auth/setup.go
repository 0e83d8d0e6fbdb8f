package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/vigil-cert/vigil/internal/store"
)

// setupStateKey is where the setup token's hash is kept.
const setupStateKey = "setup-token"

// ErrSetupClosed means setup was already done or the token is wrong.
var ErrSetupClosed = errors.New("setup token not valid")

// EnsureSetupToken makes a one-time token for creating the first admin
// when there are no users yet, stores its hash, and returns it for the log.
// With users present it returns "" and removes any stale token. Every call
// replaces the previous token: only the latest printed one works.
func EnsureSetupToken(ctx context.Context, st SetupStore) (string, error) {
	n, err := st.CountUsers(ctx)
	if err != nil {
		return "", fmt.Errorf("setup token: count users: %w", err)
	}
	if n > 0 {
		if err := st.DeleteState(ctx, setupStateKey); err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("setup token: remove: %w", err)
		}
		return "", nil
	}
	tok, err := RandomToken(32)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256([]byte(tok))
	if err := st.PutState(ctx, setupStateKey, h[:]); err != nil {
		return "", fmt.Errorf("setup token: store: %w", err)
	}
	return tok, nil
}

// CheckSetupToken reports whether token is the current setup token.
func CheckSetupToken(ctx context.Context, st SetupTokenReader, token string) (bool, error) {
	if token == "" {
		return false, nil
	}
	want, err := st.GetState(ctx, setupStateKey)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("setup token: load: %w", err)
	}
	got := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(want, got[:]) == 1, nil
}

// setupMu serialises first-admin creation inside one process; the user
// count check inside it keeps a second admin from being made with the
// same token.
var setupMu sync.Mutex

// CreateFirstAdmin creates the first administrator with the setup token
// and then invalidates the token. It fails with ErrSetupClosed when the
// token is wrong or users already exist.
func CreateFirstAdmin(ctx context.Context, st SetupStore, token, name, email, password string) (User, error) {
	setupMu.Lock()
	defer setupMu.Unlock()
	ok, err := CheckSetupToken(ctx, st, token)
	if err != nil {
		return User{}, err
	}
	if !ok {
		return User{}, ErrSetupClosed
	}
	n, err := st.CountUsers(ctx)
	if err != nil {
		return User{}, fmt.Errorf("setup: count users: %w", err)
	}
	if n > 0 {
		return User{}, ErrSetupClosed
	}
	u, err := NewUser(name, email, RoleAdmin, password, "en")
	if err != nil {
		return User{}, err
	}
	if err := st.CreateUser(ctx, &u); err != nil {
		return User{}, fmt.Errorf("setup: create user: %w", err)
	}
	if err := st.DeleteState(ctx, setupStateKey); err != nil {
		return User{}, fmt.Errorf("setup: remove token: %w", err)
	}
	if err := Record(ctx, st, AuditEntry{UserID: u.ID, Actor: u.Name, Action: "user.create", Target: u.Name, Detail: "first administrator, created with the setup token"}); err != nil {
		return u, err
	}
	return u, nil
}

// ErrBadUserName is returned for an empty or oversized login name.
var ErrBadUserName = errors.New("user name must be 1 to 64 characters without spaces")

// NewUser builds a user with a hashed password, checking name, role and
// password policy. The caller stores it.
func NewUser(name, email string, role Role, password, language string) (User, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 64 || strings.ContainsAny(name, " \t\r\n") {
		return User{}, ErrBadUserName
	}
	if !ValidRole(role) {
		return User{}, fmt.Errorf("%w %q", ErrUnknownRole, role)
	}
	if err := ValidateNewPassword(password); err != nil {
		return User{}, err
	}
	h, err := HashPassword(password)
	if err != nil {
		return User{}, err
	}
	return User{Name: name, Email: strings.TrimSpace(email), Role: role, PasswordHash: h, Language: language}, nil
}
