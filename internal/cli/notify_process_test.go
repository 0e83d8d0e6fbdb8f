package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/demo"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/outbox/outboxdb"
	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// TestCrashDuringNotification kills `vigil serve` with SIGKILL while its
// outbox sends the digests of many organisations to a real SMTP server on
// 127.0.0.1, starts it again, and checks that the new serve took the
// notifier's and the sender's leases over from the killed one at once
// (not after lease.DefaultTTL), and that every organisation was told
// exactly once: one message queued for each, all of them sent, and each
// received by the server. The only copy the server may see twice is the
// one in flight at the kill, whose answer the killed process never read
// (the documented at-least-once window of internal/outbox).
func TestCrashDuringNotification(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Fatalf("this test needs Linux signals")
	}
	bin := buildVigil(t)
	data := t.TempDir()
	const orgs = 300
	prepareNotificationData(t, data, orgs)

	relay, err := demo.StartMailbox(filepath.Join(t.TempDir(), "relay"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	cfg := filepath.Join(data, "vigil.yml")
	yml := fmt.Sprintf("notify:\n  enabled: true\n  from: \"Test CERT <cert@cert.example>\"\n  interval: 1s\n"+
		"smtp:\n  host: 127.0.0.1\n  port: %d\n  tls: none\n", relay.Addr().Port)
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	received := func() []string {
		files, _ := filepath.Glob(filepath.Join(relay.Dir(), "*.eml"))
		return files
	}

	serve := func() *os.Process {
		cmd := startServeWith(t, bin, data, "--config", cfg)
		return cmd.Process
	}
	p := serve()
	waitFor(t, 2*time.Minute, func() bool { return len(received()) >= orgs/4 })
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.Wait()
	atKill := len(received())
	t.Logf("killed with %d of %d messages received", atKill, orgs)
	if atKill >= orgs {
		t.Fatalf("every message was sent before the kill; the test proves nothing")
	}
	killed := p.Pid
	outlastTheRestart(t, data, "notify", "outbox")

	// Started again on the same machine, serve takes the notifier's and
	// the sender's leases over from the killed one at once.
	p = serve()
	waitFor(t, 3*time.Minute, func() bool { return len(received()) >= orgs && allSent(t, data) })
	p.Signal(syscall.SIGTERM)
	p.Wait()
	tookOverFromTheKilled(t, data, killed, "notify", "outbox")

	st, err := sqlitestore.Open(context.Background(), filepath.Join(data, "vigil.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	msgs, err := outboxdb.New(st.DB(), st).ListMessages(context.Background(), outbox.MessageQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	perOrg := map[string]int{}
	for _, m := range msgs {
		perOrg[m.Org]++
		if m.Status != outbox.MessageSent {
			t.Errorf("message %d for %s: %s (%s)", m.ID, m.Org, m.Status, m.LastError)
		}
	}
	if len(perOrg) != orgs {
		t.Fatalf("%d organisations have messages, want %d", len(perOrg), orgs)
	}
	for org, n := range perOrg {
		if n != 1 {
			t.Errorf("%s was notified %d times", org, n)
		}
	}
	ids := map[string]int{}
	messageID := regexp.MustCompile(`(?mi)^Message-Id: <([^>]+)>`)
	for _, f := range received() {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := messageID.FindSubmatch(b)
		if m == nil {
			t.Fatalf("%s has no Message-ID", f)
		}
		ids[string(m[1])]++
	}
	twice := 0
	for _, m := range msgs {
		switch n := ids[m.MessageID]; {
		case n == 0:
			t.Errorf("message for %s never reached the server", m.Org)
		case n > 1:
			twice += n - 1
		}
	}
	if twice > 1 {
		t.Errorf("%d copies received twice; at most the one in flight at the kill may be", twice)
	}
}

// prepareNotificationData stores orgs organisations, each with a notified
// contact and three tagged events waiting for the notifier, and the team's
// OpenPGP key.
func prepareNotificationData(t *testing.T, data string, orgs int) {
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
	var list []constituency.Organisation
	var events []*event.Event
	now := time.Now().UTC().Add(-time.Hour)
	for i := range orgs {
		handle := "org-" + strconv.Itoa(i)
		prefix := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i / 256), byte(i % 256), 0}), 24)
		list = append(list, constituency.Organisation{Handle: handle, Name: "Organisation " + strconv.Itoa(i), Language: "en",
			Networks: []netip.Prefix{prefix},
			Contacts: []constituency.Contact{{Email: "abuse@" + handle + ".example", Role: constituency.ContactAbuse, Notify: true}}})
		for j := range 3 {
			e := event.New(8)
			e.SetTime("time.source", now.Add(time.Duration(j)*time.Minute))
			e.SetTrusted("classification.taxonomy", "vulnerable")
			e.SetTrusted("classification.type", "vulnerable-system")
			e.SetTrusted("source.ip", prefix.Addr().Next().String())
			e.SetTrusted("source.port", strconv.Itoa(3389+j))
			e.SetTrusted("feed.name", "scan-rdp")
			e.SetTrusted(store.ConstituencyField, `["`+handle+`"]`)
			events = append(events, e)
		}
	}
	if _, err := st.ImportOrganisations(ctx, list, false); err != nil {
		t.Fatal(err)
	}
	if _, err := st.InsertEvents(ctx, events, nil); err != nil {
		t.Fatal(err)
	}
	team, err := pgpmime.GenerateIdentity("Test CERT", "cert@cert.example", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutState(ctx, notify.IdentityStateKey, []byte(team)); err != nil {
		t.Fatal(err)
	}
}

// allSent reports whether the outbox holds messages and none waits.
func allSent(t *testing.T, data string) bool {
	st, err := sqlitestore.Open(context.Background(), filepath.Join(data, "vigil.db"), sqlitestore.Options{})
	if err != nil {
		return false
	}
	defer st.Close()
	queued, err := outboxdb.New(st.DB(), st).ListMessages(context.Background(), outbox.MessageQuery{Status: outbox.MessageQueued, Limit: 1})
	if err != nil || len(queued) > 0 {
		return false
	}
	pending, err := st.PendingNotificationOrgs(context.Background())
	return err == nil && len(pending) == 0
}
