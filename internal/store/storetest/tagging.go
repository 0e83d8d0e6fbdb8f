package storetest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// tagsOf reads an event's extra.constituency the way the enricher writes
// it (a JSON list of handles), independently of the store's parsing.
func tagsOf(t testing.TB, e *event.Event) []string {
	t.Helper()
	v, ok := e.Get("extra.constituency")
	if !ok {
		return nil
	}
	var tags []string
	if err := json.Unmarshal([]byte(v), &tags); err != nil {
		t.Fatalf("event %s: extra.constituency %s: %v", e.Value("comment"), v, err)
	}
	return tags
}

// tagged sets extra.constituency to the JSON list of orgs (none: no tag).
func tagged(t testing.TB, e *event.Event, orgs ...string) *event.Event {
	t.Helper()
	if len(orgs) == 0 {
		return e
	}
	b, err := json.Marshal(orgs)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Set("extra.constituency", string(b)); err != nil {
		t.Fatalf("Set(extra.constituency): %v", err)
	}
	return e
}

// isolationCorpus is 180 events, labelled by their comment: a sixth each
// of organisation a only, b only, both a and b, nobody, b only again, and
// c only, spread over every searchable field so that each filter selects
// some of each, with four events to a time.source so that pages end
// inside ties.
func isolationCorpus(t *testing.T) []*event.Event {
	var events []*event.Event
	types := [][2]string{{"malicious-code", "infected-system"}, {"vulnerable", "vulnerable-system"}, {"fraud", "phishing"}, {"other", "other"}, {"vulnerable", "ddos-amplifier"}}
	owners := [][]string{{"a"}, {"b"}, {"a", "b"}, nil, {"b"}, {"c"}}
	for i := range 180 {
		f := map[string]string{
			"comment":                 fmt.Sprint(i),
			"time.source":             event.FormatTime(base.Add(time.Duration(i%45) * time.Second)),
			"source.asn":              fmt.Sprint(64500 + i%3),
			"feed.name":               fmt.Sprint("F", i%4),
			"classification.taxonomy": types[i%5][0],
			"classification.type":     types[i%5][1],
		}
		side := "source.ip"
		if i%2 == 1 {
			side = "destination.ip"
		}
		if i%9 == 8 {
			f[side] = fmt.Sprintf("2001:db8:%d::%d", i%4, i%60)
		} else {
			f[side] = fmt.Sprintf("10.1.%d.%d", i%4, i%60)
		}
		switch i % 3 {
		case 0:
			f["tlp"] = "GREEN"
		case 1:
			f["tlp"] = "AMBER"
		}
		switch i % 7 {
		case 0:
			f["source.fqdn"] = "host.example.com"
		case 1:
			f["destination.fqdn"] = "www.a.example.com"
		}
		if i%11 == 0 {
			f["source.url"] = fmt.Sprintf("http://x.example/%d", i%2)
		}
		if i%13 == 0 {
			f["malware.hash.md5"] = "0123456789abcdef0123456789abcdef"
		}
		if i%6 == 2 || i%5 == 0 {
			// The feed's line, which notifications withhold: on every
			// event of two organisations and on some of one.
			f["raw"] = base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("line %d,%s", i, f[side])))
		}
		events = append(events, tagged(t, ev(t, f), owners[i%6]...))
	}
	return events
}

// searchAll returns every event q selects, on one page.
func searchAll(t *testing.T, s store.Store, q store.EventQuery) []store.StoredEvent {
	t.Helper()
	q.Limit = 10000
	page, err := s.SearchEvents(t.Context(), q)
	if err != nil {
		t.Fatalf("SearchEvents(%+v): %v", q, err)
	}
	if page.Next != "" {
		t.Fatalf("SearchEvents(%+v): more than one page", q)
	}
	return page.Events
}

// eventSearcher is a store or an organisation's view of its events.
type eventSearcher interface {
	SearchEvents(ctx context.Context, q store.EventQuery) (store.EventPage, error)
}

// pageThrough follows q's pages of size until the last and returns all
// their events.
func pageThrough(t *testing.T, s eventSearcher, q store.EventQuery, size int) []store.StoredEvent {
	t.Helper()
	q.Limit = size
	var all []store.StoredEvent
	for pages := 0; ; pages++ {
		page, err := s.SearchEvents(t.Context(), q)
		if err != nil {
			t.Fatalf("SearchEvents(%+v): %v", q, err)
		}
		if len(page.Events) > size {
			t.Fatalf("page of %d events, limit %d", len(page.Events), size)
		}
		all = append(all, page.Events...)
		if page.Next == "" {
			return all
		}
		if pages > 1000 {
			t.Fatal("paging does not end")
		}
		q.After = page.Next
	}
}

