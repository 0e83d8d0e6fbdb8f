package console

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/store"
)

// eventCaseEnv is a case console with three events of Bank X's network
// stored, and their hashes.
func eventCaseEnv(t *testing.T) (*caseEnv, []string) {
	t.Helper()
	env := newCaseEnv(t)
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	var events []*event.Event
	var hashes []string
	for i, ip := range []string{"192.0.2.10", "192.0.2.11", "192.0.2.12"} {
		e := makeEvent(t, "feed-a", ip, at.Add(time.Duration(i)*time.Minute), "source.fqdn", fmt.Sprintf("host%d.bank-x.example", i))
		e.SetTrusted(store.ConstituencyField, `["bank-x"]`)
		events = append(events, e)
		hashes = append(hashes, e.Hash().String())
	}
	env.insert(events...)
	return env, hashes
}

var openedAt = regexp.MustCompile(`^/incidents/([0-9]+-[0-9]+)\?done=events-opened$`)

func TestEventsOpenAndAddToIncident(t *testing.T) {
	env, h := eventCaseEnv(t)
	b := env.analyst()

	page := b.get("/events")
	mustContain(t, page.body, `id="event-actions"`, `formaction="/events/incidents/open"`, `formaction="/events/incidents/add"`,
		`name="event" value="`+h[0]+`" form="event-actions"`, `id="event-select-all"`)
	if strings.Contains(page.body, `form="event-actions" class="event-select" aria-label="Select this event" checked`) {
		t.Error("a row is ticked before anyone ticked it")
	}
	all := b.get("/events?select=all")
	if n := strings.Count(all.body, `aria-label="Select this event" checked`); n != 3 {
		t.Errorf("select all ticks %d rows, want 3", n)
	}
	mustContain(t, all.body, `id="event-select-none"`)

	res := b.post("/events/incidents/open", url.Values{"event": {h[0], h[1]}, "back": {"/events"}})
	m := openedAt.FindStringSubmatch(res.location)
	if res.status != http.StatusSeeOther || m == nil {
		t.Fatalf("open: status %d, location %q, body %.500s", res.status, res.location, res.body)
	}
	tag := m[1]
	inc := b.get(res.location)
	mustContain(t, inc.body, "The incident was opened with the events.", `id="incident-events"`,
		`href="/events/`+h[0]+`"`, `href="/events/`+h[1]+`"`, "host0.bank-x.example", `href="/events?org=bank-x"`,
		"Events added", "2 events", `<a href="/constituency/`, "Bank X", "infected-system: host0.bank-x.example (&#43;1)")
	if strings.Contains(inc.body, `href="/events/`+h[2]+`"`) {
		t.Error("the incident lists an event nobody chose")
	}

	// From the event's own page: the bar sends the event itself.
	detail := b.get("/events/" + h[2])
	mustContain(t, detail.body, `id="event-actions"`, `<input type="hidden" name="event" value="`+h[2]+`">`)
	res = b.post("/events/incidents/add", url.Values{"event": {h[2]}, "tag": {tag}, "back": {"/events/" + h[2]}})
	if res.status != http.StatusSeeOther || res.location != "/incidents/"+tag+"?done=events-added" {
		t.Fatalf("add: status %d, location %q, body %.500s", res.status, res.location, res.body)
	}
	res = b.post("/events/incidents/add", url.Values{"event": {h[2], h[0]}, "tag": {tag}, "back": {"/events/" + h[2]}})
	if res.location != "/incidents/"+tag+"?done=events-had" {
		t.Errorf("adding events the incident holds: %d %q", res.status, res.location)
	}
	inc = b.get("/incidents/" + tag)
	mustContain(t, inc.body, `href="/events/`+h[2]+`"`, "1 event")
	if got := env.auditActions(); strings.Count(strings.Join(got, " "), "incident.events") != 2 || !contains(got, "incident.create") {
		t.Errorf("audit %v", got)
	}
}

// TestEventBarRefused tries what an analyst can get wrong and what
// someone who may not handle incidents tries.
func TestEventBarRefused(t *testing.T) {
	env, h := eventCaseEnv(t)
	b := env.analyst()
	b.get("/events")
	unknown := strings.Repeat("0f", 32)
	tries := []struct {
		name, path string
		form       url.Values
		want       []string
	}{
		{"no event ticked", "/events/incidents/open", url.Values{"back": {"/events?ip=192.0.2.10"}},
			[]string{"choose at least one event", `id="ip" value="192.0.2.10"`}},
		{"an unknown hash", "/events/incidents/open", url.Values{"event": {h[0], unknown}, "back": {"/events"}},
			[]string{"no event is stored under the hash " + unknown}},
		{"a hash that is none", "/events/incidents/open", url.Values{"event": {"<script>"}, "back": {"/events"}},
			[]string{"is not an event hash"}},
		{"an unknown incident, from the event's page", "/events/incidents/add",
			url.Values{"event": {h[1]}, "tag": {"2026-999"}, "back": {"/events/" + h[1]}},
			[]string{"There is no incident 2026-999", `id="hash">` + h[1]}},
		{"a tag that is none", "/events/incidents/add", url.Values{"event": {h[1]}, "tag": {"nope"}, "back": {"/events"}},
			[]string{"There is no incident nope"}},
		{"a back address elsewhere", "/events/incidents/open", url.Values{"back": {"https://evil.example/events/x"}},
			[]string{"choose at least one event"}},
	}
	for _, tt := range tries {
		t.Run(tt.name, func(t *testing.T) {
			res := b.post(tt.path, tt.form)
			if res.status != http.StatusBadRequest {
				t.Fatalf("status %d, location %q, want 400", res.status, res.location)
			}
			body := html.UnescapeString(res.body)
			mustContain(t, body, tt.want...)
			if t.Failed() {
				t.Log(regexp.MustCompile(`<p class="problem".*`).FindString(body))
			}
		})
	}
	t.Run("a huge selection", func(t *testing.T) {
		form := url.Values{"back": {"/events"}}
		for i := range incident.MaxEvents + 1 {
			form.Add("event", fmt.Sprintf("%064x", i))
		}
		res := b.post("/events/incidents/open", form)
		if res.status != http.StatusBadRequest {
			t.Fatalf("status %d", res.status)
		}
		mustContain(t, res.body, "1001 events chosen: one action takes at most 1000")
	})
	for _, who := range []string{"publisher", "constituent"} {
		t.Run(who+" may not", func(t *testing.T) {
			o := env.browser()
			o.login(who, casePassword)
			for _, path := range []string{"/events/incidents/open", "/events/incidents/add"} {
				res := o.post(path, url.Values{"event": {h[0]}, "tag": {"2026-1"}, "back": {"/events"}})
				if res.status != http.StatusForbidden {
					t.Errorf("%s %s: status %d, want 403", who, path, res.status)
				}
			}
		})
	}
	if list, err := env.store.ListIncidents(t.Context(), incident.IncidentQuery{}); err != nil || list.Total != 0 {
		t.Errorf("refused actions opened %d incidents (%v)", list.Total, err)
	}
	// Only who may handle incidents gets the bar.
	for role, want := range map[auth.Role]bool{auth.RoleAnalyst: true, auth.RoleAdmin: true, auth.RolePublisher: false, auth.RoleConstituent: false} {
		r, _ := http.NewRequest(http.MethodGet, "/events", nil)
		if got := env.console.eventBarFor(r, &visit{user: auth.User{Role: role}}, nil) != nil; got != want {
			t.Errorf("%s gets the bar: %v, want %v", role, got, want)
		}
	}
}
