// Package outbox delivers the queued notifications of the outbox
// through the team's SMTP relay, retrying temporary failures with backoff,
// so that no message is lost and none is sent twice.
//
// # Delivery guarantees
//
// The notifier commits a message to the store before the outbox sees it,
// so a crash before delivery loses nothing: the message is still queued
// and is sent on the next pass. A message is marked sent only after the
// relay answered 250 to the end of its DATA, so a crash during delivery
// sends it again, whole, on the next pass, and the relay discards the
// transaction that was cut off.
//
// Two windows remain in which a message can reach the relay twice:
//
//  1. between the relay's 250 and the commit of MarkMessageSent: a crash
//     of Vigil, or a store that cannot be written, there. A failed write is
//     retried from memory before anything else is sent, so only a crash
//     (or a restart before the store comes back) re-sends;
//  2. when the connection breaks after the end of DATA was sent but before
//     the 250 arrived (RFC 1047): the relay may have accepted the message.
//     The outbox then waits at least 10 minutes for the answer, as RFC
//     5321 asks, and never cancels that wait on shutdown, to keep this
//     window small.
//
// In both cases the second copy carries the same bytes, and so the same
// Message-ID, as the first: the body is stored signed and encrypted as it
// is sent (Message.Body). Recipients, and the relay's
// duplicate suppression where it has one, recognise it by that ID.
//
// Only one Sender may run per database: the store does not lock messages
// while they are delivered, so two senders would deliver each one twice.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-cert/vigil/internal/lease"
	"github.com/vigil-cert/vigil/internal/store"
)

// Queue is what the Sender needs of the outbox's messages; outboxdb's
// store satisfies it.
type Queue interface {
	// DueMessages returns queued messages whose NextAttempt is not after
	// now, oldest first, bodies included; limit as MessageQuery.Limit.
	DueMessages(ctx context.Context, now time.Time, limit int) ([]Message, error)
	// MarkMessageSent records the delivery and counts it as one more
	// attempt. A sent message never changes again: MarkMessageSent,
	// RetryMessage and FailMessage of it return an error wrapping
	// store.ErrConflict, so it cannot be sent twice. All three return
	// store.ErrNotFound for an unknown id.
	MarkMessageSent(ctx context.Context, id int64, when time.Time, reply string) error
	// RetryMessage records a temporary failure and when to try again; it
	// also puts a failed message back in the queue.
	RetryMessage(ctx context.Context, id int64, attempts int, next time.Time, lastError string) error
	// FailMessage records a permanent failure; the message is not retried.
	FailMessage(ctx context.Context, id int64, attempts int, lastError string) error
}

const (
	// defaultPollInterval is how often Run looks for due messages without
	// a Kick.
	defaultPollInterval = 5 * time.Second
	// batchSize is how many due messages one query returns.
	batchSize = 50
	// submissionTimeout is the shortest wait for the answer to the end of
	// DATA (RFC 5321 4.5.3.2.6 asks for 10 minutes).
	submissionTimeout = 10 * time.Minute
)

// Sender delivers due messages. Create it with NewSender; it is safe for
// concurrent use, and delivers one message at a time.
type Sender struct {
	cfg     Config
	addr    string
	queue   Queue
	log     *slog.Logger
	now     func() time.Time
	poll    time.Duration
	metrics *metrics

	kick     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	mu       sync.Mutex
	running  bool          // Run is under way
	done     chan struct{} // closed when the current or last Run returned

	// pass serialises passes and single deliveries, so that the same
	// message is never delivered by two of them at once.
	pass sync.Mutex
	// unrecorded holds messages the relay accepted whose MarkMessageSent
	// failed, to be recorded before anything else is sent.
	unrecorded map[int64]sentRecord
	// pausedUntil stops passes after a failure of the relay itself (it
	// cannot be reached, refuses TLS or the login), until the failed
	// message is due again.
	pausedUntil time.Time
}

type sentRecord struct {
	when  time.Time
	reply string
}

// Option configures a Sender.
type Option func(*Sender)

// WithRegisterer registers the Sender's metrics (messages sent, failed
// and retried) with reg.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(s *Sender) { s.metrics.register(reg) }
}

// WithPollInterval sets how often Run looks for due messages when not
// kicked (default 5s).
func WithPollInterval(d time.Duration) Option {
	return func(s *Sender) {
		if d > 0 {
			s.poll = d
		}
	}
}

