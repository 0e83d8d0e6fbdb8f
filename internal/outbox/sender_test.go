package outbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/outbox/outboxdb"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// counterValue reads a counter from the registry, as Prometheus would.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no series %s", name)
	return 0
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// testClock is a clock the test moves, to step over backoff delays.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

// newTestClock starts a second ahead, so that messages queued after it
// (the store dates them with the real time) are due at once.
// It counts in microseconds, as the store does.
func newTestClock() *testClock {
	return &testClock{t: time.Now().Add(time.Second).Truncate(time.Microsecond)}
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// openStore opens the outbox on a real SQLite store in the test's
// directory.
func openStore(t *testing.T) *outboxdb.Store {
	t.Helper()
	s, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "vigil.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatalf("sqlitestore.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(t.Context(), outboxdb.Schema); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return outboxdb.New(s.DB(), s)
}

// testBody is a message with the lines SMTP treats specially: one that is
// a lone dot and one that starts with a dot (dot-stuffing, RFC 5321
// 4.5.2), which must arrive unchanged.
func testBody(messageID string) []byte {
	return []byte("From: CERT Test <cert@example.org>\r\n" +
		"To: abuse@uni.example\r\n" +
		"Subject: Vigil notification\r\n" +
		"Message-ID: <" + messageID + ">\r\n" +
		"Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n" +
		"\r\n" +
		"Three events.\r\n" +
		".\r\n" +
		"..and a line that starts with a dot\r\n")
}

// queue queues messages in the outbox as the notifier's commit does and returns
// them with their IDs.
func queue(t *testing.T, s *outboxdb.Store, messages ...outbox.Message) []outbox.Message {
	t.Helper()
	for i := range messages {
		m := &messages[i]
		if m.MessageID == "" {
			m.MessageID = fmt.Sprintf("n%d-%d@cert.example.org", time.Now().UnixNano(), i)
		}
		if m.Body == nil {
			m.Body = testBody(m.MessageID)
		}
		if m.Org == "" {
			m.OrgID, m.Org, m.Kind = 1, "uni", "digest"
		}
		if m.Sender == "" {
			m.Sender = "CERT Test <cert@example.org>"
		}
		if m.Recipients == nil {
			m.Recipients = []string{"abuse@uni.example"}
		}
		if m.Subject == "" {
			m.Subject = "3 events"
		}
	}
	if err := s.QueueMessages(t.Context(), messages); err != nil {
		t.Fatalf("QueueMessages: %v", err)
	}
	return messages
}

func getMessage(t *testing.T, s *outboxdb.Store, id int64) outbox.Message {
	t.Helper()
	m, err := s.GetMessage(t.Context(), id)
	if err != nil {
		t.Fatalf("GetMessage %d: %v", id, err)
	}
	return m
}

func newTestSender(t *testing.T, cfg outbox.Config, q outbox.Queue, opts ...outbox.Option) *outbox.Sender {
	t.Helper()
	s, err := outbox.NewSender(cfg, q, slog.New(slog.NewTextHandler(testWriter{t}, nil)), opts...)
	if err != nil {
		t.Fatalf("NewSender: %v", err)
	}
	return s
}

// testWriter sends the Sender's log to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

func TestDeliverSTARTTLS(t *testing.T) {
	relay := newTestRelay(t, relayOptions{})
	st := openStore(t)
	reg := prometheus.NewRegistry()
	sender := newTestSender(t, relay.config(t), st, outbox.WithRegisterer(reg))
	m := queue(t, st, outbox.Message{Recipients: []string{"abuse@uni.example", "Security Team <soc@uni.example>"}})[0]

	if err := sender.SendDue(t.Context()); err != nil {
		t.Fatalf("SendDue: %v", err)
	}
	got := relay.received()
	if len(got) != 1 {
		t.Fatalf("relay received %d messages, want 1", len(got))
	}
	r := got[0]
	if !r.TLS || r.User != relayUser {
		t.Errorf("session TLS %v user %q, want STARTTLS and a login", r.TLS, r.User)
	}
	if r.From != "bounces@cert.example.org" {
		t.Errorf("MAIL FROM %q, want smtp.from", r.From)
	}
	if strings.Join(r.To, ",") != "abuse@uni.example,soc@uni.example" {
		t.Errorf("RCPT TO %q", r.To)
	}
	if !bytes.Equal(r.Data, m.Body) {
		t.Errorf("the relay received other bytes:\n got %q\nwant %q", r.Data, m.Body)
	}

	after := getMessage(t, st, m.ID)
	if after.Status != outbox.MessageSent || after.Attempts != 1 || after.Sent.IsZero() {
		t.Errorf("stored %s after %d attempts, sent %v; want sent after 1", after.Status, after.Attempts, after.Sent)
	}
	if !strings.HasPrefix(after.Reply, "250 2.0.0 ") {
		t.Errorf("Reply = %q, want the relay's 250 answer", after.Reply)
	}
	if v := counterValue(t, reg, "vigil_outbox_messages_sent_total"); v != 1 {
		t.Errorf("vigil_outbox_messages_sent_total = %v, want 1", v)
	}
	if v := counterValue(t, reg, "vigil_outbox_messages_retried_total"); v != 0 {
		t.Errorf("vigil_outbox_messages_retried_total = %v, want 0", v)
	}

	// Nothing is due any more: a second pass sends nothing.
	if err := sender.SendDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(relay.received()); n != 1 {
		t.Errorf("after a second pass the relay has %d messages", n)
	}
}

func TestDeliverImplicitTLS(t *testing.T) {
	relay := newTestRelay(t, relayOptions{implicitTLS: true})
	st := openStore(t)
	cfg := relay.config(t)
	cfg.TLS = outbox.TLSImplicit
	cfg.From = "" // the message's own sender is the envelope sender
	sender := newTestSender(t, cfg, st)
	m := queue(t, st, outbox.Message{})[0]
	if err := sender.SendDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := relay.received()
	if len(got) != 1 || !got[0].TLS || got[0].From != "cert@example.org" {
		t.Fatalf("received %+v, want one message over TLS from the message's sender", got)
	}
	if s := getMessage(t, st, m.ID).Status; s != outbox.MessageSent {
		t.Errorf("status %s", s)
	}
}

func TestRetryThenSuccess(t *testing.T) {
	relay := newTestRelay(t, relayOptions{})
	relay.script(&smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Mail server temporarily rejected message"})
	st := openStore(t)
	clock := newTestClock()
	sender := newTestSender(t, relay.config(t), st, outbox.WithClock(clock.now))
	m := queue(t, st, outbox.Message{})[0]

	if err := sender.SendDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	after := getMessage(t, st, m.ID)
	if after.Status != outbox.MessageQueued || after.Attempts != 1 {
		t.Fatalf("after a 451: %s, %d attempts; want queued after 1", after.Status, after.Attempts)
	}
	if !strings.Contains(after.LastError, "451 4.3.0 Mail server temporarily rejected message") {
		t.Errorf("LastError = %q, want the relay's answer", after.LastError)
	}
	if want := clock.now().Add(time.Minute); after.NextAttempt.Sub(want).Abs() > time.Millisecond {
		t.Errorf("NextAttempt = %v, want a minute later (%v)", after.NextAttempt, want)
	}

	// Not due yet: nothing is tried.
	clock.advance(30 * time.Second)
	if err := sender.SendDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := relay.dataCommands(); n != 1 {
		t.Fatalf("%d DATA transactions before the backoff ran out, want 1", n)
	}

	clock.advance(31 * time.Second)
	if err := sender.SendDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := relay.received()
	if len(got) != 1 || !bytes.Equal(got[0].Data, m.Body) {
		t.Fatalf("relay kept %d messages, want the one retried", len(got))
	}
	after = getMessage(t, st, m.ID)
	if after.Status != outbox.MessageSent || after.Attempts != 2 {
		t.Errorf("after the retry: %s, %d attempts; want sent after 2", after.Status, after.Attempts)
	}
}

func TestPermanentFailure(t *testing.T) {
	relay := newTestRelay(t, relayOptions{})
	relay.script(&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Message rejected as spam"})
	st := openStore(t)
	sender := newTestSender(t, relay.config(t), st)
	m := queue(t, st, outbox.Message{})[0]

	if err := sender.SendDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	after := getMessage(t, st, m.ID)
	if after.Status != outbox.MessageFailed || after.Attempts != 1 {
		t.Fatalf("after a 550: %s, %d attempts; want failed after 1", after.Status, after.Attempts)
	}
	if want := "data: 550 5.7.1 Message rejected as spam"; after.LastError != want {
		t.Errorf("LastError = %q, want %q", after.LastError, want)
	}
	if err := sender.SendDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := relay.dataCommands(); n != 1 {
		t.Errorf("a failed message was tried again (%d DATA)", n)
	}
}

func TestConnectionRefused(t *testing.T) {
	st := openStore(t)
	clock := newTestClock()
	host, port, _ := net.SplitHostPort(closedPort(t))
	cfg := outbox.DefaultConfig()
	cfg.Host, cfg.Port, cfg.TLS, cfg.MaxAttempts = host, mustAtoi(t, port), outbox.TLSNone, 3
	sender := newTestSender(t, cfg, st, outbox.WithClock(clock.now))
	ms := queue(t, st, outbox.Message{}, outbox.Message{})

	if err := sender.SendDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	first, second := getMessage(t, st, ms[0].ID), getMessage(t, st, ms[1].ID)
	if first.Status != outbox.MessageQueued || first.Attempts != 1 || !strings.Contains(first.LastError, "connection refused") {
		t.Fatalf("first message: %s, %d attempts, %q; want queued after 1 with the refusal", first.Status, first.Attempts, first.LastError)
	}
	if !strings.HasPrefix(first.LastError, "connect: ") {
		t.Errorf("LastError = %q, want it to say the connection failed", first.LastError)
	}
	if d := first.NextAttempt.Sub(clock.now()); d != time.Minute {
		t.Errorf("first retry in %v, want 1m", d)
	}
	// The relay is down for every message: the second was not tried.
	if second.Attempts != 0 || second.LastError != "" {
		t.Errorf("second message tried although the relay was down: %+v", second)
	}

	// The backoff doubles; the third attempt is the last.
	clock.advance(time.Minute)
	sender.SendDue(t.Context())
	first = getMessage(t, st, ms[0].ID)
	if first.Attempts != 2 || first.NextAttempt.Sub(clock.now()) != 2*time.Minute {
		t.Errorf("second attempt: %d attempts, next in %v; want 2 and 2m", first.Attempts, first.NextAttempt.Sub(clock.now()))
	}
	clock.advance(2 * time.Minute)
	sender.SendDue(t.Context())
	first = getMessage(t, st, ms[0].ID)
	if first.Status != outbox.MessageFailed || first.Attempts != 3 || !strings.HasPrefix(first.LastError, "gave up after 3 attempts: connect: ") {
		t.Errorf("after max_attempts: %s, %d, %q", first.Status, first.Attempts, first.LastError)
	}
}

func TestRecipients(t *testing.T) {
	userUnknown := &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "User unknown"}
	greylisted := &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Greylisted, try again"}

	t.Run("some refused", func(t *testing.T) {
		relay := newTestRelay(t, relayOptions{})
		relay.refuse("gone@uni.example", userUnknown)
		st := openStore(t)
		sender := newTestSender(t, relay.config(t), st)
		m := queue(t, st, outbox.Message{Recipients: []string{"abuse@uni.example", "gone@uni.example"}})[0]
		sender.SendDue(t.Context())
		got := relay.received()
		if len(got) != 1 || strings.Join(got[0].To, ",") != "abuse@uni.example" {
			t.Fatalf("received %+v, want one message to the accepted recipient", got)
		}
		after := getMessage(t, st, m.ID)
		if after.Status != outbox.MessageSent {
			t.Fatalf("status %s", after.Status)
		}
		if !strings.HasPrefix(after.Reply, "250 ") || !strings.Contains(after.Reply, "refused: <gone@uni.example> 550 5.1.1 User unknown") {
			t.Errorf("Reply = %q, want the 250 and the refused recipient", after.Reply)
		}
	})

	t.Run("all refused", func(t *testing.T) {
		relay := newTestRelay(t, relayOptions{})
		relay.refuse("gone@uni.example", userUnknown)
		relay.refuse("left@uni.example", userUnknown)
		st := openStore(t)
		sender := newTestSender(t, relay.config(t), st)
		m := queue(t, st, outbox.Message{Recipients: []string{"gone@uni.example", "left@uni.example"}})[0]
		sender.SendDue(t.Context())
		after := getMessage(t, st, m.ID)
		if after.Status != outbox.MessageFailed || relay.dataCommands() != 0 {
			t.Fatalf("status %s, %d DATA; want failed without DATA", after.Status, relay.dataCommands())
		}
		want := "rcpt: all recipients refused: <gone@uni.example> 550 5.1.1 User unknown; <left@uni.example> 550 5.1.1 User unknown"
		if after.LastError != want {
			t.Errorf("LastError = %q, want %q", after.LastError, want)
		}
	})

	t.Run("one deferred", func(t *testing.T) {
		relay := newTestRelay(t, relayOptions{})
		relay.refuse("slow@uni.example", greylisted)
		st := openStore(t)
		clock := newTestClock()
		cfg := relay.config(t)
		cfg.MaxAttempts = 2
		sender := newTestSender(t, cfg, st, outbox.WithClock(clock.now))
		m := queue(t, st, outbox.Message{Recipients: []string{"abuse@uni.example", "slow@uni.example"}})[0]

		// Sending to the accepted recipient now would send it the
		// message again with the retry: nothing goes out.
		sender.SendDue(t.Context())
		after := getMessage(t, st, m.ID)
		if after.Status != outbox.MessageQueued || relay.dataCommands() != 0 {
			t.Fatalf("status %s, %d DATA; want queued without DATA", after.Status, relay.dataCommands())
		}
		if !strings.Contains(after.LastError, "<slow@uni.example> 450 4.7.1 Greylisted, try again") {
			t.Errorf("LastError = %q", after.LastError)
		}
		// On the last attempt the others get it, and the reply says who
		// did not.
		clock.advance(time.Minute)
		sender.SendDue(t.Context())
		after = getMessage(t, st, m.ID)
		got := relay.received()
		if after.Status != outbox.MessageSent || len(got) != 1 || strings.Join(got[0].To, ",") != "abuse@uni.example" {
			t.Fatalf("last attempt: status %s, received %+v", after.Status, got)
		}
		if !strings.Contains(after.Reply, "refused: <slow@uni.example> 450 4.7.1") {
			t.Errorf("Reply = %q", after.Reply)
		}
	})
}

func TestTimeout(t *testing.T) {
	st := openStore(t)
	host, port, _ := net.SplitHostPort(silentListener(t))
	cfg := outbox.DefaultConfig()
	cfg.Host, cfg.Port, cfg.Timeout = host, mustAtoi(t, port), 300*time.Millisecond
	sender := newTestSender(t, cfg, st)
	m := queue(t, st, outbox.Message{})[0]

	start := time.Now()
	if err := sender.SendDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("a silent relay held the sender %v with a 300ms timeout", took)
	}
	after := getMessage(t, st, m.ID)
	if after.Status != outbox.MessageQueued || after.Attempts != 1 || !strings.Contains(after.LastError, "timeout") {
		t.Errorf("after a timeout: %s, %d attempts, %q; want queued with the timeout", after.Status, after.Attempts, after.LastError)
	}
}

func TestShutdownDuringDelivery(t *testing.T) {
	st := openStore(t)
	host, port, _ := net.SplitHostPort(silentListener(t))
	cfg := outbox.DefaultConfig()
	cfg.Host, cfg.Port, cfg.Timeout = host, mustAtoi(t, port), time.Minute
	sender := newTestSender(t, cfg, st)
	m := queue(t, st, outbox.Message{})[0]

	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	sender.SendDue(ctx)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("shutdown took %v", took)
	}
	// Not the message's fault: no attempt counted, still due.
	if after := getMessage(t, st, m.ID); after.Status != outbox.MessageQueued || after.Attempts != 0 || after.LastError != "" {
		t.Errorf("after shutdown: %+v", after)
	}
}

