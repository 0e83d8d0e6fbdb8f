package output

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// receiver is a webhook endpoint that answers from a script of status codes
// (0 drops the connection) and then 204, keeping what it was sent.
type receiver struct {
	mu       sync.Mutex
	script   []int
	requests []received
}

type received struct {
	contentType, idempotencyKey, token string
	body                               string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.requests = append(r.requests, received{
		contentType:    req.Header.Get("Content-Type"),
		idempotencyKey: req.Header.Get("Idempotency-Key"),
		token:          req.Header.Get("X-Api-Key"),
		body:           string(body),
	})
	status := http.StatusNoContent
	if len(r.script) > 0 {
		status, r.script = r.script[0], r.script[1:]
	}
	r.mu.Unlock()
	switch status {
	case 0:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	case http.StatusFound:
		http.Redirect(w, req, "/elsewhere", status)
	default:
		if status >= 400 {
			http.Error(w, "rejected: "+http.StatusText(status), status)
			return
		}
		w.WriteHeader(status)
	}
}

func (r *receiver) got() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.requests...)
}

func startReceiver(t *testing.T, script ...int) (*receiver, string) {
	r := &receiver{script: script}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv.URL + "/hook"
}

func newTestWebhook(t *testing.T, opts pipeline.Options) *Webhook {
	t.Helper()
	if _, ok := opts["backoff"]; !ok {
		opts["backoff"] = "1ms"
	}
	o, err := pipeline.NewOutput("webhook", pipeline.Env{Logger: testLogger(t), HTTP: &http.Client{}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return o.(*Webhook)
}

// webhookSteps is what the subtests of TestWebhook share.
type webhookSteps struct {
	ctx    context.Context
	events []*event.Event
	batch  *pipeline.Batch
}

func TestWebhook(t *testing.T) {
	ctx := context.Background()
	events := testEvents(t, 3)
	batch := &pipeline.Batch{Feed: "shadowserver-scan-rdp", Events: events}

	s := &webhookSteps{ctx: ctx, events: events, batch: batch}
	t.Run("retries server errors then succeeds", s.retriesServerErrorsThenSucceeds)
	t.Run("retries a dropped connection", s.retriesDroppedConnection)
	t.Run("client error is permanent", s.clientErrorIsPermanent)
	t.Run("redirect is permanent", s.redirectIsPermanent)
	t.Run("gives up after the retries", s.givesUpAfterRetries)
	t.Run("json array format", s.jsonArrayFormat)
	t.Run("cancellation stops the retries", s.cancellationStopsRetries)
	t.Run("empty batch posts nothing", s.emptyBatchPostsNothing)
	t.Run("refuses bad options", s.refusesBadOptions)
}

// retriesServerErrorsThenSucceeds is the subtest "retries server errors then succeeds" of TestWebhook.
func (s *webhookSteps) retriesServerErrorsThenSucceeds(t *testing.T) {
	ctx := s.ctx
	events := s.events
	batch := s.batch
	r, url := startReceiver(t, http.StatusServiceUnavailable, http.StatusTooManyRequests)
	w := newTestWebhook(t, pipeline.Options{"url": url, "headers": map[string]any{"X-Api-Key": "k1"}})
	if err := w.Write(ctx, batch); err != nil {
		t.Fatalf("Write: %v", err)
	}
	got := r.got()
	if len(got) != 3 {
		t.Fatalf("%d requests, want 3", len(got))
	}
	for i, req := range got {
		if req.body != got[0].body || req.idempotencyKey != got[0].idempotencyKey {
			t.Errorf("request %d differs from the first", i+1)
		}
	}
	req := got[2]
	if req.contentType != "application/x-ndjson" || req.token != "k1" || len(req.idempotencyKey) != 64 {
		t.Errorf("request headers %+v", req)
	}
	lines := strings.Split(strings.TrimSuffix(req.body, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("body has %d lines, want 3:\n%s", len(lines), req.body)
	}
	for i, line := range lines {
		if want := string(events[i].AppendJSON(nil)); line != want {
			t.Errorf("line %d = %s, want %s", i+1, line, want)
		}
	}
}

// retriesDroppedConnection is the subtest "retries a dropped connection" of TestWebhook.
func (s *webhookSteps) retriesDroppedConnection(t *testing.T) {
	ctx := s.ctx
	batch := s.batch
	r, url := startReceiver(t, 0)
	w := newTestWebhook(t, pipeline.Options{"url": url})
	if err := w.Write(ctx, batch); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if n := len(r.got()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

// clientErrorIsPermanent is the subtest "client error is permanent" of TestWebhook.
func (s *webhookSteps) clientErrorIsPermanent(t *testing.T) {
	ctx := s.ctx
	batch := s.batch
	r, url := startReceiver(t, http.StatusBadRequest)
	w := newTestWebhook(t, pipeline.Options{"url": url})
	err := w.Write(ctx, batch)
	if !errors.Is(err, pipeline.ErrPermanent) {
		t.Fatalf("err = %v, want ErrPermanent", err)
	}
	if !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "rejected: Bad Request") {
		t.Errorf("err = %v, want the status and the receiver's answer", err)
	}
	// The batch's dead letters say it in the reader's language, the
	// receiver's answer quoted as it came.
	want := i18n.M("output.webhook.refused", len(batch.Events), batch.Feed, i18n.M("output.webhook.status", "400 Bad Request: rejected: Bad Request"))
	if m, ok := i18n.Said(err); !ok || m != want || m.In(i18n.Embedded(), "nl") == m.String() {
		t.Errorf("message %v, want %v", m, want)
	}
	if n := len(r.got()); n != 1 {
		t.Errorf("%d requests, want 1: a 400 is not retried", n)
	}
}

// redirectIsPermanent is the subtest "redirect is permanent" of TestWebhook.
func (s *webhookSteps) redirectIsPermanent(t *testing.T) {
	ctx := s.ctx
	batch := s.batch
	r, url := startReceiver(t, http.StatusFound)
	w := newTestWebhook(t, pipeline.Options{"url": url})
	if err := w.Write(ctx, batch); !errors.Is(err, pipeline.ErrPermanent) {
		t.Fatalf("err = %v, want ErrPermanent", err)
	}
	if n := len(r.got()); n != 1 {
		t.Errorf("%d requests, want 1: the redirect is not followed", n)
	}
}

// givesUpAfterRetries is the subtest "gives up after the retries" of TestWebhook.
func (s *webhookSteps) givesUpAfterRetries(t *testing.T) {
	ctx := s.ctx
	batch := s.batch
	r, url := startReceiver(t, 500, 502, 503, 504, 500)
	w := newTestWebhook(t, pipeline.Options{"url": url, "retries": 3})
	err := w.Write(ctx, batch)
	if err == nil || errors.Is(err, pipeline.ErrPermanent) {
		t.Fatalf("err = %v, want a transient error", err)
	}
	if !strings.Contains(err.Error(), "4 attempts") || !strings.Contains(err.Error(), "504") {
		t.Errorf("err = %v", err)
	}
	if n := len(r.got()); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

// jsonArrayFormat is the subtest "json array format" of TestWebhook.
func (s *webhookSteps) jsonArrayFormat(t *testing.T) {
	ctx := s.ctx
	batch := s.batch
	r, url := startReceiver(t)
	w := newTestWebhook(t, pipeline.Options{"url": url, "format": "json"})
	if err := w.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	req := r.got()[0]
	if req.contentType != "application/json" {
		t.Errorf("Content-Type %q", req.contentType)
	}
	var objects []map[string]any
	if err := json.Unmarshal([]byte(req.body), &objects); err != nil {
		t.Fatalf("body is not a JSON array: %v\n%s", err, req.body)
	}
	if len(objects) != 3 || objects[0]["source.ip"] != "10.0.0.1" || objects[2]["source.port"] != 3389.0 {
		t.Errorf("objects %v", objects)
	}
}

// cancellationStopsRetries is the subtest "cancellation stops the retries" of TestWebhook.
func (s *webhookSteps) cancellationStopsRetries(t *testing.T) {
	ctx := s.ctx
	batch := s.batch
	r, url := startReceiver(t, 503, 503, 503, 503, 503, 503)
	w := newTestWebhook(t, pipeline.Options{"url": url, "backoff": "1h"})
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Write(ctx, batch) }()
	for len(r.got()) == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// emptyBatchPostsNothing is the subtest "empty batch posts nothing" of TestWebhook.
func (s *webhookSteps) emptyBatchPostsNothing(t *testing.T) {
	ctx := s.ctx
	r, url := startReceiver(t)
	w := newTestWebhook(t, pipeline.Options{"url": url})
	if err := w.Write(ctx, &pipeline.Batch{Feed: "f"}); err != nil {
		t.Fatal(err)
	}
	if n := len(r.got()); n != 0 {
		t.Errorf("%d requests, want none", n)
	}
}

// refusesBadOptions is the subtest "refuses bad options" of TestWebhook.
func (s *webhookSteps) refusesBadOptions(t *testing.T) {
	for name, opts := range map[string]pipeline.Options{
		"no url":         {},
		"bad format":     {"url": "https://example.org/", "format": "xml"},
		"unknown option": {"url": "https://example.org/", "retry": 3},
		"bad retries":    {"url": "https://example.org/", "retries": "many"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := pipeline.NewOutput("webhook", pipeline.Env{}, opts); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestWebhookWait(t *testing.T) {
	w := &Webhook{backoff: 100 * time.Millisecond}
	for attempt, want := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond} {
		for range 50 {
			if got := w.wait(attempt, 0); got < want/2 || got > want {
				t.Fatalf("wait(%d) = %v, want within [%v, %v]", attempt, got, want/2, want)
			}
		}
	}
	if got := w.wait(40, 0); got > maxWebhookBackoff || got < maxWebhookBackoff/2 {
		t.Errorf("wait(40) = %v, want capped at %v", got, maxWebhookBackoff)
	}
	if got := w.wait(0, 5*time.Second); got != 5*time.Second {
		t.Errorf("with Retry-After 5s: wait = %v", got)
	}
	if got := w.wait(0, time.Hour); got != maxWebhookBackoff {
		t.Errorf("with Retry-After 1h: wait = %v, want the cap", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"120":                           2 * time.Minute,
		"-5":                            0,
		"9999999999":                    24 * time.Hour,
		"soon":                          0,
		"Fri, 20 Nov 2026 08:00:30 GMT": 30 * time.Second,
		"Fri, 20 Nov 2026 07:00:00 GMT": 0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "120", "Fri, 20 Nov 2026 08:00:30 GMT", "99999999999999999999"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if d := parseRetryAfter(s, now); d < 0 {
			t.Fatalf("parseRetryAfter(%q) = %v, negative", s, d)
		}
	})
}
