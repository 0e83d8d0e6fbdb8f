package mailin

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// Server is the SMTP listener: it accepts mail for the configured
// recipients and answers 250 to a message only once the spool has it
// durably. Sessions hand their messages to one committer, which writes
// every message waiting in one transaction (a group commit) and then
// releases each session with the outcome: 250, or 451 when the commit
// failed, so that the client tries again later.
type Server struct {
	cfg        Config
	spool      Spool
	log        *slog.Logger
	now        func() time.Time
	recipients recipients
	smtp       *smtp.Server
	queue      chan *commitRequest

	mu       sync.Mutex
	closing  bool
	sessions sync.WaitGroup

	stats struct {
		messages, commits, failed, tooBig, refused atomic.Int64
	}
}

// Stats are a server's counters since it started.
type Stats struct {
	// Messages were acknowledged with 250, in Commits group commits.
	Messages, Commits int64
	// Failed messages were answered 451 (their commit failed or the
	// queue stayed full); TooBig were refused with 552; Refused
	// recipients with 550.
	Failed, TooBig, Refused int64
}

// NewServer returns a listener for cfg (validated) writing to spool.
func NewServer(cfg Config, spool Spool, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, spool: spool, log: log, now: time.Now, recipients: newRecipients(cfg.Recipients),
		queue: make(chan *commitRequest, cfg.Queue)}
	srv := smtp.NewServer(backend{s})
	srv.Domain = cfg.hostname()
	srv.MaxMessageBytes = cfg.MaxMessageBytes
	srv.MaxRecipients = cfg.MaxRecipients
	srv.ReadTimeout = cfg.ReadTimeout
	srv.WriteTimeout = cfg.WriteTimeout
	srv.ErrorLog = slogPrinter{log}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mailin: certificate: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	s.smtp = srv
	return s, nil
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	return Stats{Messages: s.stats.messages.Load(), Commits: s.stats.commits.Load(), Failed: s.stats.failed.Load(),
		TooBig: s.stats.tooBig.Load(), Refused: s.stats.refused.Load()}
}

// ListenAndServe listens on the configured address and serves until ctx
// ends (see Serve).
func (s *Server) ListenAndServe(ctx context.Context) error {
	l, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("mailin: %w", err)
	}
	return s.Serve(ctx, l)
}

// Serve accepts sessions on l until ctx ends. Then it stops accepting,
// lets the sessions finish for a few seconds, closes the rest, and
// returns once every message handed to the committer has its answer.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	s.log.Info("mail listener started", "address", l.Addr().String(), "hostname", s.smtp.Domain,
		"starttls", s.smtp.TLSConfig != nil)
	committed := make(chan struct{})
	go func() {
		defer close(committed)
		s.committer()
	}()
	served := make(chan error, 1)
	go func() {
		served <- s.smtp.Serve(newSessionLimit(l, s.cfg.MaxSessions, s.cfg.MaxSessionsPerClient, s.smtp.Domain))
	}()
	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
	}
	grace, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	s.smtp.Shutdown(grace)
	cancel()
	s.smtp.Close()
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.sessions.Wait()
	close(s.queue)
	<-committed
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("mailin: %w", err)
	}
	return nil
}

// commitRequest is a message waiting for its group commit, and where the
// session waits for the outcome.
type commitRequest struct {
	mail *Mail
	done chan error
}

// committer writes the messages waiting, all of them (up to MaxBatch),
// in one transaction, and answers each; it returns when the queue is
// closed. While it writes, the next messages gather in the queue: the
// busier the listener, the larger the commits.
func (s *Server) committer() {
	batch := make([]*commitRequest, 0, s.cfg.MaxBatch)
	mails := make([]*Mail, 0, s.cfg.MaxBatch)
	for first := range s.queue {
		batch, mails = append(batch[:0], first), append(mails[:0], first.mail)
	gather:
		for len(batch) < s.cfg.MaxBatch {
			select {
			case r, ok := <-s.queue:
				if !ok {
					break gather
				}
				batch, mails = append(batch, r), append(mails, r.mail)
			default:
				break gather
			}
		}
		// The commit is not canceled with the server: the sessions wait
		// for its outcome.
		err := s.spool.PutMail(context.Background(), mails)
		if err != nil {
			s.log.Error("mail spool: group commit failed; the clients are told to try again", "messages", len(mails), "err", err)
		} else {
			s.stats.commits.Add(1)
		}
		for _, r := range batch {
			r.done <- err
		}
		clear(mails)
		clear(batch)
	}
}

