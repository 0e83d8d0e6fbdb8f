package mailin_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// swaks runs Debian's swaks against addr with args and returns its
// transcript and whether it succeeded.
func swaks(t *testing.T, addr string, args ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command("swaks", append([]string{"--server", addr, "--helo", "client.example.org",
		"--from", "reporter@example.org"}, args...)...)
	out, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("swaks: %v", err)
	}
	return string(out), err == nil
}

// TestSwaks drives the listener with swaks, a real SMTP client: plain,
// with STARTTLS, over the size limit, to a refused recipient.
func TestSwaks(t *testing.T) {
	s, _ := spool(t)
	cfg := testConfig()
	cfg.CertFile, cfg.KeyFile = testCertificate(t)
	addr, _ := start(t, cfg, s)

	t.Run("plain", func(t *testing.T) {
		out, ok := swaks(t, addr, "--to", "report@cert.example", "--header", "Subject: plain phishing forward")
		if !ok || !strings.Contains(out, "<-  250 2.0.0") {
			t.Fatalf("swaks plain failed:\n%s", out)
		}
	})
	t.Run("starttls", func(t *testing.T) {
		out, ok := swaks(t, addr, "--tls", "--to", "suspicious@cert.example", "--header", "Subject: over TLS")
		if !ok || !strings.Contains(out, "STARTTLS") || !strings.Contains(out, "TLS started") {
			t.Fatalf("swaks --tls failed:\n%s", out)
		}
	})
	t.Run("too big", func(t *testing.T) {
		body := filepath.Join(t.TempDir(), "body.txt")
		if err := os.WriteFile(body, []byte(strings.Repeat(strings.Repeat("y", 98)+"\r\n", 3000)), 0o600); err != nil {
			t.Fatal(err)
		}
		out, ok := swaks(t, addr, "--to", "report@cert.example", "--body", body)
		if ok || !strings.Contains(out, "552 5.3.4 Message too big: this server takes messages of at most 262144 bytes") {
			t.Fatalf("swaks with 300 KB: want 552 with the limit:\n%s", out)
		}
	})
	t.Run("refused recipient", func(t *testing.T) {
		out, ok := swaks(t, addr, "--to", "ceo@cert.example")
		if ok || !strings.Contains(out, "550 5.1.1") {
			t.Fatalf("swaks to ceo@: want 550:\n%s", out)
		}
	})

	got := pendingMail(t, s)
	if len(got) != 2 {
		t.Fatalf("spool has %d messages, want the plain and the TLS one", len(got))
	}
	plain, tls := got[0], got[1]
	if plain.TLS || !strings.Contains(string(plain.Raw), "Subject: plain phishing forward") || plain.Helo != "client.example.org" ||
		plain.From != "reporter@example.org" || !strings.HasPrefix(plain.Client, "127.0.0.1:") {
		t.Errorf("plain message = %+v\n%s", plain.Envelope, plain.Raw)
	}
	if !tls.TLS || !strings.Contains(string(tls.Raw), "Subject: over TLS") || tls.To[0] != "suspicious@cert.example" {
		t.Errorf("TLS message = %+v\n%s", tls.Envelope, tls.Raw)
	}
}
