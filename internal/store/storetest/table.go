package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// The table of events (store.SearchWindow): bounded counts, sorts by a
// column and groupings, each checked against what the plain time-ordered
// search (checked by the tests above) says they must be.

// tableQueries are searches of the isolation corpus, one of each plan a
// store chooses (no filter, an equality, a range, an organisation, a
// combination).
func tableQueries() map[string]store.EventQuery {
	return map[string]store.EventQuery{
		"no filter":         {},
		"IP":                {IP: netip.MustParseAddr("10.1.2.2")},
		"CIDR":              {Prefix: netip.MustParsePrefix("10.1.0.0/16")},
		"ASN":               {ASN: 64501},
		"domain":            {FQDN: "example.com"},
		"type":              {Type: "vulnerable-system"},
		"feed and time":     {Feed: "F1", From: base.Add(10 * time.Second)},
		"organisation":      {Organisation: "b"},
		"organisation CIDR": {Organisation: "a", Prefix: netip.MustParsePrefix("10.1.0.0/16")},
		"nothing":           {Feed: "none"},
	}
}

// columnValue is an event's value of a sort or grouping column.
func columnValue(e *event.Event, key string) string {
	switch key {
	case string(store.SortSourceIP):
		return e.Value("source.ip")
	case string(store.SortSourceASN):
		return e.Value("source.asn")
	case string(store.SortType):
		return e.Value("classification.type")
	case string(store.SortFeed):
		return e.Value("feed.name")
	}
	panic("no column " + key)
}

// compareColumn orders two values of a sortable column ascending, ""
// excepted (the caller puts it last).
func compareColumn(key, a, b string) int {
	switch key {
	case string(store.SortSourceIP):
		return netip.MustParseAddr(a).Compare(netip.MustParseAddr(b))
	case string(store.SortSourceASN):
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return cmp.Compare(x, y)
	}
	return strings.Compare(a, b)
}

// sortedLike orders events (newest first, as a time search returns them)
// by the column, empty values last either way, ties keeping their order.
func sortedLike(events []store.StoredEvent, key string, asc bool) []store.StoredEvent {
	out := slices.Clone(events)
	slices.SortStableFunc(out, func(x, y store.StoredEvent) int {
		a, b := columnValue(x.Event, key), columnValue(y.Event, key)
		switch {
		case a == b:
			return 0
		case a == "":
			return 1
		case b == "":
			return -1
		}
		if asc {
			return compareColumn(key, a, b)
		}
		return compareColumn(key, b, a)
	})
	return out
}

func testTableCounts(t *testing.T, s store.Store) {
	insert(t, s, isolationCorpus(t), nil)
	for name, q := range tableQueries() {
		t.Run(name, func(t *testing.T) {
			n := len(searchAll(t, s, q))
			for _, bound := range []int{0, 1, 7, n - 1, n, n + 1, store.SearchWindow} {
				if bound < 0 {
					continue
				}
				got, err := s.CountMatches(t.Context(), q, bound)
				if err != nil {
					t.Fatalf("CountMatches(bound %d): %v", bound, err)
				}
				if want := min(n, bound+1); got != want {
					t.Errorf("CountMatches(bound %d) = %d, want %d (%d match)", bound, got, want, n)
				}
			}
			// The cursor, page size and sort of a query do not change
			// its count.
			q.Limit, q.Sort, q.Ascending = 3, store.SortFeed, true
			if got, err := s.CountMatches(t.Context(), q, 1000); err != nil || got != n {
				t.Errorf("CountMatches with a page size and sort = %d, %v; want %d", got, err, n)
			}
		})
	}
}