func TestRelayProblems(t *testing.T) {
	tests := []struct {
		name  string
		relay relayOptions
		edit  func(*outbox.Config)
		words string
	}{
		{"untrusted certificate", relayOptions{}, func(c *outbox.Config) { c.CAFile = "" }, "certificate"},
		{"no STARTTLS", relayOptions{noTLS: true}, func(c *outbox.Config) {}, "STARTTLS"},
		{"wrong password", relayOptions{}, func(c *outbox.Config) { c.Password = "wrong" }, "auth: 535 5.7.8"},
		{"no login", relayOptions{}, func(c *outbox.Config) { c.Username, c.Password = "", "" }, "mail: 530 5.7.0 Authentication required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			relay := newTestRelay(t, tt.relay)
			st := openStore(t)
			cfg := relay.config(t)
			tt.edit(&cfg)
			sender := newTestSender(t, cfg, st)
			m := queue(t, st, outbox.Message{})[0]
			sender.SendDue(t.Context())
			after := getMessage(t, st, m.ID)
			if !strings.Contains(after.LastError, tt.words) {
				t.Errorf("LastError = %q, want it to say %q", after.LastError, tt.words)
			}
			if len(relay.received()) != 0 {
				t.Error("the relay received the message")
			}
			// Only a 5xx about the message itself is permanent; a refused
			// login is the relay's configuration and is retried.
			wantStatus := outbox.MessageQueued
			if strings.HasPrefix(tt.words, "mail: 5") {
				wantStatus = outbox.MessageFailed
			}
			if after.Status != wantStatus {
				t.Errorf("status %s, want %s", after.Status, wantStatus)
			}
		})
	}
}

