package channel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/lease"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// counting is a sender that counts what it is asked to send.
type counting struct {
	name string
	mu   sync.Mutex
	sent []publication.Publication
	err  error
}

func (c *counting) Name() string { return c.name }
func (c *counting) Send(_ context.Context, p publication.Publication, d publication.Delivery) (i18n.Message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, p)
	return i18n.M("channel.reply.posted", fmt.Sprintf("post-%d", d.ID)), c.err
}

// TestOnlyPublicIsSent: of publications of every TLP and every status,
// with and without a pending next revision, exactly those Public allows
// reach a sender, real or not; the others are marked skipped.
func TestOnlyPublicIsSent(t *testing.T) {
	rec := &recorder{answers: []func(http.ResponseWriter){posted}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	fake := &counting{name: "fake"}
	senders := []Sender{fake,
		&Mastodon{Instance: srv.URL, Token: "t", SiteURL: "https://cert.example", Client: srv.Client()},
		&Webhook{Hook: "h", URL: srv.URL, Secret: []byte("s"), SiteURL: "https://cert.example", Client: srv.Client()}}
	m := newMemory()
	c := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	w := newWorker(t, m, c, senders...)
	var id int64
	public := map[int64]bool{}
	for _, tlp := range append(publication.TLPs, "") {
		for _, status := range publication.Statuses {
			for _, kind := range publication.Kinds {
				for _, next := range []bool{false, true} {
					id++
					p := advisory(id)
					p.TLP, p.Status, p.Kind = tlp, status, kind
					if next {
						// A pending revision's content is never what goes out.
						p.Next = &publication.Next{Content: p.Content, Status: publication.StatusReview}
						p.Next.TLP = publication.TLPClear
					}
					m.add(p)
					public[id] = p.Public()
					for _, s := range senders {
						m.queue(id, s.Name(), "en", c.now())
					}
				}
			}
		}
	}
	w.Batch = 1000
	counts, err := w.RunOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	wantSent := 0
	for _, p := range public {
		if p {
			wantSent++
		}
	}
	if wantSent != 2*len(publication.Kinds) || counts.Sent != 3*wantSent || counts.Skipped != 3*(len(public)-wantSent) {
		t.Errorf("counts %+v, want %d sent of each sender", counts, wantSent)
	}
	for _, p := range fake.sent {
		if !p.Public() || p.TLP != publication.TLPClear {
			t.Errorf("%s (TLP %s, %s) reached a sender", p.Ident, p.TLP, p.Status)
		}
	}
	if len(rec.got()) != 2*wantSent {
		t.Errorf("the servers got %d requests, want %d", len(rec.got()), 2*wantSent)
	}
	for _, d := range m.deliveries {
		if public[d.PublicationID] != (d.Status == publication.DeliverySent) {
			t.Errorf("delivery %d of publication %d (public %v): %s", d.ID, d.PublicationID, public[d.PublicationID], d.Status)
		}
		if id, _ := problem(t, d); !public[d.PublicationID] && id != "channel.reason.notpublic" {
			t.Errorf("skipped delivery %d: LastError %q", d.ID, d.LastError)
		}
	}
}

func TestSkipReasons(t *testing.T) {
	m := newMemory()
	c := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	p := advisory(1)
	m.add(p)
	old := m.queue(1, "fake", "en", c.now())
	p.Revision = 2
	m.add(p)
	noText := m.queue(1, "fake", "de", c.now())
	gone := m.queue(99, "fake", "en", c.now())
	all := m.queue(1, "fake", "", c.now())
	fake := &counting{name: "fake"}
	w := newWorker(t, m, c, fake)
	if _, err := w.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int64][2]string{old: {"skipped", "channel.reason.superseded"}, noText: {"skipped", "channel.reason.notext"},
		gone: {"failed", "channel.reason.notfound"}, all: {"sent", ""}} {
		if d := m.get(id); d.Status != want[0] || first(problem(t, d)) != want[1] {
			t.Errorf("delivery %d: %s %q, want %s %q", id, d.Status, d.LastError, want[0], want[1])
		}
	}
	if len(fake.sent) != 1 {
		t.Errorf("%d sent", len(fake.sent))
	}
}