// WithClock replaces time.Now, for tests that step over backoff delays.
func WithClock(now func() time.Time) Option {
	return func(s *Sender) { s.now = now }
}

// NewSender returns a Sender for cfg, which must be valid, taking messages
// from queue.
func NewSender(cfg Config, queue Queue, logger *slog.Logger, opts ...Option) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Sender{
		cfg:        cfg,
		addr:       cfg.Addr(),
		queue:      queue,
		log:        logger.With("component", "outbox"),
		now:        time.Now,
		poll:       defaultPollInterval,
		metrics:    newMetrics(),
		kick:       make(chan struct{}, 1),
		stop:       make(chan struct{}),
		unrecorded: map[int64]sentRecord{},
	}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Run delivers due messages every poll interval and whenever kicked,
// until ctx ends or Stop is called. It returns nil then; a delivery that
// was under way is cut off before its end of DATA and stays queued. Run
// may be called again once it returned (a process that holds the
// outbox's lease anew), but not while it runs.
func (s *Sender) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return errors.New("outbox: Run called while it runs")
	}
	s.running = true
	done := make(chan struct{})
	s.done = done
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
		close(done)
	}()
	select {
	case <-s.stop:
		return nil
	default:
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	ticker := time.NewTicker(s.poll)
	defer ticker.Stop()
	for {
		if err := s.SendDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("outbox pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		case <-s.kick:
		}
	}
}

// Kick makes Run look for due messages now, as the notifier does after it
// queued some. It never blocks.
func (s *Sender) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Stop ends Run and waits until it has returned. A delivery whose end of
// DATA was already sent is not cut off: Stop then waits for the relay's
// answer, at most 10 minutes, so that the message is recorded as sent
// rather than sent again after the restart.
func (s *Sender) Stop() {
	s.stopOnce.Do(func() { close(s.stop) })
	s.mu.Lock()
	running, done := s.running, s.done
	s.mu.Unlock()
	if running {
		<-done
	}
}

// SendDue delivers every message that is due, oldest first, and records
// each outcome in the queue. It stops early when the relay itself fails
// (it cannot be reached, or refuses TLS or the login), since every other
// message would fail the same way, and sends nothing until the failed
// message is due again. The error is about the queue; delivery failures
// are recorded, and logged.
func (s *Sender) SendDue(ctx context.Context) error {
	s.pass.Lock()
	defer s.pass.Unlock()
	if err := s.recordUnrecorded(ctx); err != nil {
		return err
	}
	if s.now().Before(s.pausedUntil) {
		return nil
	}
	tried := map[int64]bool{}
	for {
		due, err := s.queue.DueMessages(ctx, s.now(), batchSize)
		if err != nil {
			return fmt.Errorf("outbox: due messages: %w", err)
		}
		fresh := 0
		for _, m := range due {
			if tried[m.ID] {
				continue
			}
			if _, ok := s.unrecorded[m.ID]; ok {
				continue
			}
			tried[m.ID] = true
			fresh++
			if err := ctx.Err(); err != nil {
				return nil
			}
			next, err := s.sendOne(ctx, m)
			var de *DeliveryError
			if errors.As(err, &de) && de.relay() && !de.Permanent {
				// next is zero when that was the message's last attempt:
				// the pass ends, and the next one tries the relay again.
				s.pausedUntil = next
				args := []any{"relay", s.addr, "err", err}
				if !next.IsZero() {
					args = append(args, "paused_until", next)
				}
				s.log.Error("SMTP relay unusable, pass ended", args...)
				return nil
			}
			if err != nil && !errors.As(err, &de) {
				// The queue could not be written: the next pass retries.
				return err
			}
		}
		if fresh == 0 || len(due) < batchSize {
			return nil
		}
	}
}

// SendOne delivers msg now, whether or not it is due, and records the
// outcome: sent, to retry (with the time of the next attempt) or failed.
// It returns nil when the message was sent, the *DeliveryError when it
// was not, and any error of the queue wrapped. When ctx ends before the
// delivery completed nothing is recorded and ctx's error is returned.
func (s *Sender) SendOne(ctx context.Context, msg Message) error {
	s.pass.Lock()
	defer s.pass.Unlock()
	if _, ok := s.unrecorded[msg.ID]; ok {
		return s.recordUnrecorded(ctx)
	}
	_, err := s.sendOne(ctx, msg)
	return err
}

