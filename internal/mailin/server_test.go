package mailin_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/vigil-cert/vigil/internal/mailin"
	"github.com/vigil-cert/vigil/internal/mailin/mailindb"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// testConfig is a listener on a free port of the loopback interface,
// taking mail for report@ and incident@cert.example.
func testConfig() mailin.Config {
	cfg := mailin.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.Hostname = "mx.cert.example"
	cfg.Recipients = []string{"report@", "incident@cert.example", "suspicious@"}
	cfg.MaxMessageBytes = 256 << 10
	cfg.ReadTimeout, cfg.WriteTimeout = 10*time.Second, 10*time.Second
	return cfg
}

// start serves cfg on spool until the test ends and returns its address.
func start(t *testing.T, cfg mailin.Config, spool mailin.Spool) (string, *mailin.Server) {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	srv, err := mailin.NewServer(cfg, spool, nil)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return l.Addr().String(), srv
}

// spool returns a fresh spool on SQLite and its database.
func spool(t *testing.T) (*mailindb.Store, sqlkit.DB) {
	st := dbtest.SQLite(t, mailindb.Schema)
	return mailindb.New(st.DB()), st.DB()
}

func pendingMail(t *testing.T, s *mailindb.Store) []mailin.Mail {
	t.Helper()
	list, err := s.PendingMail(t.Context(), 100000)
	if err != nil {
		t.Fatalf("PendingMail: %v", err)
	}
	return list
}

// message is a small mail of n bytes or so.
func message(subject string, n int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Reporter <reporter@example.org>\r\nTo: report@cert.example\r\nSubject: %s\r\nMessage-ID: <%s@example.org>\r\n\r\n", subject, subject)
	line := strings.Repeat("x", 76) + "\r\n"
	for b.Len() < n {
		b.WriteString(line)
	}
	return b.Bytes()
}

// send sends one message on a new connection with go-smtp's client.
func send(addr, from string, to []string, msg []byte) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail(from, to, bytes.NewReader(msg)); err != nil {
		return err
	}
	return c.Quit()
}