// failingMarks is the real store with MarkMessageSent failing a number of
// times, as a full disk or a lost database connection would.
type failingMarks struct {
	*outboxdb.Store
	mu    sync.Mutex
	fails int
}

func (f *failingMarks) MarkMessageSent(ctx context.Context, id int64, when time.Time, reply string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fails > 0 {
		f.fails--
		return errors.New("disk I/O error")
	}
	return f.Store.MarkMessageSent(ctx, id, when, reply)
}

func TestSentButNotRecorded(t *testing.T) {
	relay := newTestRelay(t, relayOptions{})
	st := openStore(t)
	q := &failingMarks{Store: st, fails: 2}
	sender := newTestSender(t, relay.config(t), q)
	m := queue(t, st, outbox.Message{})[0]

	if err := sender.SendDue(t.Context()); err == nil {
		t.Error("SendDue hid the store failure")
	}
	if len(relay.received()) != 1 {
		t.Fatalf("relay received %d", len(relay.received()))
	}
	// The store still says queued, but the message is not sent again:
	// the next pass records it first.
	if err := sender.SendDue(t.Context()); err == nil {
		t.Error("second failure hidden")
	}
	if err := sender.SendDue(t.Context()); err != nil {
		t.Fatalf("third pass: %v", err)
	}
	if n := len(relay.received()); n != 1 {
		t.Errorf("the relay received the message %d times", n)
	}
	after := getMessage(t, st, m.ID)
	if after.Status != outbox.MessageSent || !strings.HasPrefix(after.Reply, "250 ") {
		t.Errorf("stored %s %q, want sent with the relay's answer", after.Status, after.Reply)
	}
}

