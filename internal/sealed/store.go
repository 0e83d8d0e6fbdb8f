package sealed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

// keyCheckState is the State entry that tells whether a key is the
// database's: a known text sealed at first start. Opening it decides at
// start, with a clear message, what would otherwise surface as an
// unreadable secret at the first login.
const keyCheckState = "sealed/key-check"

const keyCheckText = "vigil secret key check"

// Options say where the key is and which state entries are secret.
type Options struct {
	// DataDir holds KeyFile.
	DataDir string
	// Getenv reads KeyEnv; nil means os.Getenv.
	Getenv func(string) string
	// StateKeys are the State entries kept sealed (the team's private
	// key); the rest of State is bookkeeping and stays plain.
	StateKeys []string
	// Logger receives notices; nil discards them.
	Logger *slog.Logger
}

// Store is a store.Store whose chosen State entries are sealed on the way
// in and opened on the way out; the rest passes through. The wrapped store
// only ever sees sealed secrets.
type Store struct {
	store.Store
	box       *Box
	stateKeys map[string]bool
}

// Accounts are auth.Accounts whose users' TOTP secrets are sealed on the
// way in and opened on the way out; the rest passes through.
type Accounts struct {
	auth.Accounts
	box *Box
}

// Open loads the key, checks it against the database, seals the secrets
// an earlier version left plain, and returns st and acc wrapped. A missing
// or wrong key is an error that says so; st is not closed.
func Open(ctx context.Context, st store.Store, acc auth.Accounts, opts Options) (*Store, *Accounts, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	check, err := st.GetState(ctx, keyCheckState)
	checked := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, nil, storeError(err, "sealed.db.keycheck.read")
	}
	key, err := LoadKey(opts.DataDir, opts.Getenv, !checked)
	if err != nil {
		return nil, nil, err
	}
	box, err := NewBox(key.bytes)
	if err != nil {
		return nil, nil, err
	}
	if checked {
		if plain, err := box.Open(string(check), keyCheckState); err != nil || string(plain) != keyCheckText {
			return nil, nil, &KeyError{Message: i18n.M("sealed.key.wrong", key.Source), Err: ErrWrongKey}
		}
	} else {
		sealedCheck, err := box.Seal([]byte(keyCheckText), keyCheckState)
		if err != nil {
			return nil, nil, err
		}
		if err := st.PutState(ctx, keyCheckState, []byte(sealedCheck)); err != nil {
			return nil, nil, storeError(err, "sealed.db.keycheck.store")
		}
	}
	if key.Created {
		if err := acc.AddAudit(ctx, auth.AuditEntry{Time: time.Now().UTC(), Actor: "vigil", Action: "secrets.key.create",
			Target: key.Source, Detail: "a new secret key for the secrets in the database"}); err != nil {
			return nil, nil, storeError(err, "sealed.db.audit.key")
		}
		log.Warn("a new secret key was made: back it up with the database; without it the TOTP secrets and the team key cannot be read",
			"file", key.Source)
	} else if key.Source != KeyEnv {
		if fi, err := os.Stat(key.Source); err == nil && fi.Mode().Perm()&0o077 != 0 {
			log.Warn("the secret key file is readable by others than its owner: chmod 600 it", "file", key.Source, "mode", fi.Mode().Perm().String())
		}
	}
	s, a := Wrap(st, box, opts.StateKeys...), WrapAccounts(acc, box)
	if err := sealPlain(ctx, s, a, log); err != nil {
		return nil, nil, err
	}
	return s, a, nil
}

// Wrap returns st with the named State entries sealed by box. Open is the
// way in for a process; Wrap and WrapAccounts are for tests and tools that
// hold a box already.
func Wrap(st store.Store, box *Box, stateKeys ...string) *Store {
	s := &Store{Store: st, box: box, stateKeys: make(map[string]bool)}
	for _, k := range stateKeys {
		s.stateKeys[k] = true
	}
	return s
}

// WrapAccounts returns acc with the users' TOTP secrets sealed by box.
func WrapAccounts(acc auth.Accounts, box *Box) *Accounts { return &Accounts{Accounts: acc, box: box} }

// sealPlain seals what an earlier version stored in plain text. It runs at
// every start and finds nothing to do after the first.
func sealPlain(ctx context.Context, s *Store, a *Accounts, log *slog.Logger) error {
	users, err := a.Accounts.ListUsers(ctx)
	if err != nil {
		return storeError(err, "sealed.db.users")
	}
	n := 0
	for _, u := range users {
		if u.TOTPSecret == "" || IsSealed(u.TOTPSecret) {
			continue
		}
		if u.TOTPSecret, err = a.box.Seal([]byte(u.TOTPSecret), totpContext(u.ID)); err != nil {
			return err
		}
		if err := a.Accounts.UpdateUser(ctx, u); err != nil {
			return storeError(err, "sealed.db.totp", u.Name)
		}
		n++
	}
	for k := range s.stateKeys {
		v, err := s.Store.GetState(ctx, k)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return storeError(err, "sealed.db.state", k)
		}
		if IsSealed(string(v)) {
			continue
		}
		if err := s.PutState(ctx, k, v); err != nil {
			return storeError(err, "sealed.db.state", k)
		}
		n++
	}
	if n > 0 {
		log.Info("secrets stored in plain text by an earlier version are sealed now", "count", n)
		if err := a.AddAudit(ctx, auth.AuditEntry{Time: time.Now().UTC(), Actor: "vigil", Action: "secrets.seal",
			Detail: strconv.Itoa(n) + " secrets stored in plain text sealed"}); err != nil {
			return storeError(err, "sealed.db.audit.seal")
		}
	}
	return nil
}