func testTableSort(t *testing.T, s store.Store) {
	insert(t, s, isolationCorpus(t), nil)
	for name, q := range tableQueries() {
		t.Run(name, func(t *testing.T) {
			all := searchAll(t, s, q)
			asc := slices.Clone(all)
			slices.Reverse(asc)
			q.Ascending = true
			if got, want := eventLabels(pageThrough(t, s, q, 7)), eventLabels(asc); got != want {
				t.Errorf("oldest first:\n got %s\nwant %s", got, want)
			}
			for _, key := range store.SortKeys[1:] {
				for _, ascending := range []bool{true, false} {
					q.Sort, q.Ascending = key, ascending
					want := eventLabels(sortedLike(all, string(key), ascending))
					if got := eventLabels(pageThrough(t, s, q, 7)); got != want {
						t.Errorf("by %s ascending=%v:\n got %s\nwant %s", key, ascending, got, want)
					}
				}
			}
		})
	}
	t.Run("pages stay put when events arrive", func(t *testing.T) {
		q := store.EventQuery{Sort: store.SortFeed, Limit: 10}
		first, err := s.SearchEvents(t.Context(), q)
		if err != nil || first.Next == "" {
			t.Fatalf("first page: %v, next %q", err, first.Next)
		}
		second, err := s.SearchEvents(t.Context(), store.EventQuery{Sort: store.SortFeed, Limit: 10, After: first.Next})
		if err != nil {
			t.Fatal(err)
		}
		// A newer event of the first feed would sort onto the first
		// page of a fresh search, but not into this one's second page.
		insert(t, s, []*event.Event{ev(t, map[string]string{"comment": "late", "feed.name": "F0",
			"time.source": event.FormatTime(base.Add(time.Hour))})}, nil)
		again, err := s.SearchEvents(t.Context(), store.EventQuery{Sort: store.SortFeed, Limit: 10, After: first.Next})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Join(labels(again), " "), strings.Join(labels(second), " "); got != want {
			t.Errorf("second page after an insert:\n got %s\nwant %s", got, want)
		}
	})
	t.Run("bad sort and cursors", func(t *testing.T) {
		if _, err := s.SearchEvents(t.Context(), store.EventQuery{Sort: "data"}); !errors.Is(err, store.ErrBadColumn) {
			t.Errorf("sort by data: %v, want ErrBadColumn", err)
		}
		page, err := s.SearchEvents(t.Context(), store.EventQuery{Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		// A time cursor is no window cursor, and the other way round.
		if _, err := s.SearchEvents(t.Context(), store.EventQuery{Sort: store.SortType, After: page.Next}); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("time cursor for a sort by type: %v, want ErrBadCursor", err)
		}
		w := store.WindowCursor{Offset: 5}.String()
		if _, err := s.SearchEvents(t.Context(), store.EventQuery{After: w}); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("window cursor for a sort by time: %v, want ErrBadCursor", err)
		}
	})
}

// groupsOf counts events by a column as GroupEvents must.
func groupsOf(t *testing.T, events []store.StoredEvent, by store.GroupKey, top int) []store.GroupCount {
	counts := make(map[string]int)
	for _, e := range events {
		if by == store.GroupOrganisation {
			for _, h := range tagsOf(t, e.Event) {
				counts[h]++
			}
			continue
		}
		counts[columnValue(e.Event, string(by))]++
	}
	return store.TopGroups(by, counts, top)
}

func groupsText(groups []store.GroupCount) string {
	var b strings.Builder
	for _, g := range groups {
		fmt.Fprintf(&b, "%s=%d ", g.Value, g.Count)
	}
	return b.String()
}

func testTableGroups(t *testing.T, s store.Store) {
	insert(t, s, isolationCorpus(t), nil)
	for name, q := range tableQueries() {
		t.Run(name, func(t *testing.T) {
			all := searchAll(t, s, q)
			for _, by := range store.GroupKeys {
				for _, top := range []int{3, 1000} {
					got, err := s.GroupEvents(t.Context(), q, by, top)
					if err != nil {
						t.Fatalf("GroupEvents(%s): %v", by, err)
					}
					if g, w := groupsText(got), groupsText(groupsOf(t, all, by, top)); g != w {
						t.Errorf("GroupEvents(%s, top %d):\n got %s\nwant %s", by, top, g, w)
					}
				}
			}
		})
	}
	if _, err := s.GroupEvents(t.Context(), store.EventQuery{}, "data", 10); !errors.Is(err, store.ErrBadColumn) {
		t.Errorf("group by data: %v, want ErrBadColumn", err)
	}
}

