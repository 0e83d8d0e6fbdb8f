package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/store"
)

// newActionsEnv is a team console whose notifier signs with a team key,
// with organisation uni (one notify-contact) and one event of uni's.
func newActionsEnv(t *testing.T) (*teamEnv, constituency.Organisation, event.Hash) {
	t.Helper()
	armored, err := pgpmime.GenerateIdentity("Example CERT", "cert@example.org", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	id, err := pgpmime.ParseIdentity(armored, "")
	if err != nil {
		t.Fatal(err)
	}
	te := newTeamEnv(t, func(c *Config) {
		cfg := notify.DefaultConfig()
		cfg.Enabled, cfg.From = true, "Example CERT <cert@example.org>"
		n, err := notify.New(cfg, notify.Deps{Store: c.Store.(*database.DB), Identity: id})
		if err != nil {
			t.Fatal(err)
		}
		c.Notifier = n
	})
	org := te.createOrganisation(constituency.Organisation{Handle: "uni", Name: "Example University", Language: "en",
		Contacts: []constituency.Contact{{Name: "Alice", Email: "alice@uni.example", Role: constituency.ContactAbuse, Notify: true}}})
	ev := makeEvent(t, "sinkhole", "192.0.2.7", time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC))
	ev.SetTrusted(store.ConstituencyField, `["uni"]`)
	te.insert(ev)
	return te, org, ev.Hash()
}

func hasAudit(t *testing.T, e *testEnv, action string) bool {
	t.Helper()
	return contains(e.auditActions(), action)
}

func TestEventFalsePositive(t *testing.T) {
	te, _, h := newActionsEnv(t)
	b := te.analyst()
	page := "/events/" + h.String()
	r := b.get(page)
	mustContain(t, r.body, `id="fp-form"`, `id="notify-now"`, `name="reason"`)

	t.Run("an empty reason is refused clearly", func(t *testing.T) {
		r := b.post("/events/false-positive", url.Values{"event": {h.String()}, "reason": {"   "}})
		if r.status != http.StatusBadRequest {
			t.Fatalf("status %d", r.status)
		}
		mustContain(t, r.body, "Give the reason why it is a false positive.")
	})
	t.Run("a malformed or unknown event is refused", func(t *testing.T) {
		for _, bad := range []string{"nothex", strings.Repeat("ab", 32)} {
			r := b.post("/events/false-positive", url.Values{"event": {bad}, "reason": {"why"}})
			if r.status != http.StatusBadRequest || !strings.Contains(r.body, "not known") {
				t.Errorf("event %q: status %d", bad, r.status)
			}
		}
		if r := b.post("/events/false-positive", url.Values{"reason": {"why"}}); r.status != http.StatusBadRequest {
			t.Errorf("no event: status %d", r.status)
		}
	})

	r = b.post("/events/false-positive", url.Values{"event": {h.String()}, "reason": {"our own honeypot"}, "back": {page}})
	if r.status != http.StatusSeeOther || r.location != page+"?done=fp-marked" {
		t.Fatalf("mark: status %d, location %q", r.status, r.location)
	}
	r = b.get(r.location)
	mustContain(t, r.body, `id="fp-mark"`, "our own honeypot", "Marked by analyst", "Marked as a false positive", `id="fp-remove"`)
	if strings.Contains(r.body, `id="fp-form"`) {
		t.Error("the form to mark is still offered")
	}
	if !hasAudit(t, te.testEnv, "event.falsepositive.mark") {
		t.Error("no audit entry for the mark")
	}
	ev, _ := te.store.GetEvent(context.Background(), h)
	if m, _ := te.store.GetFalsePositives(context.Background(), []event.Hash{notify.Key(ev.Event)}); len(m) != 1 {
		t.Fatalf("marks stored: %v", m)
	}

	r = b.post("/events/false-positive/remove", url.Values{"event": {h.String()}, "back": {page}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("remove: status %d", r.status)
	}
	r = b.get(r.location)
	mustContain(t, r.body, `id="fp-form"`, "The false-positive mark was removed")
	if strings.Contains(r.body, `id="fp-mark"`) || !hasAudit(t, te.testEnv, "event.falsepositive.remove") {
		t.Error("the mark is still shown, or its removal not audited")
	}
}

// TestEventActionsForbidden: a publisher (who reads no events) and a
// constituent can neither mark nor notify, nor see the buttons.
func TestEventActionsForbidden(t *testing.T) {
	te, org, h := newActionsEnv(t)
	te.addUser("pub", auth.RolePublisher, "the publisher's passphrase")
	c, err := auth.NewUser("carol", "carol@uni.example", auth.RoleConstituent, "the constituent's passphrase", "en")
	if err != nil {
		t.Fatal(err)
	}
	c.OrgID = org.ID
	if err := te.store.CreateUser(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	for name, password := range map[string]string{"pub": "the publisher's passphrase", "carol": "the constituent's passphrase"} {
		b := te.browser()
		b.login(name, password)
		for _, path := range []string{"/events/false-positive", "/events/false-positive/remove", "/events/notify"} {
			r := b.post(path, url.Values{"event": {h.String()}, "reason": {"mine"}})
			if r.status != http.StatusForbidden {
				t.Errorf("%s: POST %s: status %d", name, path, r.status)
			}
		}
		if name == "carol" {
			r := b.get("/portal/events/" + h.String())
			if strings.Contains(r.body, `id="event-actions"`) {
				t.Error("the portal's event page offers the team's actions")
			}
		}
	}
	if marks, _ := te.store.ListFalsePositives(context.Background(), 10); len(marks) != 0 {
		t.Errorf("marks made: %+v", marks)
	}
	if msgs, _ := te.store.ListMessages(context.Background(), outbox.MessageQuery{}); len(msgs) != 0 {
		t.Errorf("messages sent: %d", len(msgs))
	}
}

// TestEventNotifyNow: the analyst sends the event's organisation a
// message at once, queued in the outbox and audited.
func TestEventNotifyNow(t *testing.T) {
	te, org, h := newActionsEnv(t)
	b := te.analyst()
	page := "/events/" + h.String()
	b.get(page)
	r := b.post("/events/notify", url.Values{"event": {h.String()}, "back": {page}})
	if r.status != http.StatusSeeOther || r.location != page+"?done=notified-now" {
		t.Fatalf("notify now: status %d, location %q, body %.300s", r.status, r.location, r.body)
	}
	mustContain(t, b.get(r.location).body, "The notification was queued in the outbox")
	msgs, err := te.store.ListMessages(context.Background(), outbox.MessageQuery{OrgID: org.ID})
	if err != nil || len(msgs) != 1 || msgs[0].Events != 1 || msgs[0].Recipients[0] != "alice@uni.example" {
		t.Fatalf("outbox: %+v, %v", msgs, err)
	}
	if !hasAudit(t, te.testEnv, "event.notify") {
		t.Error("not audited")
	}
	// A false positive is not sent, even when asked for.
	b.post("/events/false-positive", url.Values{"event": {h.String()}, "reason": {"a test"}})
	r = b.post("/events/notify", url.Values{"event": {h.String()}})
	if r.status != http.StatusSeeOther || !strings.HasSuffix(r.location, "done=notified-none") {
		t.Errorf("notify a false positive: status %d, location %q", r.status, r.location)
	}
	if msgs, _ := te.store.ListMessages(context.Background(), outbox.MessageQuery{OrgID: org.ID}); len(msgs) != 1 {
		t.Errorf("%d messages after notifying a false positive", len(msgs))
	}
}
