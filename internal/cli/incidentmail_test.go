package cli

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/outbox/outboxdb"
	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// TestIncidentMailCommand: `vigil incident mail` refuses without the
// team's key, then, with it, writes the acknowledgement to the reporter
// of the incident in the outbox; an injected subject is refused.
func TestIncidentMailCommand(t *testing.T) {
	data := t.TempDir()
	cfg := filepath.Join(data, "vigil.yml")
	if err := os.WriteFile(cfg, []byte("notify:\n  from: \"Test CERT <cert@cert.example>\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vigil := func(t *testing.T, want int, args ...string) string {
		t.Helper()
		code, out, errOut := run(t, "", append(args, "--data", data, "--config", cfg)...)
		if code != want {
			t.Fatalf("vigil %s: exit %d, want %d:\n%s%s", strings.Join(args, " "), code, want, out, errOut)
		}
		return out + errOut
	}
	vigil(t, 0, "incident", "report", "--kind", "phishing", "--text", "a mail linking to https://bank-login.com/x", "--email", "jo@mail.example")
	out := vigil(t, 0, "incident", "report", "--kind", "phishing", "--text", "also https://bank-login.com/x")
	m := regexp.MustCompile(`grouped onto incident (\d{4}-\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("not grouped: %q", out)
	}
	tag := m[1]
	if out := vigil(t, 1, "incident", "mail", tag, "--to", "jo@mail.example", "--template", "ack"); !strings.Contains(out, "no OpenPGP identity") {
		t.Errorf("without the team's key: %q", out)
	}
	vigil(t, 2, "incident", "mail", tag)

	ctx := context.Background()
	raw, err := sqlitestore.Open(ctx, filepath.Join(data, "vigil.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	team, err := pgpmime.GenerateIdentity("Test CERT", "cert@cert.example", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.PutState(ctx, notify.IdentityStateKey, []byte(team)); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	if out := vigil(t, 1, "incident", "mail", tag, "--to", "jo@mail.example", "--subject", "Hi\r\nBcc: x@example.net", "some", "text"); !strings.Contains(out, "one line") {
		t.Errorf("an injected subject: %q", out)
	}
	if out := vigil(t, 0, "incident", "mail", tag, "--to", "jo@mail.example", "--template", "ack"); !strings.Contains(out, "1 mails queued (0 encrypted)") {
		t.Errorf("sent: %q", out)
	}
	raw, err = sqlitestore.Open(ctx, filepath.Join(data, "vigil.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	msgs, err := outboxdb.New(raw.DB(), raw).ListMessages(ctx, outbox.MessageQuery{})
	if err != nil || len(msgs) != 1 || msgs[0].Recipients[0] != "jo@mail.example" || !strings.HasPrefix(msgs[0].Subject, "[VIGIL#"+tag+"] We received your report R-") {
		t.Errorf("queued %+v, %v", msgs, err)
	}
}
