package pgstore

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestSealLeavesEmptyColumnsOut: a partition sealed with events that carry
// no hash of malware (nor any destination) gets no index of those columns
// and records them empty; a search by an MD5 leaves the partition out of
// its plan, and finds the event with that MD5 stored after the seal; a
// search by a source address still reads the partition.
func TestSealLeavesEmptyColumnsOut(t *testing.T) {
	ctx := t.Context()
	s := openFresh(t)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC()
	events := observedOn(storetest.NewGenerator(3).Batch(50), today)
	if n, err := s.InsertEvents(ctx, events, nil); err != nil || n != 50 {
		t.Fatalf("InsertEvents = %d, %v", n, err)
	}
	if err := s.SealEvents(ctx); err != nil {
		t.Fatal(err)
	}
	if wrong := sealedWrong(t, s, 1); wrong != "" {
		t.Fatalf("partition 1: %s", wrong)
	}
	var empty []string
	if err := s.pool.QueryRow(ctx, `SELECT empty FROM event_partitions WHERE num = 1`).Scan(&empty); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(empty, "md5") || !slices.Contains(empty, "dst_ip") || slices.Contains(empty, "src_ip") {
		t.Fatalf("partition 1's empty columns: %v; want md5 and dst_ip, not src_ip", empty)
	}

	const md5 = "0123456789abcdef0123456789abcdef"
	late := observedOn(storetest.NewGenerator(4).Batch(1), today)
	late[0].SetTrusted("malware.hash.md5", md5)
	if n, err := s.InsertEvents(ctx, late, nil); err != nil || n != 1 {
		t.Fatalf("InsertEvents after the seal = %d, %v", n, err)
	}
	if id := sameRecord(t, s, late[0]); id>>partitionBits != 2 {
		t.Fatalf("the late event has id %d, not in partition 2", id)
	}

	byMD5 := store.EventQuery{Hash: md5, Limit: 10}
	if plan := explainMatch(t, s, byMD5); strings.Contains(plan, " on events_1 ") || !strings.Contains(plan, " on events_2 ") {
		t.Errorf("the plan of a search by MD5 reads partition 1, or not 2:\n%s", plan)
	}
	page, err := s.SearchEvents(ctx, byMD5)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 1 || page.Events[0].Event.Hash() != late[0].Hash() {
		t.Fatalf("SearchEvents by MD5 found %d events; want the late one", len(page.Events))
	}
	if n, err := s.CountMatches(ctx, byMD5, 100); err != nil || n != 1 {
		t.Fatalf("CountMatches by MD5 = %d, %v; want 1", n, err)
	}

	v, _ := events[7].Get("source.ip")
	byIP := store.EventQuery{IP: netip.MustParseAddr(v), Limit: 100}
	if plan := explainMatch(t, s, byIP); !strings.Contains(plan, " on events_1 ") {
		t.Errorf("the plan of a search by address does not read partition 1:\n%s", plan)
	}
	page, err = s.SearchEvents(ctx, byIP)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(page.Events, func(se store.StoredEvent) bool { return se.Event.Hash() == events[7].Hash() }) {
		t.Fatalf("SearchEvents by %s does not find event 7 of partition 1", v)
	}
}

// explainMatch returns the plan of the statement that finds the ids of
// the events q matches (the part of a search that reads by the indexes).
func explainMatch(t *testing.T, s *Store, q store.EventQuery) string {
	t.Helper()
	text, a := matchSQL(q, nil, shape{ids: true, limit: 10, empty: s.emptyPartitions(t.Context())})
	rows, err := s.pool.Query(t.Context(), "EXPLAIN "+text, a...)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

func TestEmptyRangesLeaveOut(t *testing.T) {
	e := emptyRanges{"md5": {{partitionStart(1), partitionStart(3)}, {partitionStart(4), partitionStart(5)}}}
	if got := e.leaveOut("src_ip"); got != "" {
		t.Errorf("leaveOut(src_ip) = %q; want nothing", got)
	}
	want := "(id < 68719476736 OR id >= 206158430208) AND (id < 274877906944 OR id >= 343597383680)"
	if got := e.leaveOut("md5"); got != want {
		t.Errorf("leaveOut(md5) = %q; want %q", got, want)
	}
}
