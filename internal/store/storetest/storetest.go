// Package storetest is the contract suite every store.Store implementation
// must pass, so that SQLite and PostgreSQL answer every query alike.
package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/auth/authdb"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

// Run runs the contract suite. open must return an empty store of its own
// for every call (subtests do not share data) and arrange its cleanup with
// t.Cleanup; Run migrates it.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	run(t, open, false)
}

// RunConcurrent runs the part of the contract suite whose subtests use the
// store from several goroutines at once, what the race detector can watch;
// the others use it from the test's goroutine alone. A store's run under
// -race may take these only when its run without -race takes them all.
func RunConcurrent(t *testing.T, open func(t *testing.T) store.Store) {
	run(t, open, true)
}

func run(t *testing.T, open func(t *testing.T) store.Store, concurrentOnly bool) {
	fresh := func(t *testing.T) store.Store {
		t.Helper()
		s := open(t)
		// Every capability's schema too: events are tagged with
		// organisations, and deleting an organisation runs every
		// capability's hook (database.DeleteHooks), which reads its
		// tables: an organisation with users or open incidents cannot
		// be deleted, and its policy and what it was told go with it.
		if err := s.Migrate(t.Context(), database.Schemas...); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		// A second Migrate must be a no-op: every start of vigil calls it.
		if err := s.Migrate(t.Context(), database.Schemas...); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		return s
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"insert is idempotent", testInsertIdempotent},
		{"batch identity", testBatchIdentity},
		{"batch identity order", testBatchIDOrder},
		{"batch count", testBatchCount},
		{"get event", testGetEvent},
		{"event ids", testEventIDs},
		{"search filters", testSearchFilters},
		{"search order", testSearchOrder},
		{"paging", testPaging},
		{"bad cursor", testBadCursor},
		{"table counts", testTableCounts},
		{"table sort", testTableSort},
		{"table groups", testTableGroups},
		{"table isolation", testTableIsolation},
		{"table window", testTableWindow},
		{"concurrent use", testConcurrent},
		{"dedup keys", testDedupKeys},
		{"dedup keys exist", testDedupKeysExist},
		{"dead letters", testDeadLetters},
		{"dead letters in bulk", testDeadLettersBulk},
		{"dead letter key", testDeadLetterKey},
		{"dead letter work", testDeadLetterWork},
		{"dead letter problem", testDeadLetterProblem},
		{"feed counters", testFeedCounters},
		{"state", testState},
		{"state swap", testStateSwap},
		{"state swap, at once", testStateSwapConcurrent},
		{"leases", testLeases},
		{"lease taken from its holder", testLeaseTakeFrom},
		{"lease taken from its holder, at once", testLeaseTakeFromConcurrent},
		{"organisation isolation", testOrganisationIsolation},
		{"event tagging", testEventTagging},
		{"notification queue", testNotifyQueue},
		{"events after", testEventsAfter},
		{"events after, inserts at once", testEventsAfterConcurrent},
		{"events after, an insert held open", testEventsAfterHeldInsert},
	}
	ran := 0
	for _, tt := range tests {
		if concurrentOnly && !concurrentTests[tt.name] {
			continue
		}
		ran++
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, fresh(t)) })
	}
	if concurrentOnly && ran != len(concurrentTests) {
		t.Errorf("%d concurrent subtests ran, %d are named", ran, len(concurrentTests))
	}
}

// concurrentTests are the subtests of the contract that use the store
// from several goroutines at once (RunConcurrent).
var concurrentTests = map[string]bool{
	"concurrent use":                       true,
	"state swap, at once":                  true,
	"lease taken from its holder, at once": true,
	"events after, inserts at once":        true,
	"events after, an insert held open":    true,
}

var base = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// ev builds an event through the validating Set, as parsers do.
func ev(t testing.TB, fields map[string]string) *event.Event {
	t.Helper()
	e := event.New(len(fields))
	for _, k := range event.SortedKeys(fields) {
		if err := e.Set(k, fields[k]); err != nil {
			t.Fatalf("Set(%s): %v", k, err)
		}
	}
	return e
}

