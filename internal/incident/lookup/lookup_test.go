package lookup_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/constituency/constituencydb"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/incident/lookup"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

var day = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// scanEvent is an event at day plus hours, with fields.
func scanEvent(t testing.TB, hours int, fields map[string]string) *event.Event {
	f := map[string]string{"time.source": event.FormatTime(day.Add(time.Duration(hours) * time.Hour)),
		"feed.name": "test", "classification.taxonomy": "malicious-code", "classification.type": "infected-system"}
	for k, v := range fields {
		f[k] = v
	}
	return storetest.Event(t, f)
}

// organisation stores an organisation with the holdings set by with.
func organisation(t *testing.T, orgs *constituencydb.Store, handle string, with func(o *constituency.Organisation)) constituency.Organisation {
	t.Helper()
	o := constituency.Organisation{Handle: handle, Name: "Org " + handle, Sector: "research", Country: "BE", Language: "en"}
	with(&o)
	if err := orgs.CreateOrganisation(t.Context(), &o); err != nil {
		t.Fatalf("CreateOrganisation(%s): %v", handle, err)
	}
	return o
}

// fixture stores a constituency (a /16 and a /24 inside it, an AS, a
// domain and a subdomain of it owned by another) and events naming an
// address three times, an address of the AS, a phishing host's URL and
// a hash.
func fixture(t *testing.T, st store.Store) *lookup.Looker {
	orgs := constituencydb.New(st.DB())
	organisation(t, orgs, "isp", func(o *constituency.Organisation) {
		o.Networks = []netip.Prefix{netip.MustParsePrefix("198.51.0.0/16")}
	})
	organisation(t, orgs, "host", func(o *constituency.Organisation) {
		o.Networks = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
	})
	organisation(t, orgs, "transit", func(o *constituency.Organisation) { o.ASNs = []uint32{64501} })
	organisation(t, orgs, "bank", func(o *constituency.Organisation) { o.Domains = []string{"bank.example"} })
	organisation(t, orgs, "branch", func(o *constituency.Organisation) { o.Domains = []string{"login.bank.example"} })
	storetest.Insert(t, st,
		scanEvent(t, 0, map[string]string{"source.ip": "198.51.100.7", "source.port": "1"}),
		scanEvent(t, 5, map[string]string{"destination.ip": "198.51.100.7", "source.ip": "192.0.2.1"}),
		scanEvent(t, 2, map[string]string{"source.ip": "198.51.100.7", "source.port": "2"}),
		scanEvent(t, 1, map[string]string{"source.ip": "203.0.113.7", "source.asn": "64501"}),
		scanEvent(t, 3, map[string]string{"source.fqdn": "login.bank.example", "source.url": "https://login.bank.example/verify"}),
		scanEvent(t, 4, map[string]string{"source.fqdn": "www.bank.example", "source.url": "https://www.bank.example/"}),
		scanEvent(t, 6, map[string]string{"malware.hash.md5": "0123456789abcdef0123456789abcdef", "source.ip": "192.0.2.9"}),
	)
	return &lookup.Looker{Events: st, Orgs: orgs}
}

func handles(owners []constituency.Owner) []string {
	out := []string{}
	for _, o := range owners {
		out = append(out, o.Handle+"/"+string(o.Rule)+"/"+o.Name)
	}
	return out
}