// sendOne is SendOne under the pass lock; it also returns the time of the
// next attempt of a message that failed temporarily, zero otherwise.
func (s *Sender) sendOne(ctx context.Context, msg Message) (time.Time, error) {
	attempts := msg.Attempts + 1
	last := attempts >= s.cfg.MaxAttempts
	started := s.now()
	reply, err := s.deliver(ctx, msg, last)
	log := s.log.With("message", msg.ID, "org", msg.Org, "message_id", msg.MessageID, "attempt", attempts)
	if err == nil {
		s.metrics.sent.Inc()
		s.pausedUntil = time.Time{}
		log.Info("message sent", "reply", reply, "seconds", s.now().Sub(started).Seconds())
		when := s.now()
		if err := s.markSent(ctx, msg.ID, when, reply); err != nil {
			// The relay has it: never send it again because of the store.
			s.unrecorded[msg.ID] = sentRecord{when: when, reply: reply}
			log.Error("message sent but not recorded; recording it again before anything else", "err", err)
			return time.Time{}, fmt.Errorf("outbox: record message %d as sent: %w", msg.ID, err)
		}
		return time.Time{}, nil
	}
	if ctx.Err() != nil {
		// Shutting down is not the message's fault: leave it as it was.
		return time.Time{}, ctx.Err()
	}
	var de *DeliveryError
	if !errors.As(err, &de) {
		de = &DeliveryError{Stage: "connect", Err: err}
	}
	text := de.Error()
	switch {
	case de.Permanent || last:
		if !de.Permanent {
			text = fmt.Sprintf("gave up after %d attempts: %s", attempts, text)
		}
		s.metrics.failed.Inc()
		log.Warn("message failed", "err", text)
		if err := s.queue.FailMessage(ctx, msg.ID, attempts, text); err != nil {
			return time.Time{}, fmt.Errorf("outbox: record failure of message %d: %w", msg.ID, err)
		}
		return time.Time{}, de
	default:
		next := s.now().Add(s.backoff(attempts))
		s.metrics.retried.Inc()
		log.Warn("message deferred", "err", text, "next_attempt", next)
		if err := s.queue.RetryMessage(ctx, msg.ID, attempts, next, text); err != nil {
			return time.Time{}, fmt.Errorf("outbox: record retry of message %d: %w", msg.ID, err)
		}
		return next, de
	}
}

// recordUnrecorded retries MarkMessageSent for messages the relay
// accepted; it returns the first error, keeping what is still unrecorded.
func (s *Sender) recordUnrecorded(ctx context.Context) error {
	for id, r := range s.unrecorded {
		if err := s.markSent(ctx, id, r.when, r.reply); err != nil {
			return fmt.Errorf("outbox: record message %d as sent: %w", id, err)
		}
		delete(s.unrecorded, id)
	}
	return nil
}

// markSent records a delivery, even when ctx has just ended: a shutdown
// right after the relay's 250 must not leave the message queued, to be
// sent again after the restart. A message already marked sent is fine.
func (s *Sender) markSent(ctx context.Context, id int64, when time.Time, reply string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.queue.MarkMessageSent(ctx, id, when, reply); err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	return nil
}

// backoff is the wait after the attempts-th failed attempt: Backoff,
// doubling, at most MaxBackoff.
func (s *Sender) backoff(attempts int) time.Duration {
	d := s.cfg.Backoff
	for i := 1; i < attempts && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.cfg.MaxBackoff)
}

// DeliveryError is a delivery that did not succeed.
type DeliveryError struct {
	// Stage is where it failed: connect (reaching the relay, its greeting
	// and TLS), auth, mail, rcpt or data.
	Stage string
	// Permanent is true when trying again cannot help: the relay refused
	// the message with a 5xx answer, or it cannot be sent as it is.
	Permanent bool
	// Reply is the relay's answer (code, enhanced code and text), when
	// it gave one.
	Reply string
	Err   error
}

