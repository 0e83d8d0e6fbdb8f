package channel

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
)

func TestWebhookPostsSigned(t *testing.T) {
	rec := &recorder{answers: []func(http.ResponseWriter){answer(204, nil, "")}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	m := newMemory()
	m.add(advisory(42))
	c := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	secret := []byte("whsec-0123456789")
	hook := &Webhook{Hook: "matrix", URL: srv.URL + "/hook", Secret: secret, SiteURL: "https://cert.example", Client: srv.Client(), Now: c.now}
	other := &Webhook{Hook: "discord", URL: srv.URL + "/other", Secret: []byte("another"), SiteURL: "https://cert.example", Client: srv.Client(), Now: c.now}
	id := m.queue(42, "webhook:matrix", "nl", c.now())
	m.queue(42, "webhook:discord", "en", c.now())
	w := newWorker(t, m, c, hook, other)
	if counts, err := w.RunOnce(t.Context()); err != nil || counts.Sent != 2 {
		t.Fatalf("RunOnce %+v, %v", counts, err)
	}
	if d := m.get(id); d.Status != publication.DeliverySent || d.Reply != i18n.M("channel.reply.status", 204).Encode() {
		t.Errorf("delivery %+v", d)
	}
	reqs := rec.got()
	if len(reqs) != 2 || reqs[0].Path != "/hook" || reqs[1].Path != "/other" {
		t.Fatalf("requests %+v", reqs)
	}
	r := reqs[0]
	if err := Verify(secret, r.Header, r.Body, c.now(), 5*time.Minute); err != nil {
		t.Errorf("signature: %v", err)
	}
	if err := Verify([]byte("another"), r.Header, r.Body, c.now(), 5*time.Minute); err == nil {
		t.Errorf("verified with the wrong secret")
	}
	if err := Verify(secret, r.Header, append(r.Body, ' '), c.now(), 5*time.Minute); err == nil {
		t.Errorf("verified a changed body")
	}
	if err := Verify(secret, r.Header, r.Body, c.now().Add(time.Hour), 5*time.Minute); err == nil {
		t.Errorf("verified an old request")
	}
	if r.Header.Get(HeaderTimestamp) != "1796292000" || r.Header.Get("Content-Type") != "application/json" ||
		r.Header.Get(HeaderDelivery) != "vigil-VIGIL-2026-0042-r1-webhook:matrix-nl-1" {
		t.Errorf("headers %v", r.Header)
	}
	var got map[string]any
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"ident": "VIGIL-2026-0042", "kind": "advisory", "severity": "critical", "lang": "nl",
		"title": "Kritieke kwetsbaarheid in Ünïcode", "summary": "Patch nu.", "url": "https://cert.example/nl/p/VIGIL-2026-0042",
		"cves": []any{"CVE-2026-12345", "CVE-2026-23456"}, "published": "2026-12-03T09:00:00Z", "revision": float64(1)}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("payload\n%s\nwant\n%s", gotJSON, wantJSON)
	}
}

// TestWebhookURLSecretNotKept: a webhook URL often holds a token; a
// network failure's error, kept in the delivery, does not show it.
func TestWebhookURLSecretNotKept(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: the connection is refused
	m := newMemory()
	m.add(advisory(1))
	c := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	id := m.queue(1, "webhook:chat", "en", c.now())
	hook := &Webhook{Hook: "chat", URL: "http://" + addr + "/hooks/T0K3N-SECRET", Secret: []byte("k"), Client: http.DefaultClient}
	w := newWorker(t, m, c, hook)
	if counts, _ := w.RunOnce(t.Context()); counts.Retried != 1 {
		t.Fatalf("counts %+v", counts)
	}
	d := m.get(id)
	msg, english := problem(t, d)
	if strings.Contains(d.LastError, "T0K3N") || msg != "channel.error.network" || !strings.HasPrefix(english, "Network error: Post: ") {
		t.Errorf("LastError %q (%s)", d.LastError, english)
	}
}