// TestLook: on both backends, each kind is looked up against stored
// events and the constituency: owners by network (most specific first),
// by AS (from the newest event naming the address) and by domain (for a
// domain, a URL's host and an e-mail address's domain), with the events'
// count and first and last times.
func TestLook(t *testing.T) {
	dbtest.Each(t, database.Schemas, func(t *testing.T, st store.Store) {
		l := fixture(t, st)
		res, err := l.Look(t.Context(), []extract.Observable{
			{Kind: extract.IP, Value: "198.51.100.7"},
			{Kind: extract.IP, Value: "203.0.113.7"},
			{Kind: extract.URL, Value: "https://login.bank.example/verify"},
			{Kind: extract.Domain, Value: "bank.example"},
			{Kind: extract.Email, Value: "ceo@Bank.example"},
			{Kind: extract.MD5, Value: "0123456789abcdef0123456789abcdef"},
			{Kind: extract.Phone, Value: "+3225551234"},
			{Kind: extract.IP, Value: "192.0.2.200"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Skipped != 0 || len(res.Observables) != 8 {
			t.Fatalf("got %d observables, %d skipped", len(res.Observables), res.Skipped)
		}
		want := []struct {
			owners      string
			events      int
			first, last int // hours after day, -1 for none
			field, term string
			looked      bool
			asn         uint32
		}{
			{"[host/network/Org host isp/network/Org isp]", 3, 0, 5, "ip", "198.51.100.7", true, 0},
			{"[transit/asn/Org transit]", 1, 1, 1, "ip", "203.0.113.7", true, 64501},
			{"[branch/domain/Org branch bank/domain/Org bank]", 1, 3, 3, "url", "https://login.bank.example/verify", true, 0},
			{"[bank/domain/Org bank]", 2, 3, 4, "fqdn", "bank.example", true, 0},
			{"[bank/domain/Org bank]", 2, 3, 4, "fqdn", "bank.example", true, 0},
			{"[]", 1, 6, 6, "hash", "0123456789abcdef0123456789abcdef", true, 0},
			{"[]", 0, -1, -1, "", "", false, 0},
			{"[]", 0, -1, -1, "ip", "192.0.2.200", true, 0},
		}
		for i, w := range want {
			k := res.Observables[i]
			if got := fmt.Sprint(handles(k.Owners)); got != w.owners {
				t.Errorf("%s: owners %s, want %s", k.Value, got, w.owners)
			}
			if k.Events != w.events || k.Field != w.field || k.Term != w.term || k.Looked != w.looked || k.ASN != w.asn {
				t.Errorf("%s: events %d field %q term %q looked %v asn %d, want %+v", k.Value, k.Events, k.Field, k.Term, k.Looked, k.ASN, w)
			}
			at := func(h int) time.Time {
				if h < 0 {
					return time.Time{}
				}
				return day.Add(time.Duration(h) * time.Hour)
			}
			if !k.First.Equal(at(w.first)) || !k.Last.Equal(at(w.last)) {
				t.Errorf("%s: first %v last %v, want hours %d and %d", k.Value, k.First, k.Last, w.first, w.last)
			}
		}
	})
}

// TestLookCaps: past MaxObservables lookable observables nothing more is
// looked up (those that cannot be looked up do not count), and the
// events are counted up to EventCap, one more meaning "more than".
func TestLookCaps(t *testing.T) {
	dbtest.Each(t, database.Schemas, func(t *testing.T, st store.Store) {
		l := fixture(t, st)
		var many []*event.Event
		for i := range lookup.EventCap + 5 {
			many = append(many, scanEvent(t, -i, map[string]string{"source.ip": "198.51.100.50", "source.port": fmt.Sprint(i + 1)}),
				scanEvent(t, -i, map[string]string{"source.fqdn": fmt.Sprintf("h%d.busy.example", i)}))
		}
		storetest.Insert(t, st, many...)
		obs := []extract.Observable{{Kind: extract.Phone, Value: "+3225551234"}, {Kind: extract.IP, Value: "198.51.100.50"},
			{Kind: extract.Domain, Value: "busy.example"}}
		for i := range lookup.MaxObservables + 3 {
			obs = append(obs, extract.Observable{Kind: extract.IP, Value: fmt.Sprintf("192.0.2.%d", i+1)})
		}
		res, err := l.Look(t.Context(), obs)
		if err != nil {
			t.Fatal(err)
		}
		if res.Skipped != 5 {
			t.Errorf("skipped %d, want 5", res.Skipped)
		}
		looked := 0
		for _, k := range res.Observables {
			if k.Looked {
				looked++
			}
		}
		if looked != lookup.MaxObservables || res.Observables[0].Looked || res.Observables[len(obs)-1].Looked {
			t.Errorf("looked up %d (first %v, last %v), want %d", looked, res.Observables[0].Looked, res.Observables[len(obs)-1].Looked, lookup.MaxObservables)
		}
		busy := res.Observables[1]
		if busy.Events != lookup.EventCap+1 || !busy.MoreEvents() {
			t.Errorf("busy address: %d events (more %v), want %d", busy.Events, busy.MoreEvents(), lookup.EventCap+1)
		}
		if !busy.Last.Equal(day) || !busy.First.Equal(day.Add(-time.Duration(lookup.EventCap+4)*time.Hour)) || busy.Undated {
			t.Errorf("busy address: first %v last %v undated %v", busy.First, busy.Last, busy.Undated)
		}
		// A domain past the cap is counted but not dated: no index gives
		// its oldest and newest without reading every match.
		domain := res.Observables[2]
		if domain.Events != lookup.EventCap+1 || !domain.Undated || !domain.First.IsZero() || !domain.Last.IsZero() {
			t.Errorf("busy domain: %d events, undated %v, first %v, last %v", domain.Events, domain.Undated, domain.First, domain.Last)
		}
	})
}

// TestOwnersOnly: Owners answers from the constituency alone, without
// reading the events.
func TestOwnersOnly(t *testing.T) {
	st := dbtest.SQLite(t, database.Schemas...)
	l := fixture(t, st)
	l.Events = nil // any read of the events would panic
	res, err := l.Owners(t.Context(), []extract.Observable{{Kind: extract.URL, Value: "http://www.bank.example:8080/x"}, {Kind: extract.IP, Value: "198.51.1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(handles(res.Observables[0].Owners), handles(res.Observables[1].Owners)); got != "[bank/domain/Org bank] [isp/network/Org isp]" {
		t.Errorf("owners %s", got)
	}
	if res.Observables[0].Events != 0 || res.Observables[0].Host != "www.bank.example" {
		t.Errorf("URL: %+v", res.Observables[0])
	}
}

// TestDefanged: every value the table prints is defanged.
func TestDefanged(t *testing.T) {
	for in, want := range map[string]string{
		"url:https://evil.example/a.b?c=d.e": "hxxps://evil[.]example/a.b?c=d.e",
		"url:http://evil.example":            "hxxp://evil[.]example",
		"domain:evil.example":                "evil[.]example",
		"email:ceo@evil.example":             "ceo[@]evil[.]example",
		"ip:192.0.2.1":                       "192.0.2[.]1",
		"ip:2001:db8::1":                     "2001:db8::1",
		"phone:+3225551234":                  "+3225551234",
	} {
		kind, value, _ := strings.Cut(in, ":")
		o := lookup.Defanged(extract.Observable{Kind: extract.Kind(kind), Value: value})
		if o != want {
			t.Errorf("Defanged(%s) = %q, want %q", in, o, want)
		}
	}
}
