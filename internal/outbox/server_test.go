package outbox_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/vigil-cert/vigil/internal/outbox"
)

// The test relay's login.
const (
	relayUser     = "vigil"
	relayPassword = "relay secret"
)

// received is one message as the test relay got it.
type received struct {
	From string
	To   []string
	Data []byte
	// TLS and User say how the session that sent it was protected and
	// who logged in.
	TLS  bool
	User string
}

// testRelay is a real SMTP server (go-smtp) on 127.0.0.1: STARTTLS with a
// self-signed certificate made for the test, AUTH PLAIN required before
// MAIL, and answers the test can script.
type testRelay struct {
	Addr   string
	CAFile string // the certificate, for Config.CAFile

	mu       sync.Mutex
	messages []received
	// dataReplies answers the next DATA commands in turn; nil accepts.
	dataReplies []error
	// rcptReplies refuses recipients.
	rcptReplies map[string]error
	dataCount   int
	// rcptHook, when set, runs at each RCPT before it is answered.
	rcptHook func()
}

type relayOptions struct {
	implicitTLS bool // TLS from the first byte instead of STARTTLS
	noTLS       bool // no STARTTLS offered
}

func newTestRelay(t *testing.T, opts relayOptions) *testRelay {
	t.Helper()
	cert, caFile := selfSignedCert(t)
	r := &testRelay{CAFile: caFile, rcptReplies: map[string]error{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &relaySession{relay: r, conn: c}, nil
	}))
	srv.Domain = "relay.test"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 32 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0)
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if !opts.noTLS {
		srv.TLSConfig = tlsConfig
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if opts.implicitTLS {
		l = tls.NewListener(l, tlsConfig)
	}
	r.Addr = l.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(l)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return r
}

// config returns a Sender configuration for this relay.
func (r *testRelay) config(t *testing.T) outbox.Config {
	t.Helper()
	host, port, err := net.SplitHostPort(r.Addr)
	if err != nil {
		t.Fatal(err)
	}
	cfg := outbox.DefaultConfig()
	cfg.Host = host
	cfg.Port = mustAtoi(t, port)
	cfg.CAFile = r.CAFile
	cfg.Username = relayUser
	cfg.Password = relayPassword
	cfg.HeloName = "vigil.test"
	cfg.From = "bounces@cert.example.org"
	cfg.Timeout = 5 * time.Second
	return cfg
}

func (r *testRelay) received() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.messages...)
}

func (r *testRelay) script(dataReplies ...error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dataReplies = append(r.dataReplies, dataReplies...)
}

func (r *testRelay) refuse(recipient string, reply error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rcptReplies[recipient] = reply
}

// dataCommands counts the DATA transactions the relay answered.
func (r *testRelay) dataCommands() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dataCount
}

type relaySession struct {
	relay *testRelay
	conn  *smtp.Conn
	user  string
	from  string
	to    []string
}

func (s *relaySession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *relaySession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != relayUser || password != relayPassword {
			return smtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}

func (s *relaySession) Mail(from string, opts *smtp.MailOptions) error {
	if s.user == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.from = from
	return nil
}

func (s *relaySession) Rcpt(to string, opts *smtp.RcptOptions) error {
	s.relay.mu.Lock()
	reply, hook := s.relay.rcptReplies[to], s.relay.rcptHook
	s.relay.mu.Unlock()
	if hook != nil {
		hook()
	}
	if reply != nil {
		return reply
	}
	s.to = append(s.to, to)
	return nil
}

func (s *relaySession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.relay.mu.Lock()
	defer s.relay.mu.Unlock()
	s.relay.dataCount++
	if len(s.relay.dataReplies) > 0 {
		reply := s.relay.dataReplies[0]
		s.relay.dataReplies = s.relay.dataReplies[1:]
		if reply != nil {
			return reply
		}
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.relay.messages = append(s.relay.messages, received{
		From: s.from, To: append([]string(nil), s.to...), Data: data, TLS: isTLS, User: s.user,
	})
	return nil
}

func (s *relaySession) Reset() { s.from, s.to = "", nil }

func (s *relaySession) Logout() error { return nil }

// selfSignedCert makes a certificate for 127.0.0.1 and localhost and
// writes it to a PEM file.
func selfSignedCert(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "relay.test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "relay.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, path
}

// silentListener accepts connections and never says anything: a relay
// that hangs.
func silentListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return l.Addr().String()
}

// closedPort returns an address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