// TestSentButNotRecorded: a post that went out but could not be recorded
// is recorded before the next pass sends anything, and not sent again.
func TestSentButNotRecorded(t *testing.T) {
	m := newMemory()
	c := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	m.add(advisory(1))
	id := m.queue(1, "fake", "en", c.now())
	fake := &counting{name: "fake"}
	w := newWorker(t, m, c, fake)
	m.failFinish = true
	if _, err := w.RunOnce(t.Context()); err == nil {
		t.Fatal("no error when the store fails")
	}
	m.failFinish = false
	if _, err := w.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d := m.get(id); d.Status != publication.DeliverySent || d.Reply != i18n.M("channel.reply.posted", "post-1").Encode() || len(fake.sent) != 1 {
		t.Errorf("delivery %+v after %d sends", d, len(fake.sent))
	}
}

// TestBackoffJitter: the wait doubles up to the maximum, less at most
// half of it at random.
func TestBackoffJitter(t *testing.T) {
	w := &Worker{Retry: Retry{Attempts: 10, Backoff: time.Minute, MaxBackoff: 10 * time.Minute}}
	w.init()
	for attempts, full := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 4: 8 * time.Minute, 5: 10 * time.Minute, 9: 10 * time.Minute} {
		for range 100 {
			if d := w.backoff(attempts); d < full/2 || d > full {
				t.Fatalf("backoff(%d) = %v, want %v to %v", attempts, d, full/2, full)
			}
		}
	}
}

func TestRegistry(t *testing.T) {
	var r Registry
	if err := r.Register(&counting{name: "newsletter"}); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(&counting{name: "newsletter"}); err == nil {
		t.Error("a channel registered twice")
	}
	if s, ok := r.Lookup("newsletter"); !ok || s.Name() != "newsletter" || len(r.Senders()) != 1 {
		t.Error("Lookup")
	}
}

// TestTwoProcessesPostOnce: two workers on one outbox, each under the
// lease as `vigil serve` runs them, the first stopped halfway: every
// delivery is posted once.
func TestTwoProcessesPostOnce(t *testing.T) {
	st, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "vigil.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	var posts atomic.Int32
	keys := sync.Map{}
	var dup atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, seen := keys.LoadOrStore(r.Header.Get("Idempotency-Key"), true); seen {
			dup.Add(1)
		}
		posts.Add(1)
		time.Sleep(2 * time.Millisecond) // a slow server: the passes overlap
		io.WriteString(w, `{"id":"1","url":"https://social.example/1"}`)
	}))
	defer srv.Close()
	m := newMemory()
	m.add(advisory(1))
	const n = 60
	for i := range n {
		m.queue(1, MastodonChannel, []string{"en", "nl", "fr"}[i%3], time.Now())
	}
	quiet := slog.New(slog.DiscardHandler)
	process := func(name string) (stop func()) {
		w := &Worker{Deliveries: m, Publications: m, Registry: &Registry{}, Poll: 10 * time.Millisecond, Batch: 5, Log: quiet}
		w.Registry.Register(&Mastodon{Instance: srv.URL, Token: "t", SiteURL: "https://cert.example", Client: srv.Client()})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			done <- lease.Hold(ctx, st, "publication-outbox", lease.Options{Holder: name, TTL: testLeaseTTL, Logger: quiet}, w.Run)
		}()
		return func() {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
	stopA := process("a")
	stopB := process("b")
	defer stopB()
	waitFor(t, "a quarter posted", func() bool { return posts.Load() >= n/4 })
	stopA()
	waitFor(t, "all posted", func() bool {
		ds, _ := m.ListDeliveries(t.Context(), 1)
		for _, d := range ds {
			if d.Status != publication.DeliverySent {
				return false
			}
		}
		return true
	})
	if posts.Load() != n || dup.Load() != 0 {
		t.Errorf("%d posts, %d twice; want %d, 0", posts.Load(), dup.Load(), n)
	}
}

