package mailin_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/vigil-cert/vigil/internal/mailin"
)

// imapServer runs go-imap's in-memory server on the loopback interface
// with the mailbox reports/secret and returns its address.
func imapServer(t *testing.T) string {
	t.Helper()
	mem := imapmemserver.New()
	user := imapmemserver.NewUser("reports", "secret")
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		InsecureAuth: true,
		Logger:       log.New(testWriter{t}, "", 0),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// imapDial logs in to the test server as a mail program would.
func imapDial(t *testing.T, addr string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login("reports", "secret").Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

func imapAppend(t *testing.T, c *imapclient.Client, msg []byte) {
	t.Helper()
	cmd := c.Append("INBOX", int64(len(msg)), nil)
	if _, err := cmd.Write(msg); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

// inbox returns the messages left in INBOX, with their flags.
func inbox(t *testing.T, c *imapclient.Client) map[imap.UID][]imap.Flag {
	t.Helper()
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	out := map[imap.UID][]imap.Flag{}
	for _, m := range msgs {
		out[m.UID] = m.Flags
	}
	return out
}

func imapTestConfig(addr string) mailin.Config {
	cfg := mailin.DefaultConfig()
	cfg.MaxMessageBytes = 64 << 10
	cfg.IMAP.Address, cfg.IMAP.TLS, cfg.IMAP.Username, cfg.IMAP.Password = addr, "none", "reports", "secret"
	// Only IDLE can wake the poller within the test.
	cfg.IMAP.Interval = time.Hour
	return cfg
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("%s: not within 30 s", what)
}

// TestIMAPPoller: a real IMAP server (go-imap's in-memory one); the
// poller moves its unread messages into the spool and deletes them there,
// leaves a message over the size limit marked read, and, waiting in
// IDLE, spools a message appended later at once.
func TestIMAPPoller(t *testing.T) {
	addr := imapServer(t)
	c := imapDial(t, addr)
	imapAppend(t, c, message("first", 2000))
	imapAppend(t, c, message("second", 3000))
	imapAppend(t, c, message("too-big", 100<<10))
	s, _ := spool(t)
	cfg := imapTestConfig(addr)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mailin.NewPoller(cfg, s, nil).Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	subjects := func() []string {
		var out []string
		for _, m := range pendingMail(t, s) {
			p, _ := mailin.Parse(m.Raw, mailin.DefaultLimits())
			out = append(out, p.Subject)
			if !strings.HasPrefix(m.Client, "imap://"+addr) || m.To[0] != "reports" || m.TLS {
				t.Errorf("envelope of an IMAP message = %+v", m.Envelope)
			}
		}
		return out
	}
	waitUntil(t, "two messages spooled", func() bool { return len(subjects()) == 2 })
	if got := subjects(); !slices.Equal(got, []string{"first", "second"}) {
		t.Errorf("spooled %v", got)
	}
	waitUntil(t, "the spooled messages deleted from the mailbox", func() bool { return len(inbox(t, c)) == 1 })
	for _, flags := range inbox(t, c) {
		if !slices.Contains(flags, imap.FlagSeen) || slices.Contains(flags, imap.FlagDeleted) {
			t.Errorf("the message over the limit has flags %v, want read and kept", flags)
		}
	}
	imapAppend(t, c, message("later", 1000))
	waitUntil(t, "the message appended while idle spooled", func() bool { return len(subjects()) == 3 })
}

// TestIMAPFailedSpool: when the spool cannot take a batch the messages
// stay unread in the mailbox, to be read again.
func TestIMAPFailedSpool(t *testing.T) {
	addr := imapServer(t)
	c := imapDial(t, addr)
	for i := range 3 {
		imapAppend(t, c, message(fmt.Sprintf("m%d", i), 1000))
	}
	s, db := spool(t)
	p := mailin.NewPoller(imapTestConfig(addr), failingSpool{db}, nil)
	pc := imapDial(t, addr)
	if _, err := pc.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if n, err := p.Poll(t.Context(), pc); err == nil || n != 0 {
		t.Fatalf("Poll with a failing spool = %d, %v; want an error", n, err)
	}
	if got := len(pendingMail(t, s)); got != 0 {
		t.Errorf("a failed spool kept %d messages", got)
	}
	box := inbox(t, c)
	if len(box) != 3 {
		t.Fatalf("mailbox has %d messages after a failed spool, want 3", len(box))
	}
	for uid, flags := range box {
		if len(flags) != 0 {
			t.Errorf("message %d has flags %v after a failed spool, want none", uid, flags)
		}
	}
}