// The answers a session gets when its message is not taken.
var (
	errNotStored = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
		Message: "Message not stored: a local problem, please try again later"}
	errBusy = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 2},
		Message: "Too busy to store the message now, please try again later"}
	errShuttingDown = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2},
		Message: "Shutting down, please try again later"}
	errRecipient = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
		Message: "No such recipient here: this server takes reports for its team's addresses only"}
)

// commit hands m to the committer and waits for its outcome.
func (s *Server) commit(m *Mail) error {
	r := &commitRequest{mail: m, done: make(chan error, 1)}
	timer := time.NewTimer(s.cfg.ReadTimeout)
	defer timer.Stop()
	select {
	case s.queue <- r:
	case <-timer.C:
		s.stats.failed.Add(1)
		s.log.Warn("mail spool: the commit queue stayed full; the client is told to try again", "client", m.Client)
		return errBusy
	}
	if err := <-r.done; err != nil {
		s.stats.failed.Add(1)
		return errNotStored
	}
	s.stats.messages.Add(1)
	s.log.Debug("mail received", "id", m.ID, "from", m.From, "to", m.To, "client", m.Client, "size", m.Size)
	return nil
}

// backend makes a session for each client that says EHLO.
type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	s := b.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil, errShuttingDown
	}
	s.sessions.Add(1)
	_, tlsOn := c.TLSConnectionState()
	return &session{s: s, env: Envelope{Client: c.Conn().RemoteAddr().String(), Helo: c.Hostname(), TLS: tlsOn}, conn: c}, nil
}

// session is one client's conversation.
type session struct {
	s    *Server
	conn *smtp.Conn
	env  Envelope
	buf  bytes.Buffer
	done bool
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.env.From, ss.env.To = from, nil
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !ss.s.recipients.accepts(to) {
		ss.s.stats.refused.Add(1)
		return errRecipient
	}
	ss.env.To = append(ss.env.To, to)
	return nil
}

// Data reads the message, at most MaxMessageBytes of it, and returns
// only once the spool has it.
func (ss *session) Data(r io.Reader) error {
	ss.buf.Reset()
	if _, err := ss.buf.ReadFrom(r); err != nil {
		if errors.Is(err, smtp.ErrDataTooLarge) {
			ss.s.stats.tooBig.Add(1)
			return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4},
				Message: fmt.Sprintf("Message too big: this server takes messages of at most %d bytes", ss.s.cfg.MaxMessageBytes)}
		}
		return err
	}
	env := ss.env
	_, env.TLS = ss.conn.TLSConnectionState()
	env.Helo = ss.conn.Hostname()
	env.To = append([]string(nil), ss.env.To...)
	// The message gets bytes of its own: the buffer is the session's,
	// reused for its next message.
	raw := bytes.Clone(ss.buf.Bytes())
	if ss.buf.Cap() > 1<<20 {
		ss.buf = bytes.Buffer{}
	}
	return ss.s.commit(NewMail(env, raw, ss.s.now()))
}

func (ss *session) Reset() { ss.env.From, ss.env.To = "", nil }

func (ss *session) Logout() error {
	if !ss.done {
		ss.done = true
		ss.s.sessions.Done()
	}
	return nil
}

// slogPrinter is go-smtp's error log on the server's logger.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, v ...any) {
	p.log.Warn("smtp: " + fmt.Sprintf(format, v...))
}
func (p slogPrinter) Println(v ...any) { p.log.Warn("smtp: " + fmt.Sprint(v...)) }