func TestRun(t *testing.T) {
	relay := newTestRelay(t, relayOptions{})
	st := openStore(t)
	sender := newTestSender(t, relay.config(t), st, outbox.WithPollInterval(time.Hour))
	ran := make(chan error, 1)
	go func() { ran <- sender.Run(t.Context()) }()

	waitFor := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for len(relay.received()) < n {
			if time.Now().After(deadline) {
				t.Fatalf("relay has %d messages after 10s, want %d", len(relay.received()), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	queue(t, st, outbox.Message{})
	// The poll interval is an hour: only Kick can make it send now.
	sender.Kick()
	waitFor(1)
	queue(t, st, outbox.Message{}, outbox.Message{})
	sender.Kick()
	sender.Kick() // never blocks
	waitFor(3)

	sender.Stop()
	select {
	case err := <-ran:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Stop")
	}
	// After Stop, Run returns at once.
	if err := sender.Run(t.Context()); err != nil {
		t.Errorf("Run after Stop: %v", err)
	}

	// Ending the context ends Run too.
	other := newTestSender(t, relay.config(t), st)
	ctx, cancel := context.WithCancel(t.Context())
	go func() { ran <- other.Run(ctx) }()
	cancel()
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return when its context ended")
	}
	// Run again, as a process that holds the outbox's lease anew does: it
	// sends; a Run beside it is refused.
	ctx, cancel = context.WithCancel(t.Context())
	go func() { ran <- other.Run(ctx) }()
	queue(t, st, outbox.Message{})
	deadline := time.Now().Add(10 * time.Second)
	for len(relay.received()) < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("relay has %d messages after 10s, want 4: Run again does not send", len(relay.received()))
		}
		other.Kick()
		time.Sleep(10 * time.Millisecond)
	}
	over, end := context.WithCancel(t.Context())
	end() // were it not refused, this Run would return at once
	if err := other.Run(over); err == nil {
		t.Error("a Run beside another: no error")
	}
	cancel()
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return when its context ended")
	}
	other.Stop() // after Run returned: does not block
}
