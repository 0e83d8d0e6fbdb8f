package newsletter_test

import (
	"bytes"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/vigil-cert/vigil/internal/outbox"
)

// testRelay is a real SMTP server (go-smtp) on 127.0.0.1 that keeps what
// it receives and refuses the recipients the test names.
type testRelay struct {
	Port int

	mu       sync.Mutex
	messages map[string][][]byte // by recipient
	refuse   map[string]*smtp.SMTPError
}

func newTestRelay(t *testing.T) *testRelay {
	t.Helper()
	r := &testRelay{messages: map[string][][]byte{}, refuse: map[string]*smtp.SMTPError{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &relaySession{relay: r}, nil }))
	srv.Domain = "relay.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.Port = ln.Addr().(*net.TCPAddr).Port
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return r
}

// sender is an outbox.Sender on the relay, whose Deliver the Mailer uses.
func (r *testRelay) sender(t *testing.T) *outbox.Sender {
	t.Helper()
	cfg := outbox.DefaultConfig()
	cfg.Host, cfg.Port, cfg.TLS, cfg.Timeout = "127.0.0.1", r.Port, outbox.TLSNone, 5*time.Second
	s, err := outbox.NewSender(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (r *testRelay) received(to string) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.messages[to]
}

func (r *testRelay) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.messages {
		n += len(m)
	}
	return n
}

func (r *testRelay) setRefuse(to string, e *smtp.SMTPError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e == nil {
		delete(r.refuse, to)
	} else {
		r.refuse[to] = e
	}
}

type relaySession struct {
	relay *testRelay
	to    []string
}

func (s *relaySession) AuthPlain(string, string) error       { return nil }
func (s *relaySession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *relaySession) Reset()                               { s.to = nil }
func (s *relaySession) Logout() error                        { return nil }
func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.relay.mu.Lock()
	defer s.relay.mu.Unlock()
	if e := s.relay.refuse[to]; e != nil {
		return e
	}
	s.to = append(s.to, to)
	return nil
}

func (s *relaySession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.relay.mu.Lock()
	defer s.relay.mu.Unlock()
	for _, to := range s.to {
		s.relay.messages[strings.ToLower(to)] = append(s.relay.messages[strings.ToLower(to)], bytes.Clone(b))
	}
	return nil
}