func eventLabels(events []store.StoredEvent) string {
	l := make([]string, len(events))
	for i, e := range events {
		l[i] = e.Event.Value("comment")
	}
	return strings.Join(l, " ")
}

// owned keeps the events tagged with org, in order.
func owned(t *testing.T, events []store.StoredEvent, org string) []store.StoredEvent {
	var out []store.StoredEvent
	for _, e := range events {
		if slices.Contains(tagsOf(t, e.Event), org) {
			out = append(out, e)
		}
	}
	return out
}

// testOrganisationIsolation is the ground of the constituent portal's
// promise: a search confined to an organisation returns that
// organisation's events and nothing else, whatever the other filters,
// page sizes or cursors.
func testOrganisationIsolation(t *testing.T, s store.Store) {
	events := isolationCorpus(t)
	// Batches of several sizes: SQLite splits them into statements of 64
	// rows, some with tagged events and some without.
	for _, r := range [][2]int{{0, 70}, {70, 71}, {71, 135}, {135, 180}} {
		insert(t, s, events[r[0]:r[1]], nil)
	}
	testIsolatedSearches(t, s)
	if n := len(owned(t, searchAll(t, s, store.EventQuery{}), "a")); n != 60 {
		t.Fatalf("the corpus has %d events of a, want 60", n)
	}
	t.Run("single events", func(t *testing.T) { testIsolatedSingleEvents(t, s) })
	t.Run("two-sided events as each organisation sees them", func(t *testing.T) { testTwoSidedViews(t, s) })
	t.Run("cursors from other searches", func(t *testing.T) { testForeignCursors(t, s) })
}

// testIsolatedSearches runs searches with many filters, confined to
// each organisation and paged by several sizes, each as a subtest of t,
// and checks that each returns exactly the events of that organisation.
func testIsolatedSearches(t *testing.T, s store.Store) {
	ip := netip.MustParseAddr
	prefix := netip.MustParsePrefix
	queries := map[string]store.EventQuery{
		"no filter":         {},
		"IP":                {IP: ip("10.1.1.5")},
		"IP on either side": {IP: ip("10.1.2.2")},
		"IPv6 prefix":       {Prefix: prefix("2001:db8::/32")},
		"CIDR /24":          {Prefix: prefix("10.1.2.0/24")},
		"CIDR /8":           {Prefix: prefix("10.0.0.0/8")},
		"ASN":               {ASN: 64501},
		"domain":            {FQDN: "example.com"},
		"subdomain":         {FQDN: "a.example.com"},
		"URL":               {URL: "http://x.example/0"},
		"hash":              {Hash: "0123456789abcdef0123456789abcdef"},
		"taxonomy":          {Taxonomy: "vulnerable"},
		"type":              {Type: "phishing"},
		"feed":              {Feed: "F2"},
		"TLP":               {TLP: "AMBER"},
		"time range":        {From: base.Add(10 * time.Second), To: base.Add(30 * time.Second)},
		"CIDR and feed":     {Prefix: prefix("10.1.0.0/16"), Feed: "F1"},
		"ASN and time":      {ASN: 64500, From: base.Add(20 * time.Second)},
		"type and TLP":      {Type: "vulnerable-system", TLP: "GREEN"},
		"IP and feed":       {IP: ip("10.1.1.5"), Feed: "F1"},
		"domain and ASN":    {FQDN: "example.com", ASN: 64502},
		"nothing":           {Feed: "F1", Type: "phishing", TLP: "GREEN", ASN: 64501},
	}
	for name, q := range queries {
		all := searchAll(t, s, q)
		for _, org := range []string{"a", "b", "c", "nobody"} {
			want := eventLabels(owned(t, all, org))
			for _, size := range []int{1, 7, 1000} {
				t.Run(fmt.Sprintf("%s/org %s/by %d", name, org, size), func(t *testing.T) {
					q := q
					q.Organisation = org
					got := pageThrough(t, s, q, size)
					for _, e := range got {
						if tags := tagsOf(t, e.Event); !slices.Contains(tags, org) {
							t.Errorf("event %s of %v returned to organisation %s", e.Event.Value("comment"), tags, org)
						}
					}
					if l := eventLabels(got); l != want {
						t.Errorf("got  %s\nwant %s", l, want)
					}
				})
			}
		}
	}
}

