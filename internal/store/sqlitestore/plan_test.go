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
func explain(t *testing.T, s *Store, q store.EventQuery) string {
	t.Helper()
	text, args, err := searchSQL(q)
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
	for _, q := range []store.EventQuery{
		{},
		{IP: netip.MustParseAddr("100.0.1.2")},
		{IP: netip.MustParseAddr("100.0.1.2"), After: after},
		{Prefix: netip.MustParsePrefix("100.3.0.0/16")},
		{Prefix: netip.MustParsePrefix("100.3.0.0/16"), After: after},
		{ASN: 64512},
		{ASN: 64512, After: after, From: g.Start},
		{FQDN: "example.be"},
		{Feed: "x"},
		{Prefix: netip.MustParsePrefix("100.3.0.0/16"), Feed: "x"},
	} {
		t.Logf("%+v\n%s", q, explain(t, s, q))
	}
}
