package sealed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/auth/authdb/authtest"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

const identityKey = "notify/identity"

// A stand-in for the armored private key: what matters is that its text
// is never found in the database.
const privateKey = "-----BEGIN PGP PRIVATE KEY BLOCK-----\nteam-private-key-material-0123456789\n-----END PGP PRIVATE KEY BLOCK-----\n"

const totpSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

// openRaw opens the database as stored, without sealing.
func openRaw(t *testing.T, dir string) *database.DB {
	t.Helper()
	return openRawLayout(t, dir, "")
}

// openRawLayout is openRaw with the event layout asked for.
func openRawLayout(t *testing.T, dir, layout string) *database.DB {
	t.Helper()
	st, err := sqlitestore.Open(t.Context(), filepath.Join(dir, "vigil.db"), sqlitestore.Options{Logger: slog.New(slog.DiscardHandler), EventLayout: layout})
	if err != nil {
		t.Fatal(err)
	}
	db, err := database.New(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func noEnv(string) string { return "" }

func envWith(key string) func(string) string {
	return func(name string) string {
		if name == KeyEnv {
			return key
		}
		return ""
	}
}

// openSealed opens raw through the sealing wrappers, as vigil does.
func openSealed(t *testing.T, raw *database.DB, dir string, getenv func(string) string) (*database.DB, error) {
	t.Helper()
	st, acc, err := Open(t.Context(), raw.Store, raw.Accounts, Options{DataDir: dir, Getenv: getenv, StateKeys: []string{identityKey}})
	if err != nil {
		return nil, err
	}
	return raw.Wrapped(st, acc), nil
}

// TestContract runs the store's and the accounts' contract suites through
// the sealing wrappers: sealing must be invisible to every caller.
func TestContract(t *testing.T) {
	t.Run("accounts", func(t *testing.T) {
		authtest.Run(t, func(t *testing.T) (store.Store, auth.Accounts) {
			dir := t.TempDir()
			raw := openRaw(t, dir)
			t.Cleanup(func() { raw.Close() })
			key, err := NewKey()
			if err != nil {
				t.Fatal(err)
			}
			s, err := openSealed(t, raw, dir, envWith(key))
			if err != nil {
				t.Fatal(err)
			}
			return s.Store, s.Accounts
		})
	})
	storetest.Run(t, func(t *testing.T) store.Store {
		dir := t.TempDir()
		// Rows: the contract's "insert held open" writes the events
		// table, and the sealing wrapper does not say its layout.
		raw := openRawLayout(t, dir, sqlitestore.LayoutRows)
		t.Cleanup(func() { raw.Close() })
		// A key from the environment: a new key file would be audited,
		// and the suite expects an empty audit log.
		key, err := NewKey()
		if err != nil {
			t.Fatal(err)
		}
		s, err := openSealed(t, raw, dir, envWith(key))
		if err != nil {
			t.Fatal(err)
		}
		return s.Store
	})
}

func TestSecretsAreNotPlainInTheDatabase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	raw := openRaw(t, dir)
	s, err := openSealed(t, raw, dir, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	u := &auth.User{Name: "ann", Role: auth.RoleAnalyst, TOTPSecret: totpSecret}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.PutState(ctx, identityKey, []byte(privateKey)); err != nil {
		t.Fatal(err)
	}

	t.Run("read back through the sealing store", func(t *testing.T) {
		got, err := s.GetUserByName(ctx, "ann")
		if err != nil || got.TOTPSecret != totpSecret {
			t.Fatalf("GetUserByName = %q, %v", got.TOTPSecret, err)
		}
		v, err := s.GetState(ctx, identityKey)
		if err != nil || string(v) != privateKey {
			t.Fatalf("GetState = %q, %v", v, err)
		}
	})
	t.Run("rows as stored", func(t *testing.T) {
		row, err := raw.GetUser(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(row.TOTPSecret, totpSecret) || !IsSealed(row.TOTPSecret) {
			t.Errorf("users.totp_secret = %q, want it sealed", row.TOTPSecret)
		}
		v, err := raw.GetState(ctx, identityKey)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(v, []byte("team-private-key-material")) || !IsSealed(string(v)) {
			t.Errorf("state %s = %.60q, want it sealed", identityKey, v)
		}
	})
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
	t.Run("database files", func(t *testing.T) {
		files, _ := filepath.Glob(filepath.Join(dir, "vigil.db*"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte(totpSecret)) || bytes.Contains(b, []byte("team-private-key-material")) {
				t.Errorf("%s holds a secret in plain text", filepath.Base(f))
			}
		}
	})
}

func TestPlainSecretsOfAnEarlierVersionAreSealedAtStart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	raw := openRaw(t, dir)
	defer raw.Close()
	// What the previous version wrote: no key, secrets in plain text.
	u := &auth.User{Name: "ann", Role: auth.RoleAnalyst, TOTPSecret: totpSecret}
	if err := raw.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := raw.PutState(ctx, identityKey, []byte(privateKey)); err != nil {
		t.Fatal(err)
	}
	s, err := openSealed(t, raw, dir, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if row, _ := raw.GetUser(ctx, u.ID); !IsSealed(row.TOTPSecret) {
		t.Errorf("TOTP secret still plain after start: %q", row.TOTPSecret)
	}
	if v, _ := raw.GetState(ctx, identityKey); !IsSealed(string(v)) {
		t.Errorf("team key still plain after start: %.40q", v)
	}
	if got, err := s.GetUser(ctx, u.ID); err != nil || got.TOTPSecret != totpSecret {
		t.Errorf("GetUser after sealing = %q, %v", got.TOTPSecret, err)
	}
	if v, err := s.GetState(ctx, identityKey); err != nil || string(v) != privateKey {
		t.Errorf("GetState after sealing = %.40q, %v", v, err)
	}
	// A second start finds nothing to do and the same key opens all.
	if _, err := openSealed(t, raw, dir, noEnv); err != nil {
		t.Fatalf("second start: %v", err)
	}
}

func TestFileModes(t *testing.T) {
	dir := t.TempDir()
	raw := openRaw(t, dir)
	defer raw.Close()
	s, err := openSealed(t, raw, dir, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	// A write, so that the -wal and -shm files exist.
	if err := s.PutState(t.Context(), "x", []byte("y")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{KeyFile, "vigil.db", "vigil.db-wal", "vigil.db-shm"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want -rw-------", name, fi.Mode().Perm())
		}
	}
}

func TestKeyProblemsAreClearErrors(t *testing.T) {
	dir := t.TempDir()
	raw := openRaw(t, dir)
	defer raw.Close()
	if _, err := openSealed(t, raw, dir, noEnv); err != nil {
		t.Fatal(err)
	}
	other, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}

	// Each problem is said in the operator's language: a sentence of
	// its own in Dutch, French and German, naming the key's place.
	explained := func(t *testing.T, err error, place string) {
		t.Helper()
		m, ok := i18n.Explain(err)
		if !ok {
			t.Fatalf("%v does not explain itself", err)
		}
		c := i18n.Embedded()
		for _, lang := range []string{"nl", "fr", "de"} {
			if got := m.In(c, lang); got == m.String() || strings.Contains(got, m.ID) || !strings.Contains(got, place) {
				t.Errorf("%s: %q (English %q)", lang, got, m.String())
			}
		}
	}
	t.Run("another key in the environment", func(t *testing.T) {
		_, err := openSealed(t, raw, dir, envWith(other))
		explained(t, err, KeyEnv)
		if !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), KeyEnv) {
			t.Fatalf("err = %v, want ErrWrongKey naming %s", err, KeyEnv)
		}
	})
	t.Run("a malformed key in the environment", func(t *testing.T) {
		_, err := openSealed(t, raw, dir, envWith("not a key"))
		if err == nil || !strings.Contains(err.Error(), KeyEnv) {
			t.Fatalf("err = %v, want an error naming %s", err, KeyEnv)
		}
		explained(t, err, KeyEnv)
	})
	t.Run("another key file", func(t *testing.T) {
		dir2 := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir2, KeyFile), []byte(other+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := openSealed(t, raw, dir2, noEnv)
		explained(t, err, KeyFile)
		if !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), KeyFile) {
			t.Fatalf("err = %v, want ErrWrongKey naming the key file", err)
		}
	})
	t.Run("the key file lost", func(t *testing.T) {
		empty := t.TempDir()
		_, err := openSealed(t, raw, empty, noEnv)
		if !errors.Is(err, ErrKeyMissing) {
			t.Fatalf("err = %v, want ErrKeyMissing", err)
		}
		explained(t, err, KeyEnv)
		if _, err := os.Stat(filepath.Join(empty, KeyFile)); !errors.Is(err, os.ErrNotExist) {
			t.Error("a new key file was made for a database sealed with another")
		}
	})
	// What is wrong with the key is said in the operator's language too,
	// inside the sentence.
	c := i18n.Embedded()
	saysInEveryLanguage := func(t *testing.T, err error, inner i18n.Message) {
		t.Helper()
		m, _ := i18n.Explain(err)
		for _, lang := range []string{"en", "nl", "fr", "de"} {
			if got, want := m.In(c, lang), inner.In(c, lang); !strings.Contains(got, want) {
				t.Errorf("%s: %q does not say %q", lang, got, want)
			}
		}
	}
	t.Run("a key file that is not base64", func(t *testing.T) {
		dir2 := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir2, KeyFile), []byte("not a key\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := openSealed(t, raw, dir2, noEnv)
		explained(t, err, KeyFile)
		saysInEveryLanguage(t, err, i18n.M("sealed.key.notbase64"))
	})
	t.Run("a key of the wrong size in the environment", func(t *testing.T) {
		_, err := openSealed(t, raw, dir, envWith(other[:24]))
		explained(t, err, KeyEnv)
		saysInEveryLanguage(t, err, i18n.M("sealed.key.size", 18, KeySize))
	})
	// The key file of a database without secrets yet, made by Vigil.
	t.Run("a key file that cannot be created", func(t *testing.T) {
		gone := filepath.Join(t.TempDir(), "gone")
		_, err := LoadKey(gone, noEnv, true)
		explained(t, err, KeyFile)
		if want := "the file " + filepath.Join(gone, KeyFile) + " that keeps the secret key cannot be created: no such file or directory"; err.Error() != "sealed: "+want {
			t.Errorf("err = %q, want %q", err, "sealed: "+want)
		}
	})
	// Another process made the key file first (O_EXCL): its key is read,
	// and what is wrong with it is said as for any key file.
	t.Run("another process's key file is not a key", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), KeyFile)
		if err := os.WriteFile(path, []byte("c2hvcnQ=\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := createKeyFile(path)
		explained(t, err, KeyFile)
		saysInEveryLanguage(t, err, i18n.M("sealed.key.size", 5, KeySize))
	})
	t.Run("another process's key file cannot be read", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), KeyFile)
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		_, err := createKeyFile(path)
		explained(t, err, KeyFile)
		if want := "sealed: " + path + " cannot be read: is a directory"; err.Error() != want {
			t.Errorf("err = %q, want %q", err, want)
		}
	})
}