// testTableIsolation: an organisation's counts and groupings count its
// own events and never another's, and it cannot group by organisation.
func testTableIsolation(t *testing.T, s store.Store) {
	insert(t, s, isolationCorpus(t), nil)
	all := searchAll(t, s, store.EventQuery{})
	for _, org := range []string{"a", "b", "c", "nobody"} {
		view := constituency.EventsOf(s, constituency.Organisation{Handle: org})
		mine := owned(t, all, org)
		for name, q := range tableQueries() {
			// Whatever organisation a query names, the view's own is
			// the one counted.
			q.Organisation = "b"
			want := owned(t, searchAll(t, s, store.EventQuery{}), org)
			want = filterLike(t, s, q, want)
			n, err := view.CountMatches(t.Context(), q, store.SearchWindow)
			if err != nil || n != len(want) {
				t.Errorf("%s: %s: CountMatches = %d, %v; want %d", org, name, n, err, len(want))
			}
			for _, by := range []store.GroupKey{store.GroupSourceIP, store.GroupSourceASN, store.GroupType, store.GroupFeed} {
				got, err := view.GroupEvents(t.Context(), q, by, 1000)
				if err != nil {
					t.Fatalf("%s: GroupEvents(%s): %v", org, by, err)
				}
				if g, w := groupsText(got), groupsText(groupsOf(t, want, by, 1000)); g != w {
					t.Errorf("%s: %s: GroupEvents(%s):\n got %s\nwant %s", org, name, by, g, w)
				}
			}
		}
		if _, err := view.GroupEvents(t.Context(), store.EventQuery{}, store.GroupOrganisation, 10); !errors.Is(err, store.ErrBadColumn) {
			t.Errorf("%s: group by organisation: %v, want ErrBadColumn", org, err)
		}
		if n, _ := view.CountMatches(t.Context(), store.EventQuery{}, store.SearchWindow); n != len(mine) {
			t.Errorf("%s: counts %d events, owns %d", org, n, len(mine))
		}
	}
}

// filterLike keeps the events of candidates that q (without its
// organisation) also selects in s.
func filterLike(t *testing.T, s store.Store, q store.EventQuery, candidates []store.StoredEvent) []store.StoredEvent {
	q.Organisation = ""
	matched := make(map[event.Hash]bool)
	for _, e := range searchAll(t, s, q) {
		matched[e.Hash] = true
	}
	var out []store.StoredEvent
	for _, e := range candidates {
		if matched[e.Hash] {
			out = append(out, e)
		}
	}
	return out
}

// testTableWindow checks the bound itself: more matches than
// store.SearchWindow are counted as "more", grouped and sorted over the
// newest SearchWindow.
func testTableWindow(t *testing.T, s store.Store) {
	g := NewGenerator(11)
	for range 5 {
		insert(t, s, g.Batch(store.SearchWindow/5+10), nil)
	}
	q := store.EventQuery{}
	n, err := s.CountMatches(t.Context(), q, store.SearchWindow)
	if err != nil || n != store.SearchWindow+1 {
		t.Fatalf("CountMatches = %d, %v; want %d", n, err, store.SearchWindow+1)
	}
	groups, err := s.GroupEvents(t.Context(), q, store.GroupType, 100)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for _, gr := range groups {
		sum += gr.Count
	}
	if sum != store.SearchWindow {
		t.Errorf("groups count %d events, want the window's %d", sum, store.SearchWindow)
	}
	q.Sort, q.Limit = store.SortSourceIP, 2500
	if got := len(pageThrough(t, s, q, 2500)); got != store.SearchWindow {
		t.Errorf("sorted by address: %d events, want the window's %d", got, store.SearchWindow)
	}
}