func (e *DeliveryError) Error() string {
	var b strings.Builder
	b.WriteString(e.Stage)
	if e.Reply != "" {
		b.WriteString(": " + e.Reply)
	} else if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// relay reports a failure of the relay rather than of the message.
func (e *DeliveryError) relay() bool { return e.Stage == "connect" || e.Stage == "auth" }

// Deliver sends msg to the relay in one SMTP transaction, without
// recording anything, and returns the relay's answer to the end of DATA,
// followed by the recipients it refused if it refused some. An error is a
// *DeliveryError.
func (s *Sender) Deliver(ctx context.Context, msg Message) (string, error) {
	return s.deliver(ctx, msg, false)
}

// deliver is Deliver; on the last attempt, recipients refused temporarily
// count as refused, so that the others still get the message.
func (s *Sender) deliver(ctx context.Context, msg Message, lastAttempt bool) (string, error) {
	from, recipients, err := s.envelope(msg)
	if err != nil {
		return "", err
	}
	client, conn, err := s.connect(ctx)
	if err != nil {
		return "", err
	}
	defer client.Close()
	// Ending ctx cuts the connection, which ends any command under way,
	// until the end of DATA is sent: from then on the answer is awaited
	// (see the package documentation).
	stopCancel := context.AfterFunc(ctx, func() { conn.Close() })
	defer stopCancel()
	fail := func(stage string, err error) error {
		if ctx.Err() != nil {
			return &DeliveryError{Stage: stage, Err: ctx.Err()}
		}
		return classify(stage, err)
	}
	if err := s.authenticate(client, fail); err != nil {
		return "", err
	}
	if err := client.Mail(from, &smtp.MailOptions{Size: int64(len(msg.Body))}); err != nil {
		return "", fail("mail", err)
	}
	refused, err := addRecipients(client, recipients, lastAttempt, fail)
	if err != nil {
		return "", err
	}

	w, err := client.Data()
	if err != nil {
		return "", fail("data", err)
	}
	if _, err := w.Write(msg.Body); err != nil {
		return "", fail("data", err)
	}
	// The end of DATA cannot be taken back: not past the lease's term
	// (a process held up may wake past it before its timers ran).
	if err := lease.Check(ctx); err != nil || !stopCancel() {
		// ctx ended and the connection is (or will be) closed: the end
		// of DATA was not sent, so the relay discards the message.
		return "", &DeliveryError{Stage: "data", Err: context.Cause(ctx)}
	}
	conn.idle.Store(int64(max(submissionTimeout, s.cfg.Timeout)))
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", classify("data", err)
	}
	conn.idle.Store(int64(s.cfg.Timeout))
	client.Quit()
	reply := "250 " + resp.StatusText
	if len(refused) > 0 {
		reply += "; refused: " + strings.Join(refused, "; ")
	}
	return reply, nil
}

// envelope checks a message before any connection is made: its envelope
// sender (smtp.from, else the message's sender), its recipients and its
// body. What it refuses is refused for good.
func (s *Sender) envelope(msg Message) (string, []string, error) {
	permanent := func(stage string, err error) error {
		return &DeliveryError{Stage: stage, Permanent: true, Err: err}
	}
	from := s.cfg.From
	if from == "" {
		from = msg.Sender
	}
	if from == "" {
		return "", nil, permanent("mail", errors.New("no envelope sender: set smtp.from or the message's sender"))
	}
	from, err := envelopeAddress(from)
	if err != nil {
		return "", nil, permanent("mail", err)
	}
	if len(msg.Recipients) == 0 {
		return "", nil, permanent("rcpt", errors.New("the message has no recipients"))
	}
	recipients := make([]string, len(msg.Recipients))
	for i, r := range msg.Recipients {
		if recipients[i], err = envelopeAddress(r); err != nil {
			return "", nil, permanent("rcpt", err)
		}
	}
	if len(msg.Body) == 0 {
		return "", nil, permanent("data", errors.New("the message has no body"))
	}
	return from, recipients, nil
}

// authenticate logs in to the relay when a user name is configured, never
// sending the password in clear to a relay that is not on this machine.
func (s *Sender) authenticate(client *smtp.Client, fail func(string, error) error) error {
	if s.cfg.Username == "" {
		return nil
	}
	if _, isTLS := client.TLSConnectionState(); !isTLS && !isLoopback(s.cfg.Host) {
		return &DeliveryError{Stage: "auth", Err: errors.New("refusing to send the password without TLS")}
	}
	if !client.SupportsAuth("PLAIN") {
		return &DeliveryError{Stage: "auth", Err: errors.New("the relay does not offer AUTH PLAIN")}
	}
	if err := client.Auth(sasl.NewPlainClient("", s.cfg.Username, s.cfg.Password)); err != nil {
		// A refused login is the relay's configuration, not the
		// message's: retried, whatever the code.
		de := fail("auth", err).(*DeliveryError)
		de.Permanent = false
		return de
	}
	return nil
}