// testIsolatedSingleEvents: GetOrganisationEvent answers from the index,
// as the searches do: the whole event for its organisations, ErrNotFound
// for the others exactly as for a hash never stored.
func testIsolatedSingleEvents(t *testing.T, s store.Store) {
	all := searchAll(t, s, store.EventQuery{})
	for _, org := range []string{"a", "b", "c", "nobody", ""} {
		for _, e := range all {
			got, err := s.GetOrganisationEvent(t.Context(), org, e.Hash)
			if !slices.Contains(tagsOf(t, e.Event), org) {
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("GetOrganisationEvent(%q, event %s of %v) = %v, %v; want ErrNotFound", org, e.Event.Value("comment"), tagsOf(t, e.Event), got.Event, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("GetOrganisationEvent(%q, its event %s): %v", org, e.Event.Value("comment"), err)
				continue
			}
			if got.Hash != e.Hash || !got.Stored.Equal(e.Stored) || !slices.Equal(got.Event.Fields(), e.Event.Fields()) {
				t.Errorf("GetOrganisationEvent(%q, %s) = %s %s, want %s %s", org, e.Event.Value("comment"), got.Hash, got.Event, e.Hash, e.Event)
			}
		}
		if _, err := s.GetOrganisationEvent(t.Context(), org, event.Hash{1, 2, 3}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetOrganisationEvent(%q, a hash never stored) = %v, want ErrNotFound", org, err)
		}
	}
}

// testTwoSidedViews: an event of a and b (source in one, destination in
// the other) shows each of them neither the other's handle nor the
// feed's line: what notifications withhold is withheld from its views
// of the events too.
func testTwoSidedViews(t *testing.T, s store.Store) {
	all := searchAll(t, s, store.EventQuery{})
	twoSided := 0
	for _, e := range all {
		if len(tagsOf(t, e.Event)) == 2 {
			twoSided++
			if !e.Event.Has("raw") {
				t.Fatalf("two-sided event %s stored without its raw line", e.Event.Value("comment"))
			}
		}
	}
	if twoSided != 30 {
		t.Fatalf("the corpus has %d events of a and b, want 30", twoSided)
	}
	for _, org := range []string{"a", "b"} {
		view := constituency.EventsOf(s, constituency.Organisation{Handle: org})
		seen := pageThrough(t, view, store.EventQuery{Organisation: "c"}, 7)
		if want := eventLabels(owned(t, all, org)); eventLabels(seen) != want {
			t.Errorf("%s's view, asked for c's events:\ngot  %s\nwant %s", org, eventLabels(seen), want)
		}
		for _, e := range all {
			got, err := view.GetEvent(t.Context(), e.Hash)
			if !slices.Contains(tagsOf(t, e.Event), org) {
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s's view of event %s of %v = %v, want ErrNotFound", org, e.Event.Value("comment"), tagsOf(t, e.Event), err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s's view of its event %s: %v", org, e.Event.Value("comment"), err)
			}
			seen = append(seen, got)
		}
		for _, e := range seen {
			for _, f := range store.NotificationWithheld {
				if e.Event.Has(f) {
					t.Errorf("%s sees %s of event %s: %s", org, f, e.Event.Value("comment"), e.Event.Value(f))
				}
			}
		}
	}
	// The views copy: the store's events are not changed for the
	// next reader.
	if !searchAll(t, s, store.EventQuery{Organisation: "a"})[0].Event.Has(store.ConstituencyField) {
		t.Error("the team's search lost extra.constituency after an organisation's view")
	}
	if page, err := constituency.EventsOf(s, constituency.Organisation{}).SearchEvents(t.Context(), store.EventQuery{}); err != nil || len(page.Events) != 0 {
		t.Errorf("the view of an organisation without a handle = %d events, %v; want none", len(page.Events), err)
	}
}

// testForeignCursors: a cursor is only a position: one taken from an
// unconfined search or from another organisation's pages, pointing at
// an event a does not own, continues a's search after that position
// with a's events only.
func testForeignCursors(t *testing.T, s store.Store) {
	all := searchAll(t, s, store.EventQuery{})
	for _, from := range []string{"", "b", "c"} {
		q := store.EventQuery{Organisation: from, Limit: 5}
		var seen []store.StoredEvent
		for pages := 0; pages < 40; pages++ {
			page, err := s.SearchEvents(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			seen = append(seen, page.Events...)
			if page.Next == "" {
				break
			}
			last := seen[len(seen)-1]
			pos := slices.IndexFunc(all, func(e store.StoredEvent) bool { return e.Hash == last.Hash })
			want := eventLabels(owned(t, all[pos+1:], "a"))
			got := pageThrough(t, s, store.EventQuery{Organisation: "a", After: page.Next}, 1000)
			if l := eventLabels(got); l != want {
				t.Errorf("a after the cursor of %s's page %d (event %s):\ngot  %s\nwant %s", from, pages, last.Event.Value("comment"), l, want)
			}
			for _, e := range got {
				if !slices.Contains(tagsOf(t, e.Event), "a") {
					t.Fatalf("event %s returned to a", e.Event.Value("comment"))
				}
			}
			q.After = page.Next
		}
	}
}

// testEventTagging checks which events are tagged: only new ones, as
// their first occurrence in a batch was, and only with valid handles.
func testEventTagging(t *testing.T, s store.Store) {
	n := 0
	mk := func(orgs ...string) *event.Event {
		n++
		return tagged(t, ev(t, map[string]string{
			"time.source": event.FormatTime(base.Add(time.Duration(n) * time.Minute)),
			"source.ip":   fmt.Sprintf("192.0.2.%d", n),
			"comment":     fmt.Sprint("e", n),
		}), orgs...)
	}
	raw := func(constituency string) *event.Event {
		e := mk()
		if err := e.Set("extra.constituency", constituency); err != nil {
			t.Fatalf("Set(extra.constituency, %s): %v", constituency, err)
		}
		return e
	}
	search := func(org string) string {
		t.Helper()
		return eventLabels(searchAll(t, s, store.EventQuery{Organisation: org}))
	}

	t.Run("values that are not lists of handles", func(t *testing.T) {
		// The enricher never writes these; an event from outside may
		// carry them. They tag nothing (or only their valid handles), and
		// the batch is stored.
		batch := []*event.Event{
			raw(`"a"`), raw(`[1, 2]`), raw(`{"a": true}`), raw(`["A", "a b", ""]`), raw(`["x", "Bad Org"]`), raw(`null`), mk("x"),
		}
		if got := insert(t, s, batch, nil); got != len(batch) {
			t.Fatalf("inserted %d of %d", got, len(batch))
		}
		if got := search("x"); got != "e7 e5" {
			t.Errorf("events of x = %q, want e7 e5", got)
		}
		for _, org := range []string{"a", "A", "a b", "bad org"} {
			if got := search(org); got != "" {
				t.Errorf("events of %q = %q, want none", org, got)
			}
		}
	})

	t.Run("repeats in a batch", func(t *testing.T) {
		// Two events with one identity (event_hash) but different tags,
		// as a re-run with a changed constituency makes: the first
		// occurrence is stored, and only its organisations count.
		first := mk()
		first.Seal()
		later := tagged(t, first.Clone(), "y")
		second := mk("y")
		second.Seal()
		untaggedLater := second.Clone()
		untaggedLater.Delete("extra.constituency")
		// Across SQLite's 64-row statements too.
		var filler []*event.Event
		for range 70 {
			filler = append(filler, mk())
		}
		crossFirst := filler[3]
		crossFirst.Seal()
		crossLater := tagged(t, crossFirst.Clone(), "y")
		batch := append([]*event.Event{first, later, second, untaggedLater}, filler...)
		batch = append(batch, crossLater, mk("y"))
		if got, want := insert(t, s, batch, nil), 2+70+1; got != want {
			t.Errorf("inserted %d, want %d", got, want)
		}
		want := fmt.Sprintf("e%d %s", n, second.Value("comment"))
		if got := search("y"); got != want {
			t.Errorf("events of y = %q, want %q", got, want)
		}
	})

	t.Run("an event stored again is not tagged again", func(t *testing.T) {
		// Stored before its organisation was known, then replayed after
		// the enricher learnt it: the store keeps the first version.
		old := mk()
		old.Seal()
		insert(t, s, []*event.Event{old}, nil)
		again := tagged(t, old.Clone(), "z")
		fresh := mk("z")
		if got := insert(t, s, []*event.Event{again, fresh}, nil); got != 1 {
			t.Errorf("inserted %d, want 1 (the replayed event is stored already)", got)
		}
		if got, want := search("z"), fresh.Value("comment"); got != want {
			t.Errorf("events of z = %q, want %q", got, want)
		}
	})
}