// StoreError is the database failing Open while it checks the key or
// seals what an earlier version left plain: a sentence in the
// operator's language (Explain) that says what could not be read or
// written, ending with the database's own reason. Error says it in
// English.
type StoreError struct {
	Message i18n.Message
	Err     error
}

func (e *StoreError) Error() string         { return "sealed: " + e.Message.String() }
func (e *StoreError) Unwrap() error         { return e.Err }
func (e *StoreError) Explain() i18n.Message { return e.Message }

// storeError is err of the database behind the sentence id, said with
// args and the database's reason.
func storeError(err error, id string, args ...any) *StoreError {
	return &StoreError{Message: i18n.M(id, append(args, i18n.LowLevelReason(err))...), Err: err}
}

// totpContext binds a TOTP secret to its account.
func totpContext(userID int64) string {
	return "users/" + strconv.FormatInt(userID, 10) + "/totp_secret"
}

// stateContext binds a State value to its key.
func stateContext(key string) string { return "state/" + key }

func (a *Accounts) openUser(u auth.User) (auth.User, error) {
	if u.TOTPSecret == "" {
		return u, nil
	}
	plain, err := a.box.Open(u.TOTPSecret, totpContext(u.ID))
	if err != nil {
		return auth.User{}, fmt.Errorf("TOTP secret of %s: %w", u.Name, err)
	}
	u.TOTPSecret = string(plain)
	return u, nil
}

func (a *Accounts) sealUser(u auth.User) (auth.User, error) {
	if u.TOTPSecret == "" || IsSealed(u.TOTPSecret) {
		return u, nil
	}
	v, err := a.box.Seal([]byte(u.TOTPSecret), totpContext(u.ID))
	if err != nil {
		return auth.User{}, err
	}
	u.TOTPSecret = v
	return u, nil
}

// CreateUser stores u with its TOTP secret sealed. The secret is bound to
// the account's id, which exists only once the row does: the account is
// created without it and the secret added in a second write.
func (a *Accounts) CreateUser(ctx context.Context, u *auth.User) error {
	secret := u.TOTPSecret
	u.TOTPSecret = ""
	err := a.Accounts.CreateUser(ctx, u)
	u.TOTPSecret = secret
	if err != nil || secret == "" {
		return err
	}
	return a.UpdateUser(ctx, *u)
}

// GetUser returns the account with its TOTP secret opened.
func (a *Accounts) GetUser(ctx context.Context, id int64) (auth.User, error) {
	u, err := a.Accounts.GetUser(ctx, id)
	if err != nil {
		return u, err
	}
	return a.openUser(u)
}

// GetUserByName returns the account with its TOTP secret opened.
func (a *Accounts) GetUserByName(ctx context.Context, name string) (auth.User, error) {
	u, err := a.Accounts.GetUserByName(ctx, name)
	if err != nil {
		return u, err
	}
	return a.openUser(u)
}

// ListUsers returns the accounts with their TOTP secrets opened.
func (a *Accounts) ListUsers(ctx context.Context) ([]auth.User, error) {
	us, err := a.Accounts.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	for i := range us {
		if us[i], err = a.openUser(us[i]); err != nil {
			return nil, err
		}
	}
	return us, nil
}

// UpdateUser stores u with its TOTP secret sealed.
func (a *Accounts) UpdateUser(ctx context.Context, u auth.User) error {
	u, err := a.sealUser(u)
	if err != nil {
		return err
	}
	return a.Accounts.UpdateUser(ctx, u)
}

// GetState opens a secret entry.
func (s *Store) GetState(ctx context.Context, key string) ([]byte, error) {
	v, err := s.Store.GetState(ctx, key)
	if err != nil || !s.stateKeys[key] {
		return v, err
	}
	return s.box.Open(string(v), stateContext(key))
}

// PutState seals a secret entry.
func (s *Store) PutState(ctx context.Context, key string, value []byte) error {
	if !s.stateKeys[key] {
		return s.Store.PutState(ctx, key, value)
	}
	v, err := s.box.Seal(value, stateContext(key))
	if err != nil {
		return err
	}
	return s.Store.PutState(ctx, key, []byte(v))
}

// SwapState passes plain entries through; a secret entry cannot be
// compared, as each sealing of it differs.
func (s *Store) SwapState(ctx context.Context, key string, old, value []byte) (bool, error) {
	if s.stateKeys[key] {
		return false, fmt.Errorf("sealed: state %s is sealed and cannot be swapped", key)
	}
	return s.Store.SwapState(ctx, key, old, value)
}

// ListState opens the secret entries among those listed; the key check
// is this package's own and is left out.
func (s *Store) ListState(ctx context.Context, prefix string) (map[string][]byte, error) {
	m, err := s.Store.ListState(ctx, prefix)
	if err != nil {
		return nil, err
	}
	delete(m, keyCheckState)
	for k, v := range m {
		if !s.stateKeys[k] {
			continue
		}
		if m[k], err = s.box.Open(string(v), stateContext(k)); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Interface guards.
var (
	_ store.Store    = (*Store)(nil)
	_ i18n.Explained = (*StoreError)(nil)
)
