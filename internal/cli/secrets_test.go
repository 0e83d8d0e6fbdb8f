package cli

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/sealed"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// TestSecretKeyAtStart: the first start makes a key file and database
// files only their owner reads; a different key is refused at start with
// a message that says so.
func TestSecretKeyAtStart(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	code, out, errOut := run(t, "a-long-enough-password\n", "user", "add", "alice", "--role", "analyst", "--password-stdin", "--data", data)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	for name, want := range map[string]os.FileMode{"": 0o700, sealed.KeyFile: 0o600, "vigil.db": 0o600} {
		fi, err := os.Stat(filepath.Join(data, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", filepath.Join("data", name), fi.Mode().Perm(), want)
		}
	}
	other, err := sealed.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, sealed.KeyFile), []byte(other+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = run(t, "", "user", "list", "--data", data)
	if code != 1 || !strings.Contains(errOut, "secret key") || !strings.Contains(errOut, sealed.KeyFile) {
		t.Fatalf("wrong key: exit %d: %s", code, errOut)
	}
}

// TestUserTOTPReset: an administrator at the command line removes the
// second factor of a person who lost it; a secret an earlier version
// stored in plain text is sealed by the same start.
func TestUserTOTPReset(t *testing.T) {
	data := t.TempDir()
	if code, out, errOut := run(t, "a-long-enough-password\n", "user", "add", "alice", "--password-stdin", "--data", data); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	ctx := context.Background()
	raw, err := sqlitestore.Open(ctx, filepath.Join(data, "vigil.db"), sqlitestore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	st := database.On(raw)
	u, err := st.GetUserByName(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	u.TOTPSecret = "JBSWY3DPEHPK3PXP" // as the previous version stored it
	if err := st.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := st.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{[]byte("h")}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	code, out, errOut := run(t, "", "user", "list", "--data", data)
	if code != 0 || !strings.Contains(out, "yes") {
		t.Fatalf("list: exit %d: %s %s", code, out, errOut)
	}
	// The start sealed the secret the earlier version left in plain text.
	raw, err = sqlitestore.Open(ctx, filepath.Join(data, "vigil.db"), sqlitestore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	st = database.On(raw)
	if row, _ := st.GetUserByName(ctx, "alice"); !sealed.IsSealed(row.TOTPSecret) || strings.Contains(row.TOTPSecret, "JBSWY3DPEHPK3PXP") {
		t.Errorf("users.totp_secret after a start = %q, want it sealed", row.TOTPSecret)
	}
	st.Close()
	code, out, errOut = run(t, "", "user", "totp-reset", "alice", "--data", data)
	if code != 0 || !strings.Contains(out, "no second factor") {
		t.Fatalf("totp-reset: exit %d: %s %s", code, out, errOut)
	}
	raw, err = sqlitestore.Open(ctx, filepath.Join(data, "vigil.db"), sqlitestore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	st = database.On(raw)
	defer st.Close()
	got, _ := st.GetUserByName(ctx, "alice")
	if got.TOTPSecret != "" {
		t.Errorf("secret left: %q", got.TOTPSecret)
	}
	if n, _ := st.CountRecoveryCodes(ctx, u.ID); n != 0 {
		t.Errorf("%d recovery codes left", n)
	}
	entries, _ := st.ListAudit(ctx, auth.AuditQuery{Limit: 50})
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{"user.totp-reset", "secrets.seal", "secrets.key.create"} {
		if !strings.Contains(strings.Join(actions, " "), want) {
			t.Errorf("audit %v lacks %s", actions, want)
		}
	}
}
