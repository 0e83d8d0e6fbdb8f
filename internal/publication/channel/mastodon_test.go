package channel

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
)

// clock is a test's time, moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newWorker is a worker over m serving senders, on clock c, without
// jitter, trying three times from a one-minute backoff.
func newWorker(t *testing.T, m *memory, c *clock, senders ...Sender) *Worker {
	t.Helper()
	reg := &Registry{}
	for _, s := range senders {
		if err := reg.Register(s); err != nil {
			t.Fatal(err)
		}
	}
	return &Worker{Deliveries: m, Publications: m, Registry: reg, Now: c.now,
		Retry:  Retry{Attempts: 3, Backoff: time.Minute, MaxBackoff: time.Hour},
		Jitter: func(time.Duration) time.Duration { return 0 }}
}

// request is what a test server received.
type request struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// recorder is a test server that keeps what arrived and answers with
// the next of its scripted answers (the last one again when they run
// out).
type recorder struct {
	mu       sync.Mutex
	requests []request
	answers  []func(w http.ResponseWriter)
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	n := len(r.requests)
	r.requests = append(r.requests, request{req.Method, req.URL.Path, req.Header.Clone(), body})
	answer := r.answers[min(n, len(r.answers)-1)]
	r.mu.Unlock()
	answer(w)
}

func (r *recorder) got() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.requests...)
}

