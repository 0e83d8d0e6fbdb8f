package newsletter_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/outbox/outboxdb"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/newsletter"
	"github.com/vigil-cert/vigil/internal/publication/newsletter/newsletterdb"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

// world is a database with the newsletter, and its service.
type world struct {
	st      store.Store
	store   *newsletterdb.Store
	service *newsletter.Service
	now     time.Time
}

func newWorld(t *testing.T) *world {
	t.Helper()
	st := dbtest.SQLite(t, database.Schemas...)
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	secret, err := newsletter.LoadSecret(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	again, err := newsletter.LoadSecret(t.Context(), st)
	if err != nil || !bytes.Equal(secret, again) {
		t.Fatalf("the secret changed between two loads: %v", err)
	}
	mails, err := newsletter.NewMails(cat, &mail.Address{Name: "Test CERT", Address: "news@cert.example"},
		"https://cert.example/", "https://www.cert.example/{lang}/publications/{ident}", secret)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{st: st, store: newsletterdb.New(st.DB()), now: time.Now().UTC()}
	w.service = &newsletter.Service{Store: w.store, Mails: mails, Config: newsletter.DefaultConfig(), Now: func() time.Time { return w.now }}
	return w
}

// outbox returns the confirmation mails queued, oldest first.
func (w *world) outbox(t *testing.T) []outbox.Message {
	t.Helper()
	list, err := outboxdb.New(w.st.DB(), w.st).ListMessages(t.Context(), outbox.MessageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	for i := range list {
		m, err := outboxdb.New(w.st.DB(), w.st).GetMessage(t.Context(), list[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		list[i] = m
	}
	return list
}

// parsed is a mail read back: its header and its two alternatives.
type parsed struct {
	header     gomail.Header
	text, html string
}

func parseMail(t *testing.T, b []byte) parsed {
	t.Helper()
	r, err := gomail.CreateReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("read mail: %v", err)
	}
	p := parsed{header: r.Header}
	if ct, _, _ := r.Header.ContentType(); ct != "multipart/alternative" {
		t.Errorf("Content-Type = %s, want multipart/alternative", ct)
	}
	for {
		part, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(part.Body)
		ct, _, _ := part.Header.(*gomail.InlineHeader).ContentType()
		switch ct {
		case "text/plain":
			p.text = string(body)
		case "text/html":
			p.html = string(body)
		}
	}
	if p.text == "" || p.html == "" {
		t.Errorf("the mail lacks a plain text or an HTML part")
	}
	return p
}

var linkToken = regexp.MustCompile(`https://cert\.example/newsletter/(confirm|unsubscribe)\?t=([^\s"<>]+)`)

// token returns the token of the first link of kind in text.
func token(t *testing.T, text, kind string) string {
	t.Helper()
	for _, m := range linkToken.FindAllStringSubmatch(text, -1) {
		if m[1] == kind {
			tok, err := url.QueryUnescape(m[2])
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
	}
	t.Fatalf("no %s link in %q", kind, text)
	return ""
}

func TestSubscribeConfirmUnsubscribe(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	if err := w.service.Subscribe(ctx, " Alice@Example.ORG ", "nl", true); err != nil {
		t.Fatal(err)
	}
	queued := w.outbox(t)
	if len(queued) != 1 || queued[0].Recipients[0] != "alice@example.org" {
		t.Fatalf("outbox = %+v; want one confirmation to alice@example.org", queued)
	}
	m := parseMail(t, queued[0].Body)
	if subject, _ := m.header.Subject(); !strings.Contains(subject, "Bevestig") {
		t.Errorf("subject %q is not Dutch", subject)
	}
	confirmToken := token(t, m.text, "confirm")
	if token(t, m.html, "confirm") != confirmToken {
		t.Error("the HTML part links to another confirmation")
	}

	t.Run("no enumeration, one mail an hour", func(t *testing.T) {
		w.now = w.now.Add(10 * time.Minute)
		if err := w.service.Subscribe(ctx, "alice@example.org", "en", false); err != nil {
			t.Errorf("a known address answered %v, not as a new one", err)
		}
		if n := len(w.outbox(t)); n != 1 {
			t.Errorf("%d confirmations within the hour, want 1", n)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		for _, a := range []string{"", "not an address", "Bob <bob@example.org>", "a@b.c, d@e.f", strings.Repeat("a", 250) + "@example.org", "x@y\r\nBcc: z@w"} {
			var ie *publication.InputError
			if err := w.service.Subscribe(ctx, a, "en", false); !errors.As(err, &ie) || ie.Field != "address" {
				t.Errorf("Subscribe(%q) = %v, want a refusal of the address", a, err)
			}
		}
		if err := w.service.Subscribe(ctx, "carol@example.org", "xx", false); !errors.Is(err, publication.ErrInput) {
			t.Errorf("an unknown language = %v, want a refusal", err)
		}
	})
	t.Run("wrong confirmations", func(t *testing.T) {
		id, _, _ := strings.Cut(confirmToken, ".")
		for _, bad := range []string{"", "x", id + ".", id + ".AAAA", "999." + strings.SplitN(confirmToken, ".", 2)[1], confirmToken + "x"} {
			if _, err := w.service.Confirm(ctx, bad); !errors.Is(err, newsletter.ErrToken) {
				t.Errorf("Confirm(%q) = %v, want ErrToken", bad, err)
			}
		}
	})
	t.Run("checking the link confirms nothing", func(t *testing.T) {
		for range 2 {
			sub, err := w.service.CheckConfirm(ctx, confirmToken)
			if err != nil || sub.Status != newsletter.StatusPending || sub.Lang != "nl" || sub.Address != "alice@example.org" {
				t.Fatalf("CheckConfirm = %+v, %v; want the pending subscriber", sub, err)
			}
		}
		id, _, _ := strings.Cut(confirmToken, ".")
		for _, bad := range []string{"", "x", id + ".AAAA", confirmToken + "x"} {
			if _, err := w.service.CheckConfirm(ctx, bad); !errors.Is(err, newsletter.ErrToken) {
				t.Errorf("CheckConfirm(%q) = %v, want ErrToken", bad, err)
			}
		}
		if got := newsletter.MaskAddress("alice@example.org"); got != "a…@example.org" {
			t.Errorf("MaskAddress = %q", got)
		}
	})
	sub, err := w.service.Confirm(ctx, confirmToken)
	if err != nil || sub.Status != newsletter.StatusConfirmed || sub.Lang != "nl" || !sub.Warnings {
		t.Fatalf("Confirm = %+v, %v", sub, err)
	}
	if _, err := w.service.Confirm(ctx, confirmToken); err != nil {
		t.Errorf("confirming twice = %v, want the same answer", err)
	}
	unsubscribe := newsletter.UnsubscribeToken(w.service.Mails.Secret, sub.ID)
	if _, err := w.service.Unsubscribe(ctx, unsubscribe+"x"); !errors.Is(err, newsletter.ErrToken) {
		t.Errorf("a forged unsubscribe token = %v, want ErrToken", err)
	}
	if _, err := w.service.Unsubscribe(ctx, newsletter.UnsubscribeToken([]byte("another secret of 32 bytes......"), sub.ID)); !errors.Is(err, newsletter.ErrToken) {
		t.Errorf("a token under another secret = %v, want ErrToken", err)
	}
	if sub, err = w.service.Unsubscribe(ctx, unsubscribe); err != nil || sub.Status != newsletter.StatusUnsubscribed {
		t.Fatalf("Unsubscribe = %+v, %v", sub, err)
	}
	if _, err := w.service.Confirm(ctx, confirmToken); !errors.Is(err, newsletter.ErrToken) {
		t.Errorf("the old confirmation after unsubscribing = %v, want ErrToken", err)
	}
}

func TestConfirmationExpires(t *testing.T) {
	w := newWorld(t)
	if err := w.service.Subscribe(t.Context(), "late@example.org", "en", false); err != nil {
		t.Fatal(err)
	}
	tok := token(t, parseMail(t, w.outbox(t)[0].Body).text, "confirm")
	w.now = w.now.Add(8 * 24 * time.Hour)
	if _, err := w.service.CheckConfirm(t.Context(), tok); !errors.Is(err, newsletter.ErrToken) {
		t.Errorf("checking an 8-day-old confirmation = %v, want ErrToken", err)
	}
	if _, err := w.service.Confirm(t.Context(), tok); !errors.Is(err, newsletter.ErrToken) {
		t.Errorf("an 8-day-old confirmation = %v, want ErrToken", err)
	}
}

// subscribe adds a confirmed subscriber straight through the service.
func (w *world) subscribe(t *testing.T, address, lang string, warnings bool) newsletter.Subscriber {
	t.Helper()
	before := len(w.outbox(t))
	if err := w.service.Subscribe(t.Context(), address, lang, warnings); err != nil {
		t.Fatal(err)
	}
	msgs := w.outbox(t)
	if len(msgs) != before+1 {
		t.Fatalf("no confirmation for %s", address)
	}
	sub, err := w.service.Confirm(t.Context(), token(t, parseMail(t, msgs[len(msgs)-1].Body).text, "confirm"))
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func published(id int64, kind publication.Kind, texts ...publication.Text) publication.Publication {
	return publication.Publication{ID: id, Ident: "VIGIL-2026-00" + string(rune('0'+id)), Kind: kind, Status: publication.StatusPublished, Revision: 1,
		Content: publication.Content{Severity: "high", TLP: publication.TLPClear, Texts: texts}}
}

func TestIssueMails(t *testing.T) {
	w := newWorld(t)
	relay := newTestRelay(t)
	subs := map[string]newsletter.Subscriber{}
	for _, s := range []struct {
		addr, lang string
		warnings   bool
	}{{"en@example.org", "en", true}, {"nl@example.org", "nl", false}, {"fr@example.org", "fr", true}} {
		subs[s.addr] = w.subscribe(t, s.addr, s.lang, s.warnings)
	}
	ch := &newsletter.Channel{Store: w.store}
	digest := published(1, publication.KindDigest,
		publication.Text{Lang: "en", Title: "Weekly digest", Summary: "Three advisories", Body: "First paragraph.\n\nSecond <b>paragraph</b> <script>alert(1)</script> [a link](javascript:alert(2))."},
		publication.Text{Lang: "nl", Title: "Weekoverzicht", Summary: "Drie adviezen", Body: "Eerste alinea."})
	reply, err := ch.Send(t.Context(), digest, publication.Delivery{Channel: newsletter.ChannelName, Revision: 1})
	if err != nil || reply != i18n.M("newsletter.reply.queued", reply.Args()[0], 3) || i18n.Embedded().Stored("nl", reply.Encode()) != fmt.Sprintf("Editie %d in de wachtrij gezet (mails: 3).", reply.Args()[0]) {
		t.Fatalf("Send = %q, %v", reply, err)
	}
	mailer := &newsletter.Mailer{Store: w.store, Mails: w.service.Mails, Relay: relay.sender(t)}
	if err := mailer.SendDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]string{"en@example.org": "Weekly digest", "nl@example.org": "Weekoverzicht", "fr@example.org": "Weekly digest"} {
		got := relay.received(addr)
		if len(got) != 1 {
			t.Fatalf("%s received %d mails, want 1", addr, len(got))
		}
		m := parseMail(t, got[0])
		if subject, _ := m.header.Subject(); subject != want {
			t.Errorf("%s: subject %q, want %q", addr, subject, want)
		}
		unsubscribe := m.header.Get("List-Unsubscribe")
		wantLink := "<" + w.service.Mails.UnsubscribeURL(subs[addr].ID) + ">"
		if unsubscribe != wantLink || m.header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
			t.Errorf("%s: List-Unsubscribe %q (want %q), List-Unsubscribe-Post %q", addr, unsubscribe, wantLink, m.header.Get("List-Unsubscribe-Post"))
		}
		tok := token(t, m.text, "unsubscribe")
		if token(t, m.html, "unsubscribe") != tok || !strings.Contains(unsubscribe, url.QueryEscape(tok)) {
			t.Errorf("%s: the visible links differ from the header", addr)
		}
		if id, err := newsletter.CheckUnsubscribeToken(w.service.Mails.Secret, tok); err != nil || id != subs[addr].ID {
			t.Errorf("%s: the unsubscribe token is for %d (%v)", addr, id, err)
		}
		if !strings.Contains(m.text, "https://www.cert.example/") || strings.Contains(m.html, "<b>paragraph") || strings.Contains(m.html, "<script") ||
			strings.Contains(m.html, "javascript:") || !strings.Contains(m.html, "<p>First paragraph.</p>") && addr != "nl@example.org" {
			t.Errorf("%s: no link to the publication, or the body's Markdown was not rendered inert:\n%s", addr, m.html)
		}
	}
	if !strings.Contains(parseMail(t, relay.received("nl@example.org")[0]).text, "Uitschrijven") {
		t.Error("the Dutch mail's footer is not Dutch")
	}

	warning := published(2, publication.KindWarning, publication.Text{Lang: "en", Title: "Exploited now"})
	if _, err := ch.Send(t.Context(), warning, publication.Delivery{Revision: 1}); err != nil {
		t.Fatal(err)
	}
	if again, err := ch.Send(t.Context(), warning, publication.Delivery{Revision: 1}); err != nil || again.ID != "newsletter.reply.queuedbefore" || again.Args()[1] != 2 {
		t.Fatalf("Send again = %q, %v; want the issue queued before, of 2 mails", again, err)
	}
	if err := mailer.SendDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(relay.received("en@example.org")) != 2 || len(relay.received("fr@example.org")) != 2 || len(relay.received("nl@example.org")) != 1 {
		t.Errorf("the warning (sent twice to the channel) reached en %d, fr %d, nl %d; want once to those who want warnings",
			len(relay.received("en@example.org"))-1, len(relay.received("fr@example.org"))-1, len(relay.received("nl@example.org"))-1)
	}
	if m := parseMail(t, relay.received("en@example.org")[1]); m.header.Get("Subject") != "Warning: Exploited now" {
		t.Errorf("warning subject %q", m.header.Get("Subject"))
	}
}

func TestMailerOutcomes(t *testing.T) {
	w := newWorld(t)
	relay := newTestRelay(t)
	for _, a := range []string{"ok@example.org", "gone@example.org", "busy@example.org"} {
		w.subscribe(t, a, "en", false)
	}
	relay.setRefuse("gone@example.org", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"})
	relay.setRefuse("busy@example.org", &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 2, 0}, Message: "try later"})
	if _, err := (&newsletter.Channel{Store: w.store}).Send(t.Context(), published(3, publication.KindDigest, publication.Text{Lang: "en", Title: "D"}),
		publication.Delivery{Revision: 1}); err != nil {
		t.Fatal(err)
	}
	clock := time.Now().UTC()
	mailer := &newsletter.Mailer{Store: w.store, Mails: w.service.Mails, Relay: relay.sender(t), Now: func() time.Time { return clock }}
	if err := mailer.SendDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	counts := func() map[string]int {
		p, err := w.store.ListProgress(t.Context(), 1)
		if err != nil {
			t.Fatal(err)
		}
		return p[0].Counts
	}
	if c := counts(); c[newsletter.SendSent] != 1 || c[newsletter.SendFailed] != 1 || c[newsletter.SendQueued] != 1 {
		t.Errorf("after the first pass: %v; want one sent, one failed (550), one queued again (451)", c)
	}
	relay.setRefuse("busy@example.org", nil)
	if err := mailer.SendDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(relay.received("busy@example.org")) != 0 {
		t.Error("the deferred mail was sent again before its backoff")
	}
	clock = clock.Add(2 * time.Minute)
	if err := mailer.SendDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	if c := counts(); c[newsletter.SendSent] != 2 || len(relay.received("busy@example.org")) != 1 || len(relay.received("gone@example.org")) != 0 {
		t.Errorf("after the backoff: %v", c)
	}
}

// TestInFlightIsNeverResent: a send claimed and not finished (a process
// killed during its SMTP transaction) is marked unknown when the mailer
// starts, and not sent.
func TestInFlightIsNeverResent(t *testing.T) {
	w := newWorld(t)
	relay := newTestRelay(t)
	w.subscribe(t, "a@example.org", "en", false)
	w.subscribe(t, "b@example.org", "en", false)
	if _, err := (&newsletter.Channel{Store: w.store}).Send(t.Context(), published(4, publication.KindDigest, publication.Text{Lang: "en", Title: "D"}),
		publication.Delivery{Revision: 1}); err != nil {
		t.Fatal(err)
	}
	inFlight, ok, err := w.store.ClaimSend(t.Context(), time.Now().Add(time.Minute))
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	mailer := &newsletter.Mailer{Store: w.store, Mails: w.service.Mails, Relay: relay.sender(t), Poll: 10 * time.Millisecond}
	done := make(chan error)
	go func() { done <- mailer.Run(ctx) }()
	for relay.total() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if relay.total() != 1 || len(relay.received(inFlight.Address)) != 0 {
		t.Errorf("the relay got %d mails, %d to the one in flight; want 1 and 0", relay.total(), len(relay.received(inFlight.Address)))
	}
	p, _ := w.store.ListProgress(t.Context(), 1)
	if p[0].Counts[newsletter.SendUnknown] != 1 || p[0].Counts[newsletter.SendSent] != 1 {
		t.Errorf("counts %v; want one unknown, one sent", p[0].Counts)
	}
}

// flakyAbandon is a store whose first marking of the sends in flight
// fails, as a database in trouble at a lease takeover would.
type flakyAbandon struct {
	newsletter.Store
	failures atomic.Int32
}

func (f *flakyAbandon) AbandonInFlight(ctx context.Context, now time.Time) (int, error) {
	if f.failures.Add(1) == 1 {
		return 0, errors.New("database in trouble")
	}
	return f.Store.AbandonInFlight(ctx, now)
}

// TestMailerOutlivesAFailedStart: a failure to mark the sends in flight
// is logged and tried again; the mailer does not stop (which would stop
// `vigil serve` with it), and sends once it succeeds.
func TestMailerOutlivesAFailedStart(t *testing.T) {
	w := newWorld(t)
	relay := newTestRelay(t)
	w.subscribe(t, "en@example.org", "en", true)
	ch := &newsletter.Channel{Store: w.store}
	digest := published(1, publication.KindDigest, publication.Text{Lang: "en", Title: "Weekly digest"})
	if _, err := ch.Send(t.Context(), digest, publication.Delivery{Channel: newsletter.ChannelName, Revision: 1}); err != nil {
		t.Fatal(err)
	}
	store := &flakyAbandon{Store: w.store}
	mailer := &newsletter.Mailer{Store: store, Mails: w.service.Mails, Relay: relay.sender(t), Poll: 10 * time.Millisecond}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- mailer.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for len(relay.received("en@example.org")) == 0 && time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("the mailer stopped: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	if n := len(relay.received("en@example.org")); n != 1 || store.failures.Load() < 2 {
		t.Errorf("%d mails after %d tries to mark the sends in flight, want 1 after 2 or more", n, store.failures.Load())
	}
}

// readerOf answers GetPublication with p as it is now.
type readerOf struct{ p publication.Publication }

func (r readerOf) GetPublication(context.Context, int64) (publication.Publication, error) {
	return r.p, nil
}

// countedClaims counts the sends a store's ClaimSend hands out.
type countedClaims struct {
	newsletter.Store
	claims int
}

func (c *countedClaims) ClaimSend(ctx context.Context, now time.Time) (newsletter.Send, bool, error) {
	s, ok, err := c.Store.ClaimSend(ctx, now)
	if ok {
		c.claims++
	}
	return s, ok, err
}

// TestWithdrawnIssueStops: the mails of a warning that was withdrawn,
// raised to TLP:AMBER or updated while its issue waits are not sent, and
// are marked skipped all at once at the first of them the mailer takes;
// an update's own issue is still sent.
func TestWithdrawnIssueStops(t *testing.T) {
	for name, change := range map[string]func(*publication.Publication){
		"withdrawn": func(p *publication.Publication) { p.Status = publication.StatusWithdrawn },
		"amber":     func(p *publication.Publication) { p.TLP = publication.TLPAmber },
		"updated":   func(p *publication.Publication) { p.Revision = 2 },
		"unchanged": func(*publication.Publication) {},
	} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			relay := newTestRelay(t)
			w.subscribe(t, "en@example.org", "en", true)
			w.subscribe(t, "nl@example.org", "nl", true)
			warning := published(1, publication.KindWarning, publication.Text{Lang: "en", Title: "Exploited now"})
			if _, err := (&newsletter.Channel{Store: w.store}).Send(t.Context(), warning, publication.Delivery{Revision: 1}); err != nil {
				t.Fatal(err)
			}
			now := warning
			change(&now)
			counted := &countedClaims{Store: w.store}
			mailer := &newsletter.Mailer{Store: counted, Mails: w.service.Mails, Relay: relay.sender(t), Publications: readerOf{now}}
			if err := mailer.SendDue(t.Context()); err != nil {
				t.Fatal(err)
			}
			got := len(relay.received("en@example.org")) + len(relay.received("nl@example.org"))
			if want := map[bool]int{true: 2, false: 0}[name == "unchanged"]; got != want {
				t.Errorf("%d mails sent, want %d", got, want)
			}
			p, err := w.store.ListProgress(t.Context(), 1)
			if err != nil {
				t.Fatal(err)
			}
			if name != "unchanged" && (p[0].Counts[newsletter.SendSkipped] != 2 || counted.claims != 1) {
				t.Errorf("counts %v after %d claims; want both sends skipped after the first claim", p[0].Counts, counted.claims)
			}
		})
	}
	t.Run("the update's own issue", func(t *testing.T) {
		w := newWorld(t)
		relay := newTestRelay(t)
		w.subscribe(t, "en@example.org", "en", true)
		w.subscribe(t, "nl@example.org", "nl", true)
		ch := &newsletter.Channel{Store: w.store}
		warning := published(1, publication.KindWarning, publication.Text{Lang: "en", Title: "Exploited now"})
		if _, err := ch.Send(t.Context(), warning, publication.Delivery{Revision: 1}); err != nil {
			t.Fatal(err)
		}
		warning.Revision = 2
		if _, err := ch.Send(t.Context(), warning, publication.Delivery{Revision: 2}); err != nil {
			t.Fatal(err)
		}
		mailer := &newsletter.Mailer{Store: w.store, Mails: w.service.Mails, Relay: relay.sender(t), Publications: readerOf{warning}}
		if err := mailer.SendDue(t.Context()); err != nil {
			t.Fatal(err)
		}
		p, err := w.store.ListProgress(t.Context(), 2)
		if err != nil {
			t.Fatal(err)
		}
		if relay.total() != 2 || p[0].Revision != 2 || p[0].Counts[newsletter.SendSent] != 2 || p[1].Counts[newsletter.SendSkipped] != 2 {
			t.Errorf("%d mails; issues %+v; want revision 2 sent to both, revision 1 skipped", relay.total(), p)
		}
	})
	// The mailer read revision 1 a moment ago; the update is published
	// and its issue queued within the time that read is trusted. The
	// update's mails still go: a stale read never skips them.
	t.Run("an update within the trusted time", func(t *testing.T) {
		w := newWorld(t)
		relay := newTestRelay(t)
		w.subscribe(t, "en@example.org", "en", true)
		w.subscribe(t, "nl@example.org", "nl", true)
		ch := &newsletter.Channel{Store: w.store}
		warning := published(1, publication.KindWarning, publication.Text{Lang: "en", Title: "Exploited now"})
		if _, err := ch.Send(t.Context(), warning, publication.Delivery{Revision: 1}); err != nil {
			t.Fatal(err)
		}
		reader := &readerPtr{p: warning}
		mailer := &newsletter.Mailer{Store: w.store, Mails: w.service.Mails, Relay: relay.sender(t), Publications: reader}
		if err := mailer.SendDue(t.Context()); err != nil || relay.total() != 2 {
			t.Fatalf("revision 1: %d mails, %v", relay.total(), err)
		}
		warning.Revision = 2
		reader.p = warning
		if _, err := ch.Send(t.Context(), warning, publication.Delivery{Revision: 2}); err != nil {
			t.Fatal(err)
		}
		if err := mailer.SendDue(t.Context()); err != nil {
			t.Fatal(err)
		}
		p, err := w.store.ListProgress(t.Context(), 2)
		if err != nil {
			t.Fatal(err)
		}
		if relay.total() != 4 || p[0].Revision != 2 || p[0].Counts[newsletter.SendSent] != 2 {
			t.Errorf("%d mails; issues %+v; want revision 2 sent to both", relay.total(), p)
		}
	})
}

// readerPtr is a publication reader whose answer the test changes.
type readerPtr struct{ p publication.Publication }

func (r *readerPtr) GetPublication(context.Context, int64) (publication.Publication, error) {
	return r.p, nil
}
