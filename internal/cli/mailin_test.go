package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/mailin/mailindb"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// TestServeMailIn runs the real `vigil serve` with mail_in configured: a
// phishing forward sent with swaks is acknowledged and waits, pending,
// in the spool of the database; a bad mail_in section stops serve at
// start with an error naming the key.
func TestServeMailIn(t *testing.T) {
	bin := buildVigil(t)
	data := t.TempDir()
	smtpAddr := freeAddr(t)
	cfg := filepath.Join(data, "vigil.yml")
	yml := "mail_in:\n  listen: " + smtpAddr + "\n  hostname: mx.cert.example\n  recipients: [report@, suspicious@]\n"
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	startServeWith(t, bin, data, "--config", cfg)
	var out []byte
	waitFor(t, 60*time.Second, func() bool {
		var err error
		out, err = exec.Command("swaks", "--server", smtpAddr, "--from", "reporter@example.org",
			"--to", "suspicious@cert.example", "--header", "Subject: Fwd: your parcel", "--body", "see below").CombinedOutput()
		return err == nil
	})
	if !strings.Contains(string(out), "250 2.0.0") {
		t.Fatalf("swaks:\n%s", out)
	}
	st, err := sqlitestore.Open(context.Background(), filepath.Join(data, "vigil.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pending, err := mailindb.New(st.DB()).PendingMail(context.Background(), 10)
	if err != nil || len(pending) != 1 || !strings.Contains(string(pending[0].Raw), "Subject: Fwd: your parcel") ||
		pending[0].To[0] != "suspicious@cert.example" {
		t.Fatalf("spool after one message: %d pending, %v", len(pending), err)
	}

	bad := filepath.Join(data, "bad.yml")
	if err := os.WriteFile(bad, []byte("mail_in:\n  listen: "+freeAddr(t)+"\n  recipients: [\"@cert.example\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	msg, err := exec.Command(bin, "serve", "--data", t.TempDir(), "--config", bad).CombinedOutput()
	if err == nil || !strings.Contains(string(msg), `config: mail_in.recipients[0]: "@cert.example": want an address`) {
		t.Fatalf("serve with a bad mail_in: %v\n%s", err, msg)
	}
}