// addRecipients names every recipient to the relay and returns those it
// refused for good. A recipient deferred (4xx) before the last attempt
// defers the whole message: sending now to the others would send it to
// them again on the retry.
func addRecipients(client *smtp.Client, recipients []string, lastAttempt bool, fail func(string, error) error) ([]string, error) {
	var accepted, refused, deferred []string
	for _, r := range recipients {
		err := client.Rcpt(r, nil)
		var se *smtp.SMTPError
		switch {
		case err == nil:
			accepted = append(accepted, r)
		case errors.As(err, &se) && (se.Code/100 == 5 || lastAttempt && se.Code/100 == 4):
			refused = append(refused, "<"+r+"> "+replyText(se))
		case errors.As(err, &se) && se.Code/100 == 4:
			deferred = append(deferred, "<"+r+"> "+replyText(se))
		default:
			return nil, fail("rcpt", err)
		}
	}
	if len(deferred) > 0 {
		client.Reset()
		return nil, &DeliveryError{Stage: "rcpt", Reply: strings.Join(append(deferred, refused...), "; "),
			Err: errors.New("recipients deferred")}
	}
	if len(accepted) == 0 {
		return nil, &DeliveryError{Stage: "rcpt", Permanent: true, Reply: "all recipients refused: " + strings.Join(refused, "; "),
			Err: errors.New("all recipients refused")}
	}
	return refused, nil
}

// connect dials the relay, greets it, and sets up TLS as configured.
func (s *Sender) connect(ctx context.Context) (*smtp.Client, *idleConn, error) {
	tlsConfig, err := s.cfg.tlsConfig()
	if err != nil {
		return nil, nil, &DeliveryError{Stage: "connect", Err: err}
	}
	dialer := net.Dialer{Timeout: s.cfg.Timeout}
	raw, err := dialer.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return nil, nil, &DeliveryError{Stage: "connect", Err: err}
	}
	conn := newIdleConn(raw, s.cfg.Timeout)
	// Until the SMTP session is set up, ending ctx closes the connection.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var client *smtp.Client
	switch s.cfg.TLS {
	case TLSImplicit:
		client = smtp.NewClient(newImplicitTLS(conn, tlsConfig))
	case TLSStartTLS:
		// go-smtp greets in this call with EHLO localhost; the EHLO after
		// TLS, the one the relay's policy sees, gives the configured name.
		client, err = smtp.NewClientStartTLS(conn, tlsConfig)
		if err != nil {
			conn.Close()
			return nil, nil, classifyConnect(err)
		}
	default:
		client = smtp.NewClient(conn)
	}
	if err := client.Hello(s.cfg.heloName()); err != nil {
		client.Close()
		return nil, nil, classifyConnect(err)
	}
	return client, conn, nil
}

// classifyConnect makes an error of setting up the session a temporary
// DeliveryError: whatever the relay says then is about the relay.
func classifyConnect(err error) error {
	de := classify("connect", err).(*DeliveryError)
	de.Permanent = false
	return de
}

// classify turns an error of stage into a DeliveryError: a 5xx answer is
// permanent, a 4xx answer, a timeout or a broken connection temporary.
func classify(stage string, err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return &DeliveryError{Stage: stage, Permanent: se.Code/100 == 5, Reply: replyText(se), Err: err}
	}
	return &DeliveryError{Stage: stage, Err: err}
}

// replyText renders an SMTP answer as the relay gave it: "550 5.1.1 text".
func replyText(se *smtp.SMTPError) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%03d", se.Code)
	if ec := se.EnhancedCode; ec != smtp.EnhancedCodeNotSet && ec != smtp.NoEnhancedCode {
		fmt.Fprintf(&b, " %d.%d.%d", ec[0], ec[1], ec[2])
	}
	if se.Message != "" {
		b.WriteString(" " + se.Message)
	}
	return b.String()
}

type metrics struct {
	sent, failed, retried prometheus.Counter
}

func newMetrics() *metrics {
	return &metrics{
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_outbox_messages_sent_total", Help: "Messages the SMTP relay accepted.",
		}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_outbox_messages_failed_total", Help: "Messages given up: refused by the relay or out of attempts.",
		}),
		retried: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_outbox_messages_retried_total", Help: "Delivery attempts that failed temporarily and will be retried.",
		}),
	}
}

func (m *metrics) register(reg prometheus.Registerer) {
	if reg != nil {
		reg.MustRegister(m.sent, m.failed, m.retried)
	}
}
