package sqlitestore

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestOrgSearchSkipsPartitions stores 8 sealed partitions of 20 events,
// organisation a's in partitions 2 and 5 only, b's nowhere: a search
// confined to a asks only those two partitions, newest and oldest first,
// and finds its events; one confined to b asks none.
func TestOrgSearchSkipsPartitions(t *testing.T) {
	withSealInline(t)
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts, PartitionEvents: 20})
	defer s.Close()
	var ofA []event.Hash
	for i := range 8 {
		var batch []*event.Event
		for j := range 20 {
			fields := map[string]string{
				"time.source": event.FormatTime(time.Date(2024, 5, 1, 0, i, j, 0, time.UTC)),
				"source.ip":   fmt.Sprintf("198.51.%d.%d", i, j+1),
			}
			var orgs []string
			if (i == 2 || i == 5) && j%4 == 0 {
				orgs = []string{"a"}
			}
			e := storetest.Event(t, fields, orgs...)
			if len(orgs) > 0 {
				ofA = append(ofA, e.Hash())
			}
			batch = append(batch, e)
		}
		storetest.Insert(t, s, batch...)
	}
	for _, q := range []store.EventQuery{
		{Organisation: "a"},
		{Organisation: "a", Ascending: true},
		{Organisation: "a", IP: netip.MustParseAddr("198.51.5.1")},
		{Organisation: "b"},
	} {
		before := s.parts.sealedAsked.Load()
		page, err := s.SearchEvents(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		want, wantAsked := len(ofA), int64(2)
		switch {
		case q.Organisation == "b":
			want, wantAsked = 0, 0
		case q.IP.IsValid():
			want, wantAsked = 1, 1
		}
		if len(page.Events) != want {
			t.Errorf("%+v: %d events, want %d", q, len(page.Events), want)
		}
		if asked := s.parts.sealedAsked.Load() - before; asked > wantAsked {
			t.Errorf("%+v: %d sealed partitions asked of 8, want %d", q, asked, wantAsked)
		}
	}
}

// TestOrgIDsPlanByTime checks that the hot partitions' read of the index
// of events by organisation is a range of its key by time, not a scan of
// every entry of the organisation.
func TestOrgIDsPlanByTime(t *testing.T) {
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts})
	defer s.Close()
	var id, parent, unused int
	var detail string
	if err := s.read.QueryRowContext(t.Context(), `EXPLAIN QUERY PLAN `+orgIDsSQL, "a", 1, 2, 3).Scan(&id, &parent, &unused, &detail); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(detail, "org=? AND time_source>? AND time_source<?") {
		t.Errorf("plan %q, want a range of (org, time_source)", detail)
	}
}