func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// testCertificate writes a self-signed certificate for mx.cert.example
// and its key, and returns their paths.
func testCertificate(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.cert.example"},
		DNSNames: []string{"mx.cert.example"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func hash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestConcurrentSessions: many clients at once, several messages each;
// every message acknowledged is in the spool, as sent, on both databases.
func TestConcurrentSessions(t *testing.T) {
	dbtest.Each(t, []sqlkit.Schema{mailindb.Schema}, func(t *testing.T, st store.Store) {
		concurrentSessions(t, mailindb.New(st.DB()))
	})
}

func concurrentSessions(t *testing.T, s *mailindb.Store) {
	addr, srv := start(t, testConfig(), s)
	const clients, each = 16, 10
	errs := make(chan error, clients)
	sent := make(chan []byte, clients*each)
	for i := range clients {
		go func() {
			c, err := smtp.Dial(addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for j := range each {
				msg := message(fmt.Sprintf("c%d-m%d", i, j), 20<<10)
				if err := c.SendMail("reporter@example.org", []string{"report@cert.example"}, bytes.NewReader(msg)); err != nil {
					errs <- fmt.Errorf("client %d message %d: %w", i, j, err)
					return
				}
				sent <- msg
			}
			errs <- c.Quit()
		}()
	}
	for range clients {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(sent)
	want := map[string]bool{}
	for m := range sent {
		want[hash(m)] = true
	}
	got := pendingMail(t, s)
	if len(got) != clients*each || len(want) != clients*each {
		t.Fatalf("spool has %d messages, %d acknowledged; want %d", len(got), len(want), clients*each)
	}
	for _, m := range got {
		if !want[m.SHA256] || hash(m.Raw) != m.SHA256 {
			t.Errorf("spooled message %d is not one that was sent (or its hash is wrong)", m.ID)
		}
		if m.From != "reporter@example.org" || len(m.To) != 1 || m.To[0] != "report@cert.example" || m.Helo == "" || m.TLS {
			t.Errorf("spooled message %d envelope = %+v", m.ID, m.Envelope)
		}
	}
	st := srv.Stats()
	if st.Messages != clients*each || st.Commits < 1 || st.Commits > st.Messages {
		t.Errorf("stats = %+v", st)
	}
}

// failingSpool writes a group commit's messages in a transaction and then
// fails it, as a full disk would.
type failingSpool struct{ db sqlkit.DB }

var errDiskFull = errors.New("disk full")

func (f failingSpool) PutMail(ctx context.Context, mails []*mailin.Mail) error {
	return f.db.Tx(ctx, func(tx sqlkit.DB) error {
		if err := mailindb.Put(ctx, tx, mails); err != nil {
			return err
		}
		return errDiskFull
	})
}

// TestFailedCommitAnswers451: when the commit fails the client gets 451
// (try again later) and nothing is stored.
func TestFailedCommitAnswers451(t *testing.T) {
	s, db := spool(t)
	addr, srv := start(t, testConfig(), failingSpool{db})
	err := send(addr, "reporter@example.org", []string{"report@cert.example"}, message("lost", 1000))
	if smtpCode(err) != 451 {
		t.Fatalf("send with a failing commit: %v, want 451", err)
	}
	if got := pendingMail(t, s); len(got) != 0 {
		t.Errorf("a failed commit stored %d messages", len(got))
	}
	if st := srv.Stats(); st.Failed != 1 || st.Messages != 0 {
		t.Errorf("stats = %+v", st)
	}
}

// TestRefusals: a recipient not configured is refused with 550 at RCPT,
// a message over the limit with 552 (by SIZE at MAIL and at DATA), and a
// connection over max_sessions with 421.
func TestRefusals(t *testing.T) {
	s, _ := spool(t)
	cfg := testConfig()
	cfg.MaxSessions = 2
	addr, _ := start(t, cfg, s)

	err := send(addr, "a@example.org", []string{"postmaster@cert.example"}, message("x", 100))
	if smtpCode(err) != 550 {
		t.Errorf("unknown recipient: %v, want 550", err)
	}
	err = send(addr, "a@example.org", []string{"incident@other.example"}, message("x", 100))
	if smtpCode(err) != 550 {
		t.Errorf("incident@ of another domain (only incident@cert.example is taken): %v, want 550", err)
	}
	// go-smtp's client says SIZE at MAIL FROM when it knows the size;
	// a raw session does not, so the limit is hit while reading DATA.
	c := dialWhenFree(t, addr)
	if err := c.Mail("a@example.org", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("REPORT@Cert.Example", nil); err != nil {
		t.Fatalf("a local part of any domain, in capitals: %v", err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write(message("big", 300<<10))
	err = w.Close()
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 552 || !strings.Contains(se.Message, "at most 262144 bytes") {
		t.Errorf("message over the limit: %v, want 552 naming the limit", err)
	}
	// The session goes on after the refusal.
	if err := c.SendMail("a@example.org", []string{"suspicious@cert.example"}, bytes.NewReader(message("after", 100))); err != nil {
		t.Errorf("a message after the refused one: %v", err)
	}
	// Two sessions are open (c and this one); a third is turned away.
	c2, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.Hello("two.example.org"); err != nil {
		t.Fatal(err)
	}
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	greeting, _ := bufio.NewReader(raw).ReadString('\n')
	if !strings.HasPrefix(greeting, "421 ") {
		t.Errorf("a third session while two are open was greeted %q, want 421", greeting)
	}
	c.Quit()
	c2.Quit()
	if got := pendingMail(t, s); len(got) != 1 || !strings.Contains(string(got[0].Raw), "Subject: after") {
		t.Errorf("spool has %d messages, want the one after the refusals", len(got))
	}
}

// TestSessionsPerClient: one address holds at most
// max_sessions_per_client sessions; the next is answered 421, and a slot
// given back is taken again.
func TestSessionsPerClient(t *testing.T) {
	s, _ := spool(t)
	cfg := testConfig()
	cfg.MaxSessionsPerClient = 2
	addr, _ := start(t, cfg, s)
	greet := func() (net.Conn, string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(c).ReadString('\n')
		return c, line
	}
	a, ga := greet()
	defer a.Close()
	b, gb := greet()
	if !strings.HasPrefix(ga, "220 ") || !strings.HasPrefix(gb, "220 ") {
		t.Fatalf("the first two sessions were greeted %q and %q", ga, gb)
	}
	c, gc := greet()
	c.Close()
	if !strings.HasPrefix(gc, "421 ") {
		t.Errorf("a third session from the same address was greeted %q, want 421", gc)
	}
	b.Close()
	// The slot comes back once the listener has seen the close.
	waitUntil(t, "a new session after one closed", func() bool {
		d, g := greet()
		d.Close()
		return strings.HasPrefix(g, "220 ")
	})
}

// dialWhenFree opens a session once the server has let go of the ones
// the test closed before (a closed client's session ends on the server
// a moment later, and max_sessions counts it until then).
func dialWhenFree(t *testing.T, addr string) *smtp.Client {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := smtp.Dial(addr)
		if err == nil {
			if err = c.Hello("client.example.org"); err == nil {
				return c
			}
			c.Close()
		}
		if smtpCode(err) != 421 || time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
