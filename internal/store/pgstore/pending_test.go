package pgstore

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// TestPendingInterleavedBlocks stores two batches whose ids interleave,
// as two batches reserving their ids at once may get them (1, 3, 5, … and
// 2, 4, 6, …): ScanPendingNotifications reads each block once, not once
// for every change of block from one event to the next, and still gives
// every event its own record; ListPendingNotifications too.
func TestPendingInterleavedBlocks(t *testing.T) {
	ctx := t.Context()
	s := openFresh(t)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	events := copyCorpus(t, 2*150)
	for i := 1; i < len(events); i += 3 {
		events[i].SetTrusted("extra.constituency", `["uni"]`) // two in three pending
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	now := time.Now()
	for half := range 2 {
		var b batchColumns
		b.fill(events[half*150:(half+1)*150], now)
		b.packBatch(now)
		if len(b.blocks) != 2 {
			t.Fatalf("batch %d: %d blocks; want 2", half, len(b.blocks))
		}
		ids := make([]int64, 150)
		for i := range ids {
			ids[i] = int64(2*i + 1 + half)
		}
		if err := copyWithIDs(ctx, tx, &b, ids, now); err != nil {
			t.Fatalf("copyWithIDs: %v", err)
		}
		b.release()
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var sent, blocks, pending int
	rows, err := s.pool.Query(ctx, scanPendingSQL)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		pending++
		if vals[len(vals)-1] != nil {
			sent++
		}
		if id, ok := vals[5].(int64); ok && !seen[id] {
			seen[id] = true
			blocks++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if pending != 2*len(events)/3 || blocks != 4 || sent != blocks {
		t.Fatalf("the scan's query sent %d blocks for %d pending events in %d blocks; want %d events in 4 blocks, each sent once",
			sent, pending, blocks, 2*len(events)/3)
	}

	// Event i of batch half has the id 2i+1+half.
	want := map[int64][]byte{}
	for half := range 2 {
		for i, e := range events[half*150 : (half+1)*150] {
			want[int64(2*i+1+half)] = event.AppendRecord(nil, e)
		}
	}
	scanned := 0
	err = s.ScanPendingNotifications(ctx, func(p *store.PendingPage) error {
		for i := range p.Len() {
			if !bytes.Equal(p.Record(i), want[p.Seq[i]]) {
				return fmt.Errorf("event %d: record differs", p.Seq[i])
			}
			scanned++
		}
		return nil
	})
	if err != nil || scanned != pending {
		t.Fatalf("ScanPendingNotifications = %d events, %v; want %d", scanned, err, pending)
	}
	list, err := s.ListPendingNotifications(ctx, "uni", 0, 1000)
	if err != nil || len(list) != pending {
		t.Fatalf("ListPendingNotifications = %d, %v; want %d", len(list), err, pending)
	}
	for _, p := range list {
		e, err := event.DecodeRecord(want[p.Seq])
		if err != nil {
			t.Fatal(err)
		}
		h := e.Hash()
		store.WithoutWithheld(e)
		if p.Event == nil || p.Hash != h || !bytes.Equal(event.AppendRecord(nil, p.Event), event.AppendRecord(nil, e)) {
			t.Fatalf("ListPendingNotifications: event %d differs", p.Seq)
		}
	}
}

// TestListPendingGone: an event gone from the store (retention) is listed
// with no hash and no event; an event whose hash happens to be all zeros
// is not gone, and comes with its record.
func TestListPendingGone(t *testing.T) {
	ctx := t.Context()
	s := openFresh(t)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	events := copyCorpus(t, 6)
	for _, e := range events {
		e.SetTrusted("extra.constituency", `["uni"]`)
	}
	if _, err := s.InsertBatch(ctx, store.EventBatch{Events: events}); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListPendingNotifications(ctx, "uni", 0, 100)
	if err != nil || len(list) != len(events) {
		t.Fatalf("ListPendingNotifications = %d, %v", len(list), err)
	}
	zero, gone := list[1].Seq, list[3].Seq
	if _, err := s.pool.Exec(ctx, `UPDATE events SET hash = $1 WHERE id = $2`, make([]byte, len(event.Hash{})), zero); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM events WHERE id = $1`, gone); err != nil {
		t.Fatal(err)
	}
	list, err = s.ListPendingNotifications(ctx, "uni", 0, 100)
	if err != nil || len(list) != len(events) {
		t.Fatalf("ListPendingNotifications = %d, %v", len(list), err)
	}
	for i, p := range list {
		switch {
		case p.Seq == gone:
			if p.Event != nil || p.Hash != (event.Hash{}) {
				t.Errorf("the gone event %d is listed with an event or a hash", p.Seq)
			}
		case p.Event == nil:
			t.Errorf("event %d (hash %s) is listed as gone", p.Seq, p.Hash)
		case p.Seq == zero:
			e, err := event.DecodeRecord(event.AppendRecord(nil, events[i]))
			if err != nil {
				t.Fatal(err)
			}
			store.WithoutWithheld(e)
			if p.Hash != (event.Hash{}) || !bytes.Equal(event.AppendRecord(nil, p.Event), event.AppendRecord(nil, e)) {
				t.Errorf("event %d: hash %s, or its record differs; want a zero hash and the record of event %d", p.Seq, p.Hash, i)
			}
		}
	}
}

// storeAtVersion migrates s to version and stores byStatement with
// INSERT, each event's record in its row, and byCopy in one COPY, their
// records in blocks: a database as that version's processes left it.
func storeAtVersion(t *testing.T, s *Store, version int, byStatement, byCopy []*event.Event) {
	t.Helper()
	ctx := t.Context()
	if err := s.migrateTo(ctx, version); err != nil {
		t.Fatal(err)
	}
	insertByStatement(t, s, byStatement)
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var b batchColumns
	now := time.Now()
	b.fill(byCopy, now)
	b.packBatch(now)
	var sub batchColumns
	defer sub.release()
	var hold hotHold
	ids, copied, err := s.copyEvents(ctx, tx, &hold, byCopy, &b, &sub, now)
	if err != nil || len(ids) != len(byCopy) {
		t.Fatalf("copyEvents = %d ids, %v; want %d", len(ids), err, len(byCopy))
	}
	if err := hold.release(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if err := copyBlocksAndTags(ctx, tx, copied, ids, now); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestMigrateEventRecordCheck migrates a database of migration 11 holding
// records in data and in blocks: every row passes migration 12's check,
// the events read back, and a row with neither is refused after.
func TestMigrateEventRecordCheck(t *testing.T) {
	ctx := t.Context()
	s := openFresh(t)
	events := copyCorpus(t, 200)
	storeAtVersion(t, s, 11, events[:50], events[50:])
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	for _, e := range events {
		got, err := s.GetEvent(ctx, e.Hash())
		if err != nil || !bytes.Equal(event.AppendRecord(nil, got.Event), event.AppendRecord(nil, e)) {
			t.Fatalf("GetEvent %s after the migration: %v", e.Hash(), err)
		}
	}
	for name, set := range map[string]string{"no record": "data = NULL, block_id = NULL", "a block without a slot": "data = NULL, block_slot = NULL"} {
		_, err := s.pool.Exec(ctx, `UPDATE events SET `+set+` WHERE id = (SELECT max(id) FROM events)`)
		if err == nil {
			t.Errorf("%s: the update was taken", name)
		}
	}
}
