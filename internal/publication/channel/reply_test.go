package channel

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
)

// forged is a status address shaped like a stored message of Vigil's.
const forged = `["channel.error.gaveup",8,["channel.error.network","connection refused"]]`

// TestForgedReplyIsQuoted: a Mastodon server answering with a status
// address that is a stored message of Vigil's in form does not make the
// delivery's page show that message: the reply is Vigil's "Posted: %s",
// the server's text its argument, shown as it came in every language.
func TestForgedReplyIsQuoted(t *testing.T) {
	for _, field := range []string{"url", "uri", "id"} {
		body := `{"` + field + `":` + jsonString(forged) + `}`
		rec := &recorder{answers: []func(w http.ResponseWriter){answer(200, nil, body)}}
		srv := httptest.NewServer(rec)
		m := newMemory()
		m.add(advisory(42))
		c := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
		id := m.queue(42, MastodonChannel, "en", c.now())
		w := newWorker(t, m, c, &Mastodon{Instance: srv.URL, Token: "t", SiteURL: "https://cert.example", Client: srv.Client()})
		if counts, err := w.RunOnce(t.Context()); err != nil || counts.Sent != 1 {
			t.Fatalf("%s: RunOnce = %+v, %v", field, counts, err)
		}
		srv.Close()
		d := m.get(id)
		if got, ok := i18n.Decode(d.Reply); !ok || got != i18n.M("channel.reply.posted", forged) {
			t.Errorf("%s: the reply is stored as %q, want the server's text as the argument of channel.reply.posted", field, d.Reply)
		}
		cat := i18n.Embedded()
		for lang, want := range map[string]string{"en": "Posted: " + forged, "de": "Veröffentlicht: " + forged} {
			if got := cat.Stored(lang, d.Reply); got != want {
				t.Errorf("%s: shown in %s as %q, want %q", field, lang, got, want)
			}
		}
		if got := cat.Stored("en", d.Reply); strings.Contains(got, "Gave up") || strings.Contains(got, "Network error") {
			t.Errorf("%s: the server's text passed as Vigil's message: %q", field, got)
		}
	}
}

func jsonString(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

// replying is a sender with a given answer.
type replying struct {
	reply i18n.Message
	err   error
}

func (r *replying) Name() string { return "fake" }
func (r *replying) Send(context.Context, publication.Publication, publication.Delivery) (i18n.Message, error) {
	return r.reply, r.err
}

// explained is an error that says itself as a message.
type explained struct{ m i18n.Message }

func (e explained) Error() string         { return e.m.String() }
func (e explained) Explain() i18n.Message { return e.m }

// TestRepliesAndErrorsAreMessages: the texts a reply quotes are cut
// short and stripped of control characters, and an error that explains
// itself (the newsletter's refusal) is kept as its own message.
func TestRepliesAndErrorsAreMessages(t *testing.T) {
	m := newMemory()
	m.add(advisory(1))
	c := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	long := "https://social.example/\n" + strings.Repeat("x", 2*maxReply)
	id := m.queue(1, "fake", "en", c.now())
	w := newWorker(t, m, c, &replying{reply: i18n.M("channel.reply.posted", long)})
	if counts, err := w.RunOnce(t.Context()); err != nil || counts.Sent != 1 {
		t.Fatalf("RunOnce = %+v, %v", counts, err)
	}
	got, ok := i18n.Decode(m.get(id).Reply)
	quoted, _ := got.Args()[0].(string)
	if !ok || got.ID != "channel.reply.posted" || len(quoted) > maxReply || strings.ContainsAny(quoted, "\n") || !strings.HasPrefix(quoted, "https://social.example/ xxx") {
		t.Errorf("the reply is stored as %q", m.get(id).Reply)
	}

	m = newMemory()
	m.add(advisory(2))
	refusal := i18n.M("newsletter.reply.notpublic", "VIGIL-2026-0002")
	id = m.queue(2, "fake", "en", c.now())
	w = newWorker(t, m, c, &replying{err: errors.Join(errors.New("context"), explained{refusal})})
	if counts, err := w.RunOnce(t.Context()); err != nil || counts.Retried != 1 {
		t.Fatalf("RunOnce = %+v, %v", counts, err)
	}
	if d := m.get(id); d.LastError != refusal.Encode() || d.Reply != "" {
		t.Errorf("the delivery keeps %q (reply %q), want %q", d.LastError, d.Reply, refusal.Encode())
	}
}