func insert(t *testing.T, s store.Store, events []*event.Event, dedup []store.DedupKey) int {
	t.Helper()
	n, err := s.InsertEvents(t.Context(), events, dedup)
	if err != nil {
		t.Fatalf("InsertEvents: %v", err)
	}
	return n
}

func testInsertIdempotent(t *testing.T, s store.Store) {
	a := ev(t, map[string]string{"time.source": "2024-05-01T10:00:00Z", "source.ip": "192.0.2.1", "feed.name": "f"})
	b := ev(t, map[string]string{"time.source": "2024-05-01T10:00:01Z", "source.ip": "192.0.2.2", "feed.name": "f"})
	c := ev(t, map[string]string{"time.source": "2024-05-01T10:00:02Z", "source.ip": "192.0.2.3", "feed.name": "f"})
	// The same observation read again differs only in time.observation and
	// raw, which the hash leaves out.
	a2 := a.Clone()
	a2.SetTime("time.observation", time.Now())
	a2.SetRaw([]byte("line"))

	if n := insert(t, s, []*event.Event{a, b, a2}, nil); n != 2 {
		t.Errorf("first batch (a, b, a again): inserted = %d, want 2", n)
	}
	if n := insert(t, s, []*event.Event{a, b}, nil); n != 0 {
		t.Errorf("same batch again: inserted = %d, want 0", n)
	}
	if n := insert(t, s, []*event.Event{b, c}, nil); n != 1 {
		t.Errorf("batch with one new event: inserted = %d, want 1", n)
	}
	if n := insert(t, s, nil, nil); n != 0 {
		t.Errorf("empty batch: inserted = %d, want 0", n)
	}
	count, err := s.CountEvents(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if count != 3 {
		t.Errorf("CountEvents = %d, want 3", count)
	}
	page, err := s.SearchEvents(t.Context(), store.EventQuery{IP: netip.MustParseAddr("192.0.2.1")})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 1 {
		t.Errorf("search for a's IP: %d events, want 1", len(page.Events))
	}
}

func testGetEvent(t *testing.T, s store.Store) {
	e := ev(t, map[string]string{
		"time.source":             "2024-05-01T10:00:00.123456Z",
		"source.ip":               "2001:db8::1",
		"source.port":             "443",
		"source.asn":              "64500",
		"classification.taxonomy": "vulnerable",
		"classification.type":     "vulnerable-system",
		"feed.name":               "Shadowserver Open HTTP",
		"extra.tag":               `"a \"quoted\" value é"`,
		"comment":                 "line one\nline two",
	})
	e.SetRaw([]byte("raw,csv,line"))
	before := time.Now().Add(-time.Second)
	insert(t, s, []*event.Event{e}, nil)

	got, err := s.GetEvent(t.Context(), e.Hash())
	if err != nil {
		t.Fatalf("GetEvent: %v", err)
	}
	if got.Hash != e.Hash() {
		t.Errorf("Hash = %s, want %s", got.Hash, e.Hash())
	}
	if !slices.Equal(got.Event.Fields(), e.Fields()) {
		t.Errorf("event fields differ:\n got %v\nwant %v", got.Event.Fields(), e.Fields())
	}
	if got.Stored.Before(before) || got.Stored.After(time.Now().Add(time.Second)) {
		t.Errorf("Stored = %v, want about now", got.Stored)
	}
	if _, err := s.GetEvent(t.Context(), event.Hash{1, 2, 3}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetEvent(unknown) error = %v, want ErrNotFound", err)
	}
}

// corpus is a set of events labelled by their comment field, each built to
// be found by some filters and missed by close look-alikes.
func corpus(t *testing.T) []*event.Event {
	rows := []map[string]string{
		{"comment": "a", "source.ip": "192.0.2.10", "source.asn": "64500", "source.fqdn": "www.example.com",
			"feed.name": "A", "classification.taxonomy": "malicious-code", "classification.type": "infected-system", "tlp": "GREEN",
			"malware.hash.md5": "0123456789ABCDEF0123456789abcdef", "malware.hash.sha256": strings.Repeat("ab", 32)},
		{"comment": "b", "destination.ip": "192.0.2.10", "destination.asn": "64500", "destination.fqdn": "example.com",
			"feed.name": "B", "classification.taxonomy": "vulnerable", "classification.type": "vulnerable-system", "tlp": "AMBER"},
		{"comment": "c", "source.ip": "192.0.2.200", "source.fqdn": "notexample.com", "source.url": "http://example.com/x",
			"feed.name": "A", "classification.taxonomy": "vulnerable", "classification.type": "vulnerable-system", "tlp": "CLEAR"},
		{"comment": "d", "source.ip": "198.51.100.7", "destination.ip": "192.0.2.99", "source.asn": "64501",
			"destination.url": "http://evil.example.net/a", "feed.name": "B", "classification.taxonomy": "fraud", "classification.type": "phishing"},
		{"comment": "e", "source.ip": "2001:db8:1::5", "source.asn": "64502", "destination.fqdn": "a.b.EXAMPLE.com",
			"feed.name": "C", "classification.taxonomy": "malicious-code", "classification.type": "infected-system"},
		{"comment": "f", "destination.ip": "2001:db8:2::1", "source.fqdn": "example.com.evil.net",
			"malware.hash.sha1": strings.Repeat("cd", 20), "feed.name": "C"},
		{"comment": "g", "feed.name": "A", "classification.taxonomy": "other", "classification.type": "other"},
		{"comment": "h", "source.ip": "10.1.2.3", "destination.ip": "10.1.2.3", "source.asn": "64503", "destination.asn": "64503",
			"source.fqdn": "mail.example.com", "destination.fqdn": "example.com", "feed.name": "A"},
	}
	events := make([]*event.Event, len(rows))
	for i, r := range rows {
		// One minute apart, "a" oldest.
		r["time.source"] = event.FormatTime(base.Add(time.Duration(i) * time.Minute))
		events[i] = ev(t, r)
	}
	return events
}

// labels returns the comment of each event of a page, in order.
func labels(page store.EventPage) []string {
	out := make([]string, len(page.Events))
	for i, e := range page.Events {
		out[i] = e.Event.Value("comment")
	}
	return out
}

func testSearchFilters(t *testing.T, s store.Store) {
	insert(t, s, corpus(t), nil)
	ip := netip.MustParseAddr
	prefix := netip.MustParsePrefix
	// Results are newest first: h g f e d c b a.
	tests := []struct {
		name string
		q    store.EventQuery
		want string
	}{
		{"no filter", store.EventQuery{}, "hgfedcba"},
		{"IP on source or destination", store.EventQuery{IP: ip("192.0.2.10")}, "ba"},
		{"IP on both sides of one event", store.EventQuery{IP: ip("10.1.2.3")}, "h"},
		{"IP destination only", store.EventQuery{IP: ip("192.0.2.99")}, "d"},
		{"IPv6 address", store.EventQuery{IP: ip("2001:db8:1::5")}, "e"},
		{"IPv4-mapped address", store.EventQuery{IP: ip("::ffff:192.0.2.200")}, "c"},
		{"IP not stored", store.EventQuery{IP: ip("192.0.2.11")}, ""},
		{"CIDR v4 /24", store.EventQuery{Prefix: prefix("192.0.2.0/24")}, "dcba"},
		{"CIDR v4 /25", store.EventQuery{Prefix: prefix("192.0.2.128/25")}, "c"},
		{"CIDR v4 unmasked", store.EventQuery{Prefix: prefix("192.0.2.77/24")}, "dcba"},
		{"CIDR v4 /32", store.EventQuery{Prefix: prefix("198.51.100.7/32")}, "d"},
		{"CIDR v4 /0 excludes IPv6", store.EventQuery{Prefix: prefix("0.0.0.0/0")}, "hdcba"},
		{"CIDR v6 /48", store.EventQuery{Prefix: prefix("2001:db8:1::/48")}, "e"},
		{"CIDR v6 /32", store.EventQuery{Prefix: prefix("2001:db8::/32")}, "fe"},
		{"ASN source or destination", store.EventQuery{ASN: 64500}, "ba"},
		{"ASN on both sides", store.EventQuery{ASN: 64503}, "h"},
		{"ASN unknown", store.EventQuery{ASN: 1}, ""},
		{"FQDN domain and subdomains", store.EventQuery{FQDN: "example.com"}, "heba"},
		{"FQDN subdomain", store.EventQuery{FQDN: "b.example.com"}, "e"},
		{"FQDN case and trailing dot", store.EventQuery{FQDN: "Example.COM."}, "heba"},
		{"FQDN not a suffix match", store.EventQuery{FQDN: "ample.com"}, ""},
		{"FQDN notexample", store.EventQuery{FQDN: "notexample.com"}, "c"},
		{"FQDN other TLD", store.EventQuery{FQDN: "evil.net"}, "f"},
		{"URL source", store.EventQuery{URL: "http://example.com/x"}, "c"},
		{"URL destination", store.EventQuery{URL: "http://evil.example.net/a"}, "d"},
		{"URL other", store.EventQuery{URL: "http://example.com/"}, ""},
		{"hash md5", store.EventQuery{Hash: "0123456789abcdef0123456789abcdef"}, "a"},
		{"hash md5 upper case", store.EventQuery{Hash: "0123456789ABCDEF0123456789ABCDEF"}, "a"},
		{"hash sha256 of the same event", store.EventQuery{Hash: strings.Repeat("ab", 32)}, "a"},
		{"hash sha1", store.EventQuery{Hash: strings.Repeat("cd", 20)}, "f"},
		{"hash of no known length", store.EventQuery{Hash: "abcd"}, ""},
		{"taxonomy", store.EventQuery{Taxonomy: "malicious-code"}, "ea"},
		{"type", store.EventQuery{Type: "vulnerable-system"}, "cb"},
		{"feed", store.EventQuery{Feed: "A"}, "hgca"},
		{"TLP", store.EventQuery{TLP: "AMBER"}, "b"},
		{"time from (inclusive)", store.EventQuery{From: base.Add(5 * time.Minute)}, "hgf"},
		{"time to (exclusive)", store.EventQuery{To: base.Add(2 * time.Minute)}, "ba"},
		{"time range", store.EventQuery{From: base.Add(2 * time.Minute), To: base.Add(4 * time.Minute)}, "dc"},
		{"IP and feed", store.EventQuery{IP: ip("192.0.2.10"), Feed: "B"}, "b"},
		{"CIDR and taxonomy", store.EventQuery{Prefix: prefix("192.0.2.0/24"), Taxonomy: "vulnerable"}, "cb"},
		{"ASN and time range", store.EventQuery{ASN: 64500, From: base.Add(time.Minute)}, "b"},
		{"FQDN and type", store.EventQuery{FQDN: "example.com", Type: "infected-system"}, "ea"},
		{"ASN and CIDR", store.EventQuery{ASN: 64500, Prefix: prefix("192.0.2.0/24")}, "ba"},
		{"CIDR and FQDN", store.EventQuery{Prefix: prefix("192.0.2.0/24"), FQDN: "example.com"}, "ba"},
		{"IP and hash", store.EventQuery{IP: ip("192.0.2.10"), Hash: strings.Repeat("ab", 32)}, "a"},
		{"filters that exclude each other", store.EventQuery{Feed: "A", TLP: "AMBER"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := s.SearchEvents(t.Context(), tt.q)
			if err != nil {
				t.Fatalf("SearchEvents: %v", err)
			}
			if got := strings.Join(labels(page), ""); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if page.Next != "" {
				t.Errorf("Next = %q on the only page", page.Next)
			}
		})
	}
}

func testSearchOrder(t *testing.T, s store.Store) {
	// Inserted out of time order, in two batches.
	var events []*event.Event
	for _, m := range []int{5, 1, 9, 3, 7, 2, 8} {
		events = append(events, ev(t, map[string]string{
			"time.source": event.FormatTime(base.Add(time.Duration(m) * time.Minute)),
			"source.ip":   fmt.Sprintf("192.0.2.%d", m),
			"comment":     fmt.Sprint(m),
		}))
	}
	insert(t, s, events[:3], nil)
	insert(t, s, events[3:], nil)
	for _, q := range []store.EventQuery{{}, {Prefix: netip.MustParsePrefix("192.0.2.0/24")}} {
		page, err := s.SearchEvents(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(labels(page), ""); got != "9875321" {
			t.Errorf("query %+v: order %q, want 9875321", q, got)
		}
	}
}

func testPaging(t *testing.T, s store.Store) {
	// 237 events over 40 distinct times, so pages end in the middle of
	// equal times and the cursor's tie-break matters. Every other event has
	// its address on the destination side.
	var events []*event.Event
	for i := range 237 {
		side := "source.ip"
		if i%2 == 1 {
			side = "destination.ip"
		}
		events = append(events, ev(t, map[string]string{
			"time.source": event.FormatTime(base.Add(time.Duration(i%40) * time.Second)),
			side:          fmt.Sprintf("10.9.%d.%d", i/250, i%250),
			"source.asn":  "64500",
			"feed.name":   "paging",
			"comment":     fmt.Sprint(i),
		}))
	}
	for i := 0; i < len(events); i += 100 {
		insert(t, s, events[i:min(i+100, len(events))], nil)
	}
	queries := map[string]store.EventQuery{
		"all":         {},
		"feed":        {Feed: "paging"},
		"CIDR":        {Prefix: netip.MustParsePrefix("10.9.0.0/16")},
		"ASN":         {ASN: 64500},
		"time window": {From: base.Add(10 * time.Second), To: base.Add(30 * time.Second)},
	}
	for name, q := range queries {
		for _, size := range []int{1, 7, 50, 300} {
			t.Run(fmt.Sprintf("%s by %d", name, size), func(t *testing.T) {
				want := 237
				if name == "time window" {
					want = 0
					for i := range 237 {
						if s := i % 40; s >= 10 && s < 30 {
							want++
						}
					}
				}
				seen := map[string]bool{}
				var prev *store.StoredEvent
				q := q
				q.Limit = size
				pages := 0
				for {
					page, err := s.SearchEvents(t.Context(), q)
					if err != nil {
						t.Fatalf("page %d: %v", pages, err)
					}
					pages++
					if len(page.Events) > size {
						t.Fatalf("page %d has %d events, limit %d", pages, len(page.Events), size)
					}
					for i := range page.Events {
						e := &page.Events[i]
						l := e.Event.Value("comment")
						if seen[l] {
							t.Fatalf("event %s repeated on page %d", l, pages)
						}
						seen[l] = true
						if prev != nil {
							pt, _ := prev.Event.Time("time.source")
							et, _ := e.Event.Time("time.source")
							if et.After(pt) {
								t.Fatalf("page %d: %s (%v) after %s (%v): not newest first", pages, l, et, prev.Event.Value("comment"), pt)
							}
						}
						prev = e
					}
					if page.Next == "" {
						break
					}
					if len(page.Events) != size {
						t.Fatalf("page %d: %d events and a Next cursor; want full pages before the last", pages, len(page.Events))
					}
					if pages > 300 {
						t.Fatal("paging does not end")
					}
					q.After = page.Next
				}
				if len(seen) != want {
					t.Errorf("saw %d distinct events over %d pages, want %d", len(seen), pages, want)
				}
			})
		}
	}
}

func testConcurrent(t *testing.T, s store.Store) {
	// Writers and readers at once, as the pipeline and the console do: no
	// call may fail with a busy or locked database, and nothing is lost.
	const writers, batches, size = 4, 5, 200
	g := NewGenerator(21)
	all := make([][]*event.Event, writers*batches)
	for i := range all {
		all[i] = g.Batch(size)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*writers)
	for w := range writers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for b := range batches {
				if _, err := s.InsertEvents(t.Context(), all[w*batches+b], nil); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range 2 * batches {
				if _, err := s.SearchEvents(t.Context(), store.EventQuery{ASN: g.ASN(0)}); err != nil {
					errs <- fmt.Errorf("reader %d: %w", w, err)
					return
				}
				if err := authdb.New(s.DB()).AddAudit(t.Context(), auth.AuditEntry{Actor: "reader", Action: "search"}); err != nil {
					errs <- fmt.Errorf("reader %d audit: %w", w, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	n, err := s.CountEvents(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n != writers*batches*size {
		t.Errorf("CountEvents = %d, want %d", n, writers*batches*size)
	}
}

func testBadCursor(t *testing.T, s store.Store) {
	if _, err := s.SearchEvents(t.Context(), store.EventQuery{After: "not a cursor!"}); err == nil {
		t.Error("SearchEvents with a malformed cursor: no error")
	}
}

func testDedupKeys(t *testing.T, s store.Store) {
	k := func(b byte) event.Hash { return event.Hash{b} }
	now := base
	keys := []store.DedupKey{
		{Key: k(1), Expires: now.Add(time.Hour)},
		{Key: k(2), Expires: now.Add(-time.Hour)},
		{Key: k(3), Expires: now.Add(2 * time.Hour)},
	}
	e := ev(t, map[string]string{"time.source": event.FormatTime(now), "source.ip": "192.0.2.1"})
	if n := insert(t, s, []*event.Event{e}, keys); n != 1 {
		t.Errorf("inserted = %d, want 1", n)
	}
	// A key claimed again keeps the later expiry; a batch may carry only keys.
	insert(t, s, nil, []store.DedupKey{{Key: k(1), Expires: now.Add(3 * time.Hour)}, {Key: k(3), Expires: now.Add(time.Minute)}})

	load := func(at time.Time) map[event.Hash]time.Time {
		got := map[event.Hash]time.Time{}
		if err := s.LoadDedupKeys(t.Context(), at, func(d store.DedupKey) { got[d.Key] = d.Expires }); err != nil {
			t.Fatalf("LoadDedupKeys: %v", err)
		}
		return got
	}
	got := load(now)
	if len(got) != 2 || !got[k(1)].Equal(now.Add(3*time.Hour)) || !got[k(3)].Equal(now.Add(2*time.Hour)) {
		t.Errorf("LoadDedupKeys(now) = %v, want key 1 until +3h and key 3 until +2h", got)
	}
	if err := s.PruneDedupKeys(t.Context(), now.Add(150*time.Minute)); err != nil {
		t.Fatalf("PruneDedupKeys: %v", err)
	}
	got = load(now.Add(-24 * time.Hour))
	if len(got) != 1 || got[k(1)].IsZero() {
		t.Errorf("after pruning at +2h30: %v, want only key 1", got)
	}
}

func testDeadLetters(t *testing.T, s store.Store) {
	ctx := t.Context()
	letters := []store.DeadLetter{
		{Feed: "A", Parser: "csv", Source: "2026-11-20-scan_rdp-x.csv", Input: []byte("bad,line\x00\xff"), Error: "field source.ip: not an IP address", Time: base},
		{Feed: "B", Parser: "json", Input: []byte("{"), Error: "unexpected end", Time: base.Add(time.Second)},
		{Feed: "A", Parser: "csv", Input: []byte("x"), Error: "short line", Time: base.Add(2 * time.Second)},
	}
	if err := s.AddDeadLetters(ctx, letters); err != nil {
		t.Fatalf("AddDeadLetters: %v", err)
	}
	if err := s.AddDeadLetters(ctx, []store.DeadLetter{{Feed: "A", Parser: "csv", Input: []byte("y"), Error: "e", Time: base.Add(3 * time.Second)}}); err != nil {
		t.Fatalf("AddDeadLetters: %v", err)
	}
	all, err := s.ListDeadLetters(ctx, store.DeadLetterQuery{})
	if err != nil {
		t.Fatalf("ListDeadLetters: %v", err)
	}
	if len(all) != 4 {
		t.Fatalf("ListDeadLetters: %d letters, want 4", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID >= all[i-1].ID {
			t.Errorf("letters not newest first: ids %d then %d", all[i-1].ID, all[i].ID)
		}
	}
	first := all[3]
	if first.Feed != "A" || first.Parser != "csv" || first.Source != letters[0].Source || !bytes.Equal(first.Input, letters[0].Input) ||
		first.Error != letters[0].Error || !first.Time.Equal(base) || first.Retried {
		t.Errorf("oldest letter = %+v, want %+v", first, letters[0])
	}
	a, err := s.ListDeadLetters(ctx, store.DeadLetterQuery{Feed: "A"})
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 3 {
		t.Errorf("feed A: %d letters, want 3", len(a))
	}
	paged, err := s.ListDeadLetters(ctx, store.DeadLetterQuery{Feed: "A", Limit: 2, BeforeID: a[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(paged) != 2 || paged[0].ID != a[1].ID || paged[1].ID != a[2].ID {
		t.Errorf("feed A before id %d, limit 2: %+v", a[0].ID, paged)
	}
	counts, err := s.CountDeadLetters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 2 || counts["A"] != 3 || counts["B"] != 1 {
		t.Errorf("CountDeadLetters = %v, want A:3 B:1", counts)
	}
	if err := s.MarkDeadLettersRetried(ctx, []int64{a[0].ID, a[2].ID}); err != nil {
		t.Fatalf("MarkDeadLettersRetried: %v", err)
	}
	counts, err = s.CountDeadLetters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts["A"] != 1 || counts["B"] != 1 {
		t.Errorf("after retry, CountDeadLetters = %v, want A:1 B:1", counts)
	}
	pending, err := s.ListDeadLetters(ctx, store.DeadLetterQuery{Feed: "A"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].ID != a[1].ID {
		t.Errorf("pending letters of A = %+v, want only id %d", pending, a[1].ID)
	}
	withRetried, err := s.ListDeadLetters(ctx, store.DeadLetterQuery{Feed: "A", IncludeRetried: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(withRetried) != 3 || !withRetried[0].Retried || withRetried[1].Retried || !withRetried[2].Retried {
		t.Errorf("letters of A with retried = %+v", withRetried)
	}
}

func testFeedCounters(t *testing.T, s store.Store) {
	ctx := t.Context()
	run1 := base
	run2 := base.Add(time.Hour)
	add := func(key store.FeedKey, c store.FeedCounters, run, lastEvent time.Time, lastError string, problem ...i18n.Message) {
		t.Helper()
		var lastProblem i18n.Message
		if len(problem) > 0 {
			lastProblem = problem[0]
		}
		if err := s.AddFeedCounters(ctx, key, c, run, lastEvent, lastError, lastProblem); err != nil {
			t.Fatalf("AddFeedCounters(%+v): %v", key, err)
		}
	}
	a := store.FeedKey{Feed: "A"}
	add(a, store.FeedCounters{LinesRead: 10, EventsOut: 8, DeadLetters: 1, Duplicates: 1}, run1, base.Add(-time.Minute), "timeout", i18n.M("collector.http.status", "https://example.org/a", "503 Service Unavailable"))
	add(a, store.FeedCounters{LinesRead: 5, EventsOut: 5}, run2, base.Add(-time.Hour), "")
	add(store.FeedKey{Feed: "B"}, store.FeedCounters{LinesRead: 1}, run1, time.Time{}, "")
	// Two report types under feed A, each with its own counters, warnings
	// and last error; a worker's counters (no run) keep the last error.
	rdp := store.FeedKey{Feed: "A", Report: "Accessible-RDP"}
	sink := store.FeedKey{Feed: "A", Report: "Sinkhole-HTTP"}
	// The last error's message goes and stays with it.
	rdpProblem := i18n.M("pipeline.reject.line", 4, i18n.M("event.reason.ip"))
	add(rdp, store.FeedCounters{LinesRead: 7, DeadLetters: 2, Warnings: 3}, run1, time.Time{}, "line 4: not an IP address", rdpProblem)
	add(sink, store.FeedCounters{LinesRead: 2, Warnings: 1}, run2, time.Time{}, "")
	add(rdp, store.FeedCounters{EventsOut: 4, Duplicates: 1}, time.Time{}, base.Add(-2*time.Hour), "")
	add(sink, store.FeedCounters{EventsOut: 2}, time.Time{}, base.Add(-3*time.Hour), "")
	add(sink, store.FeedCounters{Warnings: 2}, run2.Add(time.Minute), time.Time{}, "")

	got, err := s.ListFeedStatus(ctx)
	if err != nil {
		t.Fatalf("ListFeedStatus: %v", err)
	}
	var keys []store.FeedKey
	for _, f := range got {
		keys = append(keys, store.FeedKey{Feed: f.Name, Report: f.Report})
	}
	if want := []store.FeedKey{a, rdp, sink, {Feed: "B"}}; !slices.Equal(keys, want) {
		t.Fatalf("ListFeedStatus rows = %v, want %v", keys, want)
	}
	own := got[0]
	if own.FeedCounters != (store.FeedCounters{LinesRead: 15, EventsOut: 13, DeadLetters: 1, Duplicates: 1}) {
		t.Errorf("A counters = %+v, want the sums of its own row only", own.FeedCounters)
	}
	if !own.LastRun.Equal(run2) || own.LastError != "" || !own.LastProblem.IsZero() {
		t.Errorf("A last run = %v %q %s, want %v and no error", own.LastRun, own.LastError, own.LastProblem.Encode(), run2)
	}
	if !own.LastEvent.Equal(base.Add(-time.Minute)) {
		t.Errorf("A last event = %v, want the newest seen %v", own.LastEvent, base.Add(-time.Minute))
	}
	r := got[1]
	if r.FeedCounters != (store.FeedCounters{LinesRead: 7, EventsOut: 4, DeadLetters: 2, Duplicates: 1, Warnings: 3}) {
		t.Errorf("Accessible-RDP counters = %+v", r.FeedCounters)
	}
	if !r.LastRun.Equal(run1) || r.LastError != "line 4: not an IP address" || !r.LastEvent.Equal(base.Add(-2*time.Hour)) {
		t.Errorf("Accessible-RDP last run %v %q, last event %v: want run 1, its error kept, and its own newest event", r.LastRun, r.LastError, r.LastEvent)
	}
	if r.LastProblem.Encode() != rdpProblem.Encode() {
		t.Errorf("Accessible-RDP last problem = %s, want %s", r.LastProblem.Encode(), rdpProblem.Encode())
	}
	// Said in the reader's language, in English as the text is.
	for lang, want := range map[string]string{"en": "line 4: not an IP address", "nl": "regel 4: geen IP-adres",
		"fr": "ligne 4 : pas une adresse IP", "de": "Zeile 4: keine IP-Adresse"} {
		if got := r.LastReason(i18n.Embedded(), lang); got != want {
			t.Errorf("Accessible-RDP last reason in %s = %q, want %q", lang, got, want)
		}
	}
	if sum := store.SumFeeds(got); sum[0].LastProblem.Encode() != "" || sum[0].Reports[0].LastProblem.Encode() != rdpProblem.Encode() {
		t.Errorf("A summed: last problem %s, Accessible-RDP's %s", sum[0].LastProblem.Encode(), sum[0].Reports[0].LastProblem.Encode())
	}
	h := got[2]
	if h.FeedCounters != (store.FeedCounters{LinesRead: 2, EventsOut: 2, Warnings: 3}) {
		t.Errorf("Sinkhole-HTTP counters = %+v", h.FeedCounters)
	}
	if !h.LastRun.Equal(run2.Add(time.Minute)) || h.LastError != "" || !h.LastEvent.Equal(base.Add(-3*time.Hour)) {
		t.Errorf("Sinkhole-HTTP last run %v %q, last event %v", h.LastRun, h.LastError, h.LastEvent)
	}
	if !got[3].LastEvent.IsZero() || got[3].LinesRead != 1 || got[3].Report != "" {
		t.Errorf("B = %+v, want its own row and no last event", got[3])
	}
}
