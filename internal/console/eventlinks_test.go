package console

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/store"
)

// TestEventTableTimePerLanguage: the table writes an event's time the
// way the reader's language writes times everywhere else in the console.
func TestEventTableTimePerLanguage(t *testing.T) {
	env := newEnv(t, nil)
	at := time.Date(2025, 3, 7, 14, 5, 9, 0, time.UTC)
	e := makeEvent(t, "feed-a", "192.0.2.1", at)
	e.Seal()
	env.insert(e)
	for lang, want := range map[string]string{
		"en": "2025-03-07 14:05:09", "nl": "07-03-2025 14:05:09", "fr": "07/03/2025 14:05:09", "de": "07.03.2025 14:05:09",
	} {
		t.Run(lang, func(t *testing.T) {
			u, err := auth.NewUser("reader-"+lang, lang+"@cert.example", auth.RoleAnalyst, "the reader's passphrase", lang)
			if err != nil {
				t.Fatal(err)
			}
			if err := env.store.CreateUser(context.Background(), &u); err != nil {
				t.Fatal(err)
			}
			b := env.browser()
			b.login(u.Name, "the reader's passphrase")
			r := b.get("/events")
			if r.status != http.StatusOK {
				t.Fatalf("status %d", r.status)
			}
			mustContain(t, r.body, `class="event-link">`+want+`</a>`)
			// The event page writes its time fields the same way, the
			// stored value kept in the datetime attribute.
			r = b.get("/events/" + e.Hash().String())
			mustContain(t, r.body, `<td class="mono" data-field="time.source"><time datetime="2025-03-07T14:05:09Z">`+want+`</time></td>`)
		})
	}
}

// TestEventValuesLinked: a reverse DNS name, a domain suffix and the TLP
// lead to their own searches on the event page and in the table, as a
// domain does; the portal, which has no TLP search, links no TLP.
func TestEventValuesLinked(t *testing.T) {
	env := newEnv(t, nil)
	env.addUser("analyst", auth.RoleAnalyst, "the analyst's passphrase")
	e := makeEvent(t, "feed-a", "192.0.2.1", time.Now(), "source.reverse_dns", "host-1.example.be",
		"destination.reverse_dns", "mail.example.org", "source.domain_suffix", "example.be", "tlp", "AMBER")
	e.Seal()
	env.insert(e)
	b := env.browser()
	b.login("analyst", "the analyst's passphrase")
	r := b.get("/events/" + e.Hash().String())
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	mustContain(t, r.body,
		`href="/events?fqdn=host-1.example.be" class="value-link">host-1.example.be</a>`,
		`href="/events?fqdn=mail.example.org" class="value-link">mail.example.org</a>`,
		`href="/events?fqdn=example.be" class="value-link">example.be</a>`,
		`href="/events?tlp=AMBER" class="value-link">AMBER</a>`)
	// The link finds the events about that host.
	other := makeEvent(t, "feed-b", "192.0.2.2", time.Now(), "source.fqdn", "host-1.example.be")
	env.insert(other)
	if r := b.get("/events?fqdn=host-1.example.be"); !strings.Contains(r.body, other.Hash().String()) {
		t.Error("the reverse DNS link's search does not find the host's event")
	}
	l := tableLinks{list: "/portal/?", params: portalSearchParams}
	if got := l.linkedValues("tlp", "AMBER"); len(got) != 1 || got[0].URL != "" {
		t.Errorf("portal TLP value %+v, want no link", got)
	}
	if got := l.linkedValues("source.reverse_dns", "host-1.example.be"); len(got) != 1 || got[0].URL != "/portal/?fqdn=host-1.example.be" {
		t.Errorf("portal reverse DNS value %+v", got)
	}
	if got := l.linkedValues(store.ConstituencyField, `["uni-a"]`); len(got) != 1 || got[0].URL != "" {
		t.Errorf("portal organisation value %+v, want no link", got)
	}
}