func TestKeyFromTheEnvironmentWins(t *testing.T) {
	dir := t.TempDir()
	raw := openRaw(t, dir)
	defer raw.Close()
	key, _ := NewKey()
	if _, err := openSealed(t, raw, dir, envWith(key)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, KeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Error("a key file was made although the key came from the environment")
	}
	if _, err := openSealed(t, raw, dir, envWith(key)); err != nil {
		t.Fatalf("second start with the same key: %v", err)
	}
}

func TestSealedValueIsBoundToItsRecord(t *testing.T) {
	key, _ := NewKey()
	b, err := decodeKey(key, KeyEnv)
	if err != nil {
		t.Fatal(err)
	}
	box, err := NewBox(b)
	if err != nil {
		t.Fatal(err)
	}
	v, err := box.Seal([]byte(totpSecret), totpContext(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := box.Open(v, totpContext(2)); !errors.Is(err, ErrWrongKey) {
		t.Errorf("user 1's secret opened as user 2's: %v", err)
	}
	tampered := v[:len(v)-2] + "AA"
	if tampered == v {
		tampered = v[:len(v)-2] + "BB"
	}
	if _, err := box.Open(tampered, totpContext(1)); err == nil {
		t.Error("an altered value opened")
	}
	if got, err := box.Open(v, totpContext(1)); err != nil || string(got) != totpSecret {
		t.Errorf("Open = %q, %v", got, err)
	}
}

// failingStore fails the State calls it has an error for, as a database
// does: its own reason wrapped in the store's English context.
type failingStore struct {
	store.Store
	get, put error
}

func (s failingStore) GetState(ctx context.Context, key string) ([]byte, error) {
	if s.get != nil {
		return nil, fmt.Errorf("sqlitestore: get state %s: %w", key, s.get)
	}
	return s.Store.GetState(ctx, key)
}

func (s failingStore) PutState(ctx context.Context, key string, value []byte) error {
	if s.put != nil {
		return fmt.Errorf("sqlitestore: put state %s: %w", key, s.put)
	}
	return s.Store.PutState(ctx, key, value)
}

// failingAccounts fails the calls it has an error for.
type failingAccounts struct {
	auth.Accounts
	list, update, audit error
}

func (a failingAccounts) ListUsers(ctx context.Context) ([]auth.User, error) {
	if a.list != nil {
		return nil, fmt.Errorf("sqlitestore: list users: %w", a.list)
	}
	return a.Accounts.ListUsers(ctx)
}

func (a failingAccounts) UpdateUser(ctx context.Context, u auth.User) error {
	if a.update != nil {
		return fmt.Errorf("sqlitestore: update user: %w", a.update)
	}
	return a.Accounts.UpdateUser(ctx, u)
}

func (a failingAccounts) AddAudit(ctx context.Context, e auth.AuditEntry) error {
	if a.audit != nil {
		return fmt.Errorf("sqlitestore: add audit: %w", a.audit)
	}
	return a.Accounts.AddAudit(ctx, e)
}

// TestDatabaseFailuresAreClearErrors: the database failing while Open
// checks the key or seals what an earlier version left plain is said in
// the operator's language, naming what could not be read or written,
// with the database's own reason last and none of the store's English
// context.
func TestDatabaseFailuresAreClearErrors(t *testing.T) {
	ctx := context.Background()
	reason := errors.New("disk I/O error (10)")
	c := i18n.Embedded()
	for _, tt := range []struct {
		name string
		// plain makes a database of an earlier version: a TOTP secret
		// not sealed yet.
		plain bool
		st    func(store.Store) store.Store
		acc   func(auth.Accounts) auth.Accounts
		en    string
	}{
		{"key check unreadable", false, func(s store.Store) store.Store { return failingStore{Store: s, get: reason} }, nil,
			"sealed: the check of the secret key cannot be read from the database: disk I/O error (10)"},
		{"key check not written", false, func(s store.Store) store.Store { return failingStore{Store: s, put: reason} }, nil,
			"sealed: the check of the secret key cannot be written to the database: disk I/O error (10)"},
		{"new key not audited", false, nil, func(a auth.Accounts) auth.Accounts { return failingAccounts{Accounts: a, audit: reason} },
			"sealed: the new secret key cannot be recorded in the database's audit log: disk I/O error (10)"},
		{"accounts unreadable", false, nil, func(a auth.Accounts) auth.Accounts { return failingAccounts{Accounts: a, list: reason} },
			"sealed: the accounts whose TOTP secrets are to be sealed cannot be read from the database: disk I/O error (10)"},
		{"TOTP secret not sealed", true, nil, func(a auth.Accounts) auth.Accounts { return failingAccounts{Accounts: a, update: reason} },
			"sealed: the TOTP secret of ann cannot be sealed in the database: disk I/O error (10)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			raw := openRaw(t, dir)
			defer raw.Close()
			if tt.plain {
				if err := raw.CreateUser(ctx, &auth.User{Name: "ann", Role: auth.RoleAnalyst, TOTPSecret: totpSecret}); err != nil {
					t.Fatal(err)
				}
			}
			var st store.Store = raw.Store
			var acc auth.Accounts = raw.Accounts
			if tt.st != nil {
				st = tt.st(st)
			}
			if tt.acc != nil {
				acc = tt.acc(acc)
			}
			_, _, err := Open(ctx, st, acc, Options{DataDir: dir, Getenv: noEnv})
			if err == nil || err.Error() != tt.en {
				t.Fatalf("err = %v\nwant %s", err, tt.en)
			}
			if !errors.Is(err, reason) {
				t.Errorf("%v does not wrap the database's error", err)
			}
			m, ok := i18n.Explain(err)
			if !ok {
				t.Fatalf("%v does not explain itself", err)
			}
			for _, lang := range []string{"nl", "fr", "de"} {
				got := m.In(c, lang)
				if !strings.HasSuffix(got, ": "+reason.Error()) && !strings.HasSuffix(got, " : "+reason.Error()) {
					t.Errorf("%s: %q does not end with the database's reason", lang, got)
				}
				for _, english := range []string{"cannot", "the ", "sqlitestore", m.ID} {
					if strings.Contains(got, english) {
						t.Errorf("%s: %q says %q", lang, got, english)
					}
				}
			}
		})
	}
}
