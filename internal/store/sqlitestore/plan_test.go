package sqlitestore

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// explain returns SQLite's query plan for the search q, one line a step.
// Plans are checked rather than timings, which vary with the machine.
func explain(t *testing.T, s *Store, q store.EventQuery, timeScan bool) string {
	t.Helper()
	text, args, err := searchSQL(q, timeScan)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.read.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+text, args...)
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&b, detail)
	}
	return b.String()
}

func TestQueryPlans(t *testing.T) {
	s := openTemp(t, Options{Synchronous: "OFF"})
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	g := storetest.NewGenerator(3)
	for range 5 {
		if _, err := s.InsertEvents(t.Context(), g.Batch(1000), nil); err != nil {
			t.Fatal(err)
		}
	}
	after := store.Cursor{TimeSource: g.Start.Add(time.Hour).UnixMicro(), ID: 100}.String()
	prefix := netip.MustParsePrefix("100.3.0.0/16")
	// want lists fragments the plan must contain, without fragments it
	// must not; none of the searches may read the whole table without an
	// index.
	tests := []struct {
		name     string
		q        store.EventQuery
		timeScan bool
		want     []string
		without  []string
	}{
		{"newest", store.EventQuery{}, false, []string{"SCAN events USING INDEX events_time"}, nil},
		{"IP", store.EventQuery{IP: netip.MustParseAddr("100.0.1.2"), After: after}, false,
			[]string{"COVERING INDEX events_src_ip (src_ip=? AND time_source<?)", "COVERING INDEX events_dst_ip (dst_ip=? AND time_source<?)", "MERGE (UNION)"}, nil},
		{"CIDR", store.EventQuery{Prefix: prefix}, false,
			[]string{"COVERING INDEX events_src_ip (src_ip>? AND src_ip<?)", "COVERING INDEX events_dst_ip (dst_ip>? AND dst_ip<?)"}, nil},
		{"CIDR by time", store.EventQuery{Prefix: prefix}, true, []string{"SCAN events USING INDEX events_time"}, nil},
		{"ASN and time", store.EventQuery{ASN: 64512, From: g.Start}, false,
			[]string{"COVERING INDEX events_src_asn (src_asn=? AND time_source>?)", "COVERING INDEX events_dst_asn (dst_asn=? AND time_source>?)"}, nil},
		{"domain", store.EventQuery{FQDN: "example.be"}, false,
			[]string{"COVERING INDEX events_src_fqdn (src_fqdn>? AND src_fqdn<?)", "COVERING INDEX events_dst_fqdn (dst_fqdn>? AND dst_fqdn<?)"}, nil},
		{"URL", store.EventQuery{URL: "http://example.be/"}, false, []string{"INDEX events_src_url (src_url=?)", "INDEX events_dst_url (dst_url=?)"}, nil},
		{"hash", store.EventQuery{Hash: strings.Repeat("a", 64)}, false, []string{"INDEX events_sha256 (sha256=?)"}, nil},
		{"feed", store.EventQuery{Feed: "x", To: g.Start}, false, []string{"SEARCH events USING INDEX events_time (time_source<?)"}, nil},
		// An organisation's events come out of its event_orgs range in
		// page order: no sort, whatever else is filtered.
		{"organisation", store.EventQuery{Organisation: "ulb", Feed: "x"}, false,
			[]string{"SEARCH o USING PRIMARY KEY (org=?)", "SEARCH e USING INTEGER PRIMARY KEY (rowid=?)"}, []string{"TEMP B-TREE", "events_time"}},
		{"organisation after a cursor", store.EventQuery{Organisation: "ulb", After: after, From: g.Start}, false,
			[]string{"SEARCH o USING PRIMARY KEY (org=? AND time_source>? AND time_source<?)"}, []string{"TEMP B-TREE"}},
		{"organisation and IP", store.EventQuery{Organisation: "ulb", IP: netip.MustParseAddr("100.0.1.2")}, false,
			[]string{"COVERING INDEX events_src_ip (src_ip=?)", "SEARCH o EXISTS USING PRIMARY KEY (org=? AND time_source=? AND event_id=?)"}, nil},
		{"organisation and CIDR by time", store.EventQuery{Organisation: "ulb", Prefix: prefix}, true,
			[]string{"SEARCH o USING PRIMARY KEY (org=?)"}, []string{"TEMP B-TREE", "events_src_ip"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := explain(t, s, tt.q, tt.timeScan)
			for _, w := range tt.want {
				if !strings.Contains(plan, w) {
					t.Errorf("plan lacks %q:\n%s", w, plan)
				}
			}
			for _, w := range tt.without {
				if strings.Contains(plan, w) {
					t.Errorf("plan has %q:\n%s", w, plan)
				}
			}
			for _, line := range strings.Split(plan, "\n") {
				if strings.HasPrefix(line, "SCAN events") && !strings.Contains(line, "USING") {
					t.Errorf("plan reads the whole table:\n%s", plan)
				}
			}
		})
	}
}

// TestTablePlans: the groupings and column sorts of the table of events
// read the events of the bounded id list by rowid, and never scan the
// table to probe the list.
func TestTablePlans(t *testing.T) {
	s := openTemp(t, Options{Synchronous: "OFF"})
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.InsertEvents(t.Context(), storetest.NewGenerator(5).Batch(500), nil); err != nil {
		t.Fatal(err)
	}
	for name, q := range map[string]store.EventQuery{"all": {}, "ASN": {ASN: 64512}, "organisation": {Organisation: "a"}, "CIDR": {Prefix: netip.MustParsePrefix("100.0.0.0/16")}} {
		text, args, err := s.matchIDs(t.Context(), q, nil, store.SearchWindow)
		if err != nil {
			t.Fatal(err)
		}
		for kind, stmt := range map[string]struct {
			sql  string
			args []any
		}{
			"group": {groupSQL("src_ip", text), args},
			"sort":  {windowSQL(text, fmt.Sprintf(sortOrders[store.SortSourceIP], "ASC")), append(append([]any(nil), args...), 50, 0)},
		} {
			rows, err := s.read.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+stmt.sql, stmt.args...)
			if err != nil {
				t.Fatalf("%s %s: %v", name, kind, err)
			}
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			rows.Close()
			joined := strings.Join(plan, "\n")
			if !strings.Contains(joined, "USING INTEGER PRIMARY KEY (rowid=?)") {
				t.Errorf("%s %s: events not read by rowid:\n%s", name, kind, joined)
			}
			for _, line := range plan {
				if strings.HasPrefix(line, "SCAN e") && !strings.Contains(line, "USING") || line == "SCAN w" || line == "SCAN events" {
					t.Errorf("%s %s: scans the table:\n%s", name, kind, joined)
				}
			}
		}
	}
}