func answer(status int, header map[string]string, body string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

var posted = answer(200, nil, `{"id":"1101","url":"https://social.example/@cert/1101","uri":"https://social.example/users/cert/statuses/1101"}`)

func TestMastodonPosts(t *testing.T) {
	rec := &recorder{answers: []func(http.ResponseWriter){posted}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	m := newMemory()
	m.add(advisory(42))
	c := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	id := m.queue(42, MastodonChannel, "nl", c.now())
	w := newWorker(t, m, c, &Mastodon{Instance: srv.URL + "/", Token: "s3cr3t-token", SiteURL: "https://cert.example", Client: srv.Client()})
	counts, err := w.RunOnce(t.Context())
	if err != nil || counts.Sent != 1 {
		t.Fatalf("RunOnce = %+v, %v", counts, err)
	}
	d := m.get(id)
	if d.Status != publication.DeliverySent || d.Reply != i18n.M("channel.reply.posted", "https://social.example/@cert/1101").Encode() || d.Attempts != 1 || d.Done.IsZero() {
		t.Errorf("delivery %+v", d)
	}
	reqs := rec.got()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/api/v1/statuses" {
		t.Errorf("%s %s", r.Method, r.Path)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer s3cr3t-token" {
		t.Errorf("Authorization %q", got)
	}
	if got := r.Header.Get("Idempotency-Key"); got != "vigil-VIGIL-2026-0042-r1-mastodon-nl-1" {
		t.Errorf("Idempotency-Key %q", got)
	}
	var status map[string]string
	if err := json.Unmarshal(r.Body, &status); err != nil {
		t.Fatalf("body %s: %v", r.Body, err)
	}
	if status["language"] != "nl" || status["visibility"] != "public" || utf8.RuneCountInString(status["status"]) > 500 ||
		!strings.HasPrefix(status["status"], "Beveiligingsadvies · Kritiek: Kritieke kwetsbaarheid in Ünïcode\n") ||
		!strings.HasSuffix(status["status"], "https://cert.example/nl/p/VIGIL-2026-0042") {
		t.Errorf("status %q", status)
	}
}

// TestRetries: a 500 and a 429 are tried again, after the backoff and
// after Retry-After, with the same idempotency key, then the post goes
// out; the channel waits meanwhile.
func TestRetries(t *testing.T) {
	rec := &recorder{answers: []func(http.ResponseWriter){
		answer(502, nil, `<html>bad gateway</html>`),
		answer(429, map[string]string{"Retry-After": "600"}, `{"error":"Too many requests"}`),
		posted,
	}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	m := newMemory()
	m.add(advisory(1))
	c := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	first := m.queue(1, MastodonChannel, "en", c.now())
	second := m.queue(1, MastodonChannel, "fr", c.now())
	w := newWorker(t, m, c, &Mastodon{Instance: srv.URL, Token: "t", SiteURL: "https://cert.example", Client: srv.Client()})

	counts, err := w.RunOnce(t.Context())
	if err != nil || counts.Retried != 1 || counts.Sent != 0 {
		t.Fatalf("first pass %+v, %v", counts, err)
	}
	d := m.get(first)
	if d.Status != publication.DeliveryQueued || d.Attempts != 1 || !d.NextAttempt.Equal(c.now().Add(time.Minute)) || !hasProblem(t, d, "channel.error.statusonly", "The server answered 502.") {
		t.Errorf("after the 502: %+v", d)
	}
	if len(rec.got()) != 1 || m.get(second).Attempts != 0 {
		t.Errorf("the channel was tried again in the same pass: %d requests", len(rec.got()))
	}
	// Nothing is due before the backoff.
	c.add(30 * time.Second)
	if counts, _ := w.RunOnce(t.Context()); counts != (Counts{}) || len(rec.got()) != 1 {
		t.Errorf("a pass before the next attempt did %+v", counts)
	}
	c.add(30 * time.Second)
	if counts, err = w.RunOnce(t.Context()); err != nil || counts.Retried != 1 {
		t.Fatalf("second pass %+v, %v", counts, err)
	}
	d = m.get(first)
	if d.Attempts != 2 || !d.NextAttempt.Equal(c.now().Add(10*time.Minute)) || !hasProblem(t, d, "channel.error.status", "The server answered 429: Too many requests") {
		t.Errorf("after the 429 (Retry-After 600 beats the 2m backoff): %+v", d)
	}
	c.add(10 * time.Minute)
	if counts, err = w.RunOnce(t.Context()); err != nil || counts.Sent != 2 {
		t.Fatalf("third pass %+v, %v", counts, err)
	}
	if d = m.get(first); d.Status != publication.DeliverySent || d.Attempts != 3 || d.LastError != "" {
		t.Errorf("finally: %+v", d)
	}
	keys := map[string]int{}
	for _, r := range rec.got() {
		keys[r.Header.Get("Idempotency-Key")]++
	}
	if len(rec.got()) != 4 || keys["vigil-VIGIL-2026-0001-r1-mastodon-en-1"] != 3 || keys["vigil-VIGIL-2026-0001-r1-mastodon-fr-2"] != 1 {
		t.Errorf("idempotency keys %v", keys)
	}
}

// TestPermanentFailure: a 400 is not tried again, and a token the
// server echoes does not reach the delivery's error.
func TestPermanentFailure(t *testing.T) {
	rec := &recorder{answers: []func(http.ResponseWriter){answer(422, nil, `{"error":"Validation failed: Text character limit of 500 exceeded"}`)}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	m := newMemory()
	m.add(advisory(1))
	c := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	id := m.queue(1, MastodonChannel, "en", c.now())
	w := newWorker(t, m, c, &Mastodon{Instance: srv.URL, Token: "tok-XYZ", SiteURL: "https://cert.example", Client: srv.Client()})
	if counts, err := w.RunOnce(t.Context()); err != nil || counts.Failed != 1 {
		t.Fatalf("RunOnce %+v, %v", counts, err)
	}
	d := m.get(id)
	if d.Status != publication.DeliveryFailed || d.Attempts != 1 || !hasProblem(t, d, "channel.error.status", "The server answered 422: Validation failed: Text character limit of 500 exceeded") {
		t.Errorf("delivery %+v", d)
	}
	c.add(24 * time.Hour)
	w.RunOnce(t.Context())
	if len(rec.got()) != 1 {
		t.Errorf("a failed delivery was tried again")
	}
}

// TestGiveUp: retryable failures end in failed after the configured
// attempts, the error saying so.
func TestGiveUp(t *testing.T) {
	rec := &recorder{answers: []func(http.ResponseWriter){answer(503, nil, `{"error":"maintenance"}`)}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	m := newMemory()
	m.add(advisory(1))
	c := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	id := m.queue(1, MastodonChannel, "en", c.now())
	w := newWorker(t, m, c, &Mastodon{Instance: srv.URL, Token: "t", Client: srv.Client()})
	var waits []time.Duration
	for range 5 {
		before := c.now()
		w.RunOnce(t.Context())
		if d := m.get(id); d.Status == publication.DeliveryQueued {
			waits = append(waits, d.NextAttempt.Sub(before))
		}
		c.add(2 * time.Hour)
	}
	d := m.get(id)
	if d.Status != publication.DeliveryFailed || d.Attempts != 3 || !hasProblem(t, d, "channel.error.gaveup", "Gave up after attempt 3: The server answered 503: maintenance") {
		t.Errorf("delivery %+v", d)
	}
	if len(waits) != 2 || waits[0] != time.Minute || waits[1] != 2*time.Minute {
		t.Errorf("waits %v, want 1m then 2m", waits)
	}
	if len(rec.got()) != 3 {
		t.Errorf("%d requests, want 3", len(rec.got()))
	}
}
