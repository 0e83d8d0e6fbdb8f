package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/demo"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/newsletter"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// TestCrashDuringNewsletter kills `vigil serve` with SIGKILL while its
// newsletter mailer sends an issue to many subscribers through a real
// SMTP server on 127.0.0.1, starts it again, and checks the newsletter's
// promise: no subscriber receives the issue twice, every send ends sent
// or unknown, and only the one in flight at the kill may be unknown; every
// subscriber whose send is sent received exactly one mail.
func TestCrashDuringNewsletter(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Fatalf("this test needs Linux signals")
	}
	bin := buildVigil(t)
	data := t.TempDir()
	const subscribers = 600
	issueID := prepareNewsletterData(t, data, subscribers)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(data, "serve.log"))
			t.Logf("serve.log:\n%s", b[max(0, len(b)-4000):])
		}
	})

	relay, err := demo.StartMailbox(filepath.Join(t.TempDir(), "relay"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	cfg := filepath.Join(data, "vigil.yml")
	yml := fmt.Sprintf("newsletter:\n  enabled: true\n  from: \"Test CERT <news@cert.example>\"\n  public_url: https://cert.example\n  poll: 1s\n"+
		"smtp:\n  host: 127.0.0.1\n  port: %d\n  tls: none\n", relay.Addr().Port)
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	received := func() []string {
		files, _ := filepath.Glob(filepath.Join(relay.Dir(), "*.eml"))
		return files
	}

	p := startServeWith(t, bin, data, "--config", cfg).Process
	waitFor(t, 2*time.Minute, func() bool { return len(received()) >= subscribers/4 })
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.Wait()
	atKill := len(received())
	t.Logf("killed with %d of %d mails received", atKill, subscribers)
	if atKill >= subscribers {
		t.Fatalf("every mail was sent before the kill; the test proves nothing")
	}
	killed := p.Pid
	outlastTheRestart(t, data, "newsletter")

	p = startServeWith(t, bin, data, "--config", cfg).Process
	var counts map[string]int
	waitFor(t, 3*time.Minute, func() bool {
		counts = sendCounts(t, data, issueID)
		return counts != nil && counts[newsletter.SendQueued] == 0 && counts[newsletter.SendSending] == 0
	})
	p.Signal(syscall.SIGTERM)
	p.Wait()
	t.Logf("sends: %v", counts)
	tookOverFromTheKilled(t, data, killed, "newsletter")

	perAddress := map[string]int{}
	envelope := regexp.MustCompile(`(?m)^X-Demo-Envelope-To: (\S+)\r?$`)
	for _, f := range received() {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range envelope.FindAllSubmatch(b, -1) {
			perAddress[string(m[1])]++
		}
	}
	for addr, n := range perAddress {
		if n > 1 {
			t.Errorf("%s received the issue %d times", addr, n)
		}
	}
	if counts[newsletter.SendSent]+counts[newsletter.SendUnknown] != subscribers {
		t.Errorf("sends %v; want %d sent or unknown", counts, subscribers)
	}
	if counts[newsletter.SendUnknown] > 1 {
		t.Errorf("%d sends unknown; only the one in flight at the kill may be", counts[newsletter.SendUnknown])
	}
	if len(perAddress) < counts[newsletter.SendSent] || len(perAddress) > subscribers {
		t.Errorf("%d addresses received the issue; %d sends are sent", len(perAddress), counts[newsletter.SendSent])
	}
}

// prepareNewsletterData stores n confirmed subscribers and queues a
// published digest for them, returning the issue's id.
func prepareNewsletterData(t *testing.T, data string, n int) int64 {
	t.Helper()
	ctx := context.Background()
	raw, err := sqlitestore.Open(ctx, filepath.Join(data, "vigil.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	st, err := database.New(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMicro()
	if _, err := raw.DB().Exec(ctx, `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		INSERT INTO newsletter_subscribers (address, lang, warnings, status, created, changed)
		SELECT 'reader' || i || '@example.org', 'en', 0, 'confirmed', ?, ? FROM seq`, n, now, now); err != nil {
		t.Fatal(err)
	}
	// The digest is in the publications' store, published: the mailer
	// asks it before each mail whether it still is.
	at := time.Now().UTC()
	p := publication.Publication{Kind: publication.KindDigest, Status: publication.StatusDraft, Created: at, Updated: at,
		Content: publication.Content{Severity: "low", TLP: publication.TLPClear, Texts: []publication.Text{{Lang: "en", Title: "Weekly digest", Body: "Three advisories."}}}}
	ident := func(year, n int) string { return publication.FormatIdent("", year, n) }
	if err := st.Publications.CreatePublication(ctx, &p, ident, publication.Change{At: at, Action: publication.ActionCreate}); err != nil {
		t.Fatal(err)
	}
	p, err = st.Publications.ChangePublication(ctx, p.ID, func(p *publication.Publication) (publication.Change, *publication.Revision, []publication.Delivery, error) {
		p.Status, p.Revision, p.Published = publication.StatusPublished, 1, at
		return publication.Change{At: at, Action: publication.ActionPublish}, &publication.Revision{Number: 1, Published: at, Content: p.Content}, nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	reply, err := (&newsletter.Channel{Store: st.Newsletter}).Send(ctx, p, publication.Delivery{Channel: newsletter.ChannelName, Revision: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(reply)
	progress, err := st.Newsletter.ListProgress(ctx, 1)
	if err != nil || len(progress) != 1 || progress[0].Queued != n {
		t.Fatalf("queued %+v, %v", progress, err)
	}
	return progress[0].ID
}

// sendCounts returns the issue's sends by state, nil when the database
// cannot be read now.
func sendCounts(t *testing.T, data string, issueID int64) map[string]int {
	raw, err := sqlitestore.Open(context.Background(), filepath.Join(data, "vigil.db"), sqlitestore.Options{})
	if err != nil {
		return nil
	}
	defer raw.Close()
	progress, err := database.On(raw).Newsletter.ListProgress(context.Background(), 10)
	if err != nil {
		return nil
	}
	for _, p := range progress {
		if p.ID == issueID {
			return p.Counts
		}
	}
	return nil
}
