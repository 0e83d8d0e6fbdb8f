package demo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// Mailbox is the demo's mail catcher: an SMTP server on 127.0.0.1 that
// accepts every message and keeps it as a .eml file, so that the demo's
// notifications really go through the outbox and SMTP, and a newcomer can
// open what a constituent would receive. It is no relay: nothing leaves
// the machine.
type Mailbox struct {
	dir    string
	server *smtp.Server
	ln     net.Listener
	count  atomic.Int64
	log    *slog.Logger
}

// maxDemoMessage bounds one message; a demo digest is far smaller.
const maxDemoMessage = 32 << 20

// StartMailbox listens on a free port of 127.0.0.1 and writes what it
// receives into dir.
func StartMailbox(dir string, log *slog.Logger) (*Mailbox, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("demo mailbox: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo mailbox: %w", err)
	}
	m := &Mailbox{dir: dir, ln: ln, log: log}
	if files, err := filepath.Glob(filepath.Join(dir, "*.eml")); err == nil {
		m.count.Store(int64(len(files)))
	}
	m.server = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &mailboxSession{box: m}, nil
	}))
	m.server.Domain = "mailbox.demo.invalid"
	m.server.ReadTimeout = time.Minute
	m.server.WriteTimeout = time.Minute
	m.server.MaxMessageBytes = maxDemoMessage
	go func() {
		if err := m.server.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			log.Warn("demo mailbox stopped", "err", err)
		}
	}()
	return m, nil
}

// Addr is the host:port the mailbox listens on.
func (m *Mailbox) Addr() *net.TCPAddr { return m.ln.Addr().(*net.TCPAddr) }

// Dir is where the received messages are.
func (m *Mailbox) Dir() string { return m.dir }

// Close stops the server.
func (m *Mailbox) Close() error { return m.server.Close() }

type mailboxSession struct {
	box  *Mailbox
	from string
	to   []string
}

func (s *mailboxSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *mailboxSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *mailboxSession) Data(r io.Reader) error {
	var b bytes.Buffer
	// The envelope goes first, as a mail client's "Delivered-To" would,
	// so that the file says who it was for.
	for _, to := range s.to {
		fmt.Fprintf(&b, "X-Demo-Envelope-To: %s\r\n", to)
	}
	if _, err := io.Copy(&b, r); err != nil {
		return err
	}
	n := s.box.count.Add(1)
	name := filepath.Join(s.box.dir, fmt.Sprintf("%05d.eml", n))
	if err := os.WriteFile(name, b.Bytes(), 0o640); err != nil {
		s.box.log.Warn("demo mailbox: keeping a message", "err", err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "cannot keep the message now"}
	}
	return nil
}

func (s *mailboxSession) Reset()        { s.from, s.to = "", nil }
func (s *mailboxSession) Logout() error { return nil }