// testLeaseTTL is the outbox lease's time to live in the tests of two
// processes. The waiting process tries every third of it, so it takes
// over within 3.3 s of the other one stopping; the holder renews it as
// often, so it loses the lease only when its renewals are held back for
// 6.7 s. With 300 ms, a loaded machine (the race detector at load
// 30–35) held them back for longer: the lease passed while its holder
// ran, which then posted what it had begun a second time, or, being the
// process left once the test stopped the other, stopped its job for
// good as a process that lost its lease does (nothing more posted).
const testLeaseTTL = 10 * time.Second

// waitFor waits until cond holds, failing t after two minutes: long
// enough for a loaded machine, and still a failure rather than a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestOneBadDeliveryDoesNotHoldUpTheChannel: a delivery the server keeps
// refusing with 500 backs off longer and longer, while the channel's
// other deliveries go out after the first backoff.
func TestOneBadDeliveryDoesNotHoldUpTheChannel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.Header.Get("Idempotency-Key"), "-1") {
			w.WriteHeader(500)
			return
		}
		io.WriteString(w, `{"id":"1"}`)
	}))
	defer srv.Close()
	m := newMemory()
	m.add(advisory(1))
	c := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	bad := m.queue(1, MastodonChannel, "en", c.now())
	w := newWorker(t, m, c, &Mastodon{Instance: srv.URL, Token: "t", SiteURL: "https://cert.example", Client: srv.Client()})
	w.Retry.Attempts = 10
	for i := range 4 {
		if i > 0 {
			c.t = m.get(bad).NextAttempt
		}
		w.RunOnce(t.Context())
	}
	if d := m.get(bad); d.Attempts != 4 || d.NextAttempt.Sub(c.now()) != 8*time.Minute {
		t.Fatalf("the bad delivery: %+v", d)
	}
	good := m.queue(1, MastodonChannel, "nl", c.now())
	c.add(time.Minute)
	w.RunOnce(t.Context()) // the bad one is not due; the good one goes
	if d := m.get(good); d.Status != publication.DeliverySent {
		t.Errorf("the good delivery waits behind the bad one: %+v", d)
	}
}

// accepting is a counting sender that takes what its rule says, as the
// constituents channel takes TLP:GREEN and AMBER advisories.
type accepting struct {
	counting
	rule func(*publication.Publication) bool
}

func (a *accepting) Accepts(p *publication.Publication) bool { return a.rule(p) }

// TestAccepterTakesWhatItSays: a sender that says which publications it
// takes gets a published TLP:AMBER advisory (which no public channel
// would), and still not a RED one or a draft; the other senders still
// take only what is public.
func TestAccepterTakesWhatItSays(t *testing.T) {
	constituents := &accepting{counting: counting{name: "constituents"}, rule: func(p *publication.Publication) bool {
		return p.Status == publication.StatusPublished && p.TLP != publication.TLPRed
	}}
	social := &counting{name: "social"}
	m := newMemory()
	c := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	w := newWorker(t, m, c, constituents, social)
	for id, tc := range []struct {
		tlp    publication.TLP
		status publication.Status
	}{{publication.TLPAmber, publication.StatusPublished}, {publication.TLPRed, publication.StatusPublished}, {publication.TLPAmber, publication.StatusDraft}} {
		p := advisory(int64(id + 1))
		p.TLP, p.Status = tc.tlp, tc.status
		m.add(p)
		m.queue(p.ID, "constituents", "", c.now())
		m.queue(p.ID, "social", "en", c.now())
	}
	if _, err := w.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(constituents.sent) != 1 || constituents.sent[0].TLP != publication.TLPAmber || constituents.sent[0].Status != publication.StatusPublished {
		t.Errorf("the constituents channel got %d publications, want the published AMBER one", len(constituents.sent))
	}
	if len(social.sent) != 0 {
		t.Errorf("a public channel got %d non-public publications", len(social.sent))
	}
}
