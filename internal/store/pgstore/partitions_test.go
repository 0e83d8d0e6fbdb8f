package pgstore

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// openSecond opens another Store on s's schema: a second vigil process
// writing to the same database.
func openSecond(t *testing.T, s *Store) *Store {
	t.Helper()
	var schema string
	if err := s.pool.QueryRow(t.Context(), `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	other, err := Open(t.Context(), withSearchPath(t, testDSN(t), schema))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return other
}

// withParam adds a run-time parameter (a setting of the server's
// session) to dsn, of either form.
func withParam(dsn, name, value string) string {
	if strings.Contains(dsn, "://") {
		return dsn + "&" + name + "=" + url.QueryEscape(value)
	}
	return dsn + " " + name + "=" + value
}

// observedOn sets the events' time.observation on day (their hashes do not
// change: time.observation is not hashed).
func observedOn(events []*event.Event, day time.Time) []*event.Event {
	for _, e := range events {
		e.SetTime("time.observation", day)
	}
	return events
}

// sameRecord fails t unless the store holds e as it was stored, and
// returns its id.
func sameRecord(t *testing.T, s *Store, e *event.Event) int64 {
	t.Helper()
	h := e.Hash()
	got, err := s.GetEvent(t.Context(), h)
	if err != nil {
		t.Fatalf("GetEvent %s: %v", h, err)
	}
	if !bytes.Equal(event.AppendRecord(nil, got.Event), event.AppendRecord(nil, e)) {
		t.Fatalf("GetEvent %s: the record differs", h)
	}
	var id int64
	if err := s.pool.QueryRow(t.Context(), `SELECT id FROM events WHERE hash = $1`, h[:]).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestMigrateEventPartitions migrates a database of migration 12 holding
// records in data and in blocks, with tagged events: the table stored so
// far becomes partition 0, its events read back under their ids, new
// events take ids of partition 1, and an event of partition 0 stored
// again is skipped.
func TestMigrateEventPartitions(t *testing.T) {
	ctx := t.Context()
	s := openFresh(t)
	events := copyCorpus(t, 300)
	storeAtVersion(t, s, 12, events[:50], events[50:200])
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	var kind string
	if err := s.pool.QueryRow(ctx, `SELECT relkind::text FROM pg_class WHERE oid = 'events'::regclass`).Scan(&kind); err != nil || kind != "p" {
		t.Fatalf("events is of kind %q (%v), want a partitioned table (p)", kind, err)
	}
	ids := map[event.Hash]int64{}
	for _, e := range events[:200] {
		id := sameRecord(t, s, e)
		if id >= partitionStart(1) {
			t.Fatalf("event stored before has id %d, past partition 0", id)
		}
		ids[e.Hash()] = id
	}
	// events[150:200] are in partition 0 already.
	n, err := s.InsertEvents(ctx, events[150:], nil)
	if err != nil || n != 100 {
		t.Fatalf("InsertEvents = %d, %v; want the 100 new events", n, err)
	}
	for _, e := range events[150:] {
		id := sameRecord(t, s, e)
		if old, ok := ids[e.Hash()]; ok && id != old {
			t.Fatalf("event of partition 0 moved from id %d to %d", old, id)
		}
		if _, ok := ids[e.Hash()]; !ok && id < partitionStart(1) {
			t.Fatalf("new event has id %d, below partition 1", id)
		}
	}
	if c, err := s.CountEvents(ctx); err != nil || c != 300 {
		t.Fatalf("CountEvents = %d, %v; want 300", c, err)
	}
	after, err := s.EventsAfter(ctx, 0, 1000)
	if err != nil || len(after) != 300 {
		t.Fatalf("EventsAfter(0) = %d events, %v; want 300", len(after), err)
	}
	for i := 1; i < len(after); i++ {
		if after[i].Seq <= after[i-1].Seq {
			t.Fatalf("EventsAfter out of order at %d: %d after %d", i, after[i].Seq, after[i-1].Seq)
		}
	}
	// A row with no record is still refused, in both partitions.
	for _, where := range []string{"id < 68719476736", "id >= 68719476736"} {
		if _, err := s.pool.Exec(ctx, `UPDATE events SET data = NULL, block_id = NULL WHERE id = (SELECT max(id) FROM events WHERE `+where+`)`); err == nil {
			t.Errorf("%s: a row without its record was taken", where)
		}
	}
}

// partitionIndexes lists the indexes of partition n.
func partitionIndexes(t *testing.T, s *Store, n int64) []string {
	t.Helper()
	rows, err := s.pool.Query(t.Context(), `SELECT indexname FROM pg_indexes WHERE tablename = $1 AND schemaname = current_schema() ORDER BY 1`,
		fmt.Sprintf("events_%d", n))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	return names
}

// sealedWrong says what is wrong with sealed partition n, "" when nothing
// is: it is recorded sealed, with the searched columns it holds no value
// of (emptyColumns); each search index exists but those of its empty
// columns, which do not.
func sealedWrong(t *testing.T, s *Store, n int64) string {
	t.Helper()
	var (
		sealed bool
		empty  []string
	)
	if err := s.pool.QueryRow(t.Context(), `SELECT sealed IS NOT NULL, empty FROM event_partitions WHERE num = $1`, n).Scan(&sealed, &empty); err != nil {
		t.Fatal(err)
	}
	if !sealed || empty == nil {
		return fmt.Sprintf("sealed %v, empty columns %v; want it sealed with its empty columns recorded", sealed, empty)
	}
	conn, err := s.pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	counted, err := emptyColumns(t.Context(), conn.Conn(), fmt.Sprintf("events_%d", n))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(counted, empty) {
		return fmt.Sprintf("empty columns recorded %v, counted %v", empty, counted)
	}
	got := partitionIndexes(t, s, n)
	for _, ix := range searchIndexes {
		name := fmt.Sprintf("events_%d_%s", n, ix.name)
		if has, want := slices.Contains(got, name), !slices.Contains(empty, ix.name); has != want {
			return fmt.Sprintf("index %s: %v, want %v (indexes %v, empty columns %v)", name, has, want, got, empty)
		}
	}
	return ""
}

// TestPartitionRoll: a batch of a later observation day opens partition
// 2, partition 1 is sealed with its search indexes, and events are found
// and stored exactly once across both.
func TestPartitionRoll(t *testing.T) {
	ctx := t.Context()
	s := openFresh(t)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	events := copyCorpus(t, 400)
	today := time.Now().UTC()
	if n, err := s.InsertEvents(ctx, observedOn(events[:200], today), nil); err != nil || n != 200 {
		t.Fatalf("InsertEvents = %d, %v", n, err)
	}
	if got := partitionIndexes(t, s, 1); len(got) != 2 || !slices.Contains(got, "events_1_time") {
		t.Fatalf("hot partition's indexes: %v; want its key and time index", got)
	}
	tomorrow := today.Add(24 * time.Hour)
	if n, err := s.InsertEvents(ctx, observedOn(events[200:300], tomorrow), nil); err != nil || n != 100 {
		t.Fatalf("InsertEvents = %d, %v", n, err)
	}
	s.parts.wg.Wait() // the sealing the roll started
	if wrong := sealedWrong(t, s, 1); wrong != "" {
		t.Fatalf("closed partition's indexes: %s; want the search indexes too", wrong)
	}
	var sealed1, sealed2 bool
	if err := s.pool.QueryRow(ctx, `SELECT (SELECT sealed IS NOT NULL FROM event_partitions WHERE num = 1),
		(SELECT sealed IS NOT NULL FROM event_partitions WHERE num = 2)`).Scan(&sealed1, &sealed2); err != nil {
		t.Fatal(err)
	}
	if !sealed1 || sealed2 {
		t.Fatalf("sealed: partition 1 %v, partition 2 %v; want true, false", sealed1, sealed2)
	}
	for i, e := range events[:300] {
		id := sameRecord(t, s, e)
		want := int64(1)
		if i >= 200 {
			want = 2
		}
		if id>>partitionBits != want {
			t.Fatalf("event %d has id %d, not in partition %d", i, id, want)
		}
	}
	// Events of both partitions stored again with new ones: only the new
	// ones are stored, by COPY when nothing in the batch is stored.
	again := append(append([]*event.Event{}, events[100:120]...), events[250:270]...)
	again = append(again, events[300:350]...)
	if n, err := s.InsertEvents(ctx, again, nil); err != nil || n != 50 {
		t.Fatalf("InsertEvents of 40 stored and 50 new = %d, %v", n, err)
	}
	if n, err := s.InsertEvents(ctx, events[350:], nil); err != nil || n != 50 {
		t.Fatalf("InsertEvents of 50 new = %d, %v", n, err)
	}
	if c, err := s.CountEvents(ctx); err != nil || c != 400 {
		t.Fatalf("CountEvents = %d, %v; want 400", c, err)
	}
	// Searches read the sealed partition by its indexes and the hot one by
	// its rows.
	for _, i := range []int{5, 305} {
		v, _ := events[i].Get("source.ip")
		ip := netip.MustParseAddr(v)
		page, err := s.SearchEvents(ctx, store.EventQuery{IP: ip, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, se := range page.Events {
			found = found || se.Event.Hash() == events[i].Hash()
		}
		if !found {
			t.Errorf("SearchEvents by %s does not find event %d", ip, i)
		}
	}
	// SealEvents closes partition 2 and builds its indexes at once.
	if err := s.SealEvents(ctx); err != nil {
		t.Fatal(err)
	}
	if wrong := sealedWrong(t, s, 2); wrong != "" {
		t.Fatalf("partition 2's indexes after SealEvents: %s", wrong)
	}
	if n, err := s.InsertEvents(ctx, events[:10], nil); err != nil || n != 0 {
		t.Fatalf("InsertEvents of 10 stored = %d, %v", n, err)
	}
}

// TestPartitionsExactlyOnce: two stores (two vigil processes) store the
// same batches at once, days moving on as they go: every event is stored
// once.
func TestPartitionsExactlyOnce(t *testing.T) {
	ctx := t.Context()
	s := openFresh(t)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	other := openSecond(t, s)
	events := copyCorpus(t, 1200)
	day := time.Now().UTC()
	var batches [][]*event.Event
	for i := 0; i < len(events); i += 100 {
		if i%400 == 0 {
			day = day.Add(24 * time.Hour)
		}
		// Each batch holds 50 events of the one before.
		batches = append(batches, observedOn(events[max(0, i-50):i+100], day))
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int
	)
	for _, st := range []*Store{s, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, b := range batches {
				n, err := st.InsertEvents(ctx, b, nil)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				total += n
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if total != len(events) {
		t.Errorf("the two stores stored %d events between them, want %d", total, len(events))
	}
	if c, err := s.CountEvents(ctx); err != nil || c != int64(len(events)) {
		t.Errorf("CountEvents = %d, %v; want %d", c, err, len(events))
	}
	var partitions int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM event_partitions`).Scan(&partitions); err != nil || partitions < 3 {
		t.Errorf("%d partitions (%v), want at least 3 (the days moved on)", partitions, err)
	}
	for _, e := range events {
		sameRecord(t, s, e)
	}
}

// TestPartitionRollRepair puts the database in the states a roll that
// stopped half way leaves, as another process would find them: a
// partition created with the sequence not moved into it, and the sequence
// moved past the latest partition. The next batch stores into the
// partition the sequence should be in, and the closed one is sealed.
func TestPartitionRollRepair(t *testing.T) {
	ctx := t.Context()
	s, events, today := partitionedToday(t, 30)
	// Partition 2 created and recorded, the sequence left in partition 1.
	if err := createPartition(ctx, s.pool, 2, today.Format(dayFormat)); err != nil {
		t.Fatal(err)
	}
	other := openSecond(t, s)
	if n, err := other.InsertEvents(ctx, observedOn(events[10:20], today), nil); err != nil || n != 10 {
		t.Fatalf("InsertEvents = %d, %v", n, err)
	}
	// The store that seals partition 1 may be either: one skips what the
	// other is building.
	other.parts.wg.Wait()
	s.parts.wg.Wait()
	if id := sameRecord(t, s, events[15]); id>>partitionBits != 2 {
		t.Fatalf("event stored after the half roll has id %d, not in partition 2", id)
	}
	if wrong := sealedWrong(t, s, 1); wrong != "" {
		t.Fatalf("partition 1's indexes: %s; want it sealed", wrong)
	}
	// The sequence moved into partition 4, which was never created.
	if _, err := s.pool.Exec(ctx, `SELECT setval('events_id_seq', $1, false)`, partitionStart(4)+7); err != nil {
		t.Fatal(err)
	}
	third := openSecond(t, s)
	if n, err := third.InsertEvents(ctx, observedOn(events[20:], today), nil); err != nil || n != 10 {
		t.Fatalf("InsertEvents after the sequence moved past the partitions = %d, %v", n, err)
	}
	if id := sameRecord(t, s, events[25]); id>>partitionBits != 4 {
		t.Fatalf("event has id %d, not in partition 4", id)
	}
	third.parts.wg.Wait()
	other.parts.wg.Wait()
	s.parts.wg.Wait()
	if wrong := sealedWrong(t, s, 2); wrong != "" {
		t.Fatalf("partition 2's indexes: %s; want it sealed", wrong)
	}
	if c, err := s.CountEvents(ctx); err != nil || c != 30 {
		t.Fatalf("CountEvents = %d, %v; want 30", c, err)
	}
}

// TestPartitionRollBesideReader: rolls while another connection holds a
// read of events open, to a partition made ahead and to one the roll
// creates and attaches, do not wait for it (CREATE TABLE … PARTITION OF
// did: its ACCESS EXCLUSIVE lock waits for every read), and inserts go on
// into the new partition with the read still open.
func TestPartitionRollBesideReader(t *testing.T) {
	ctx := t.Context()
	s, events, today := partitionedToday(t, 20)
	s.parts.wg.Wait() // partition 2 made ahead (prepareNext): the roll to 3 creates and attaches it
	reader, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Rollback(context.Background())
	var id int64
	if err := reader.QueryRow(ctx, `SELECT id FROM events LIMIT 1`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	// A failure is this context running out: the roll waiting for the read.
	rollCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for range 2 {
		s.parts.mu.Lock()
		_, err = s.roll(rollCtx, today.Format(dayFormat), true)
		s.parts.mu.Unlock()
		if err != nil {
			t.Fatalf("roll beside an open read: %v", err)
		}
	}
	if n, err := s.InsertEvents(rollCtx, observedOn(events[10:], today), nil); err != nil || n != 10 {
		t.Fatalf("InsertEvents beside an open read = %d, %v", n, err)
	}
	if id := sameRecord(t, s, events[15]); id>>partitionBits != 3 {
		t.Fatalf("event stored after the rolls has id %d, not in partition 3", id)
	}
	for _, n := range []int{2, 3} {
		var constraints int
		if err := s.pool.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM pg_constraint WHERE conrelid = 'events_%d'::regclass AND contype = 'c'`, n)).Scan(&constraints); err != nil || constraints != 2 {
			t.Fatalf("partition %d has %d checks (%v), want the parent's and its range", n, constraints, err)
		}
	}
}

// TestPartitionFullByInsert: ids taken by the INSERT a batch falls back to
// (one of its events is in a closed partition) count towards a full hot
// partition, as COPY's do: the batch after opens the next partition.
func TestPartitionFullByInsert(t *testing.T) {
	ctx := t.Context()
	s := openFresh(t)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	events := copyCorpus(t, 35)
	today := time.Now().UTC()
	tomorrow := today.Add(24 * time.Hour)
	if n, err := s.InsertEvents(ctx, observedOn(events[:10], today), nil); err != nil || n != 10 {
		t.Fatalf("InsertEvents = %d, %v", n, err)
	}
	if n, err := s.InsertEvents(ctx, observedOn(events[10:15], tomorrow), nil); err != nil || n != 5 {
		t.Fatalf("InsertEvents = %d, %v", n, err)
	}
	// The hot partition, 2, has taken all but 5 of its ids (other
	// processes).
	if _, err := s.pool.Exec(ctx, `SELECT setval('events_id_seq', $1, false)`, partitionStart(2)+hotLimit-5); err != nil {
		t.Fatal(err)
	}
	// 5 stored in partition 1, 10 new: INSERT, which takes the partition's
	// last ids.
	batch := append(append([]*event.Event{}, events[5:10]...), events[15:25]...)
	if n, err := s.InsertEvents(ctx, observedOn(batch, tomorrow), nil); err != nil || n != 10 {
		t.Fatalf("InsertEvents of 5 stored and 10 new = %d, %v", n, err)
	}
	if id := sameRecord(t, s, events[20]); id < partitionStart(2)+hotLimit {
		t.Fatalf("event stored by INSERT has id %d, below the hot partition's limit", id)
	}
	if n, err := s.InsertEvents(ctx, observedOn(events[25:], tomorrow), nil); err != nil || n != 10 {
		t.Fatalf("InsertEvents = %d, %v", n, err)
	}
	if id := sameRecord(t, s, events[30]); id>>partitionBits != 3 {
		t.Fatalf("event stored after the hot partition filled has id %d, not in partition 3", id)
	}
}

// TestPartitionSequencePastPartitions: the sequence moved past the
// partitions (by hand): the batch that finds no partition for its ids
// reads the state again, creates the partition the sequence is in and
// is stored into it, rather than failing (and every batch after it).
func TestPartitionSequencePastPartitions(t *testing.T) {
	ctx := t.Context()
	s, events, today := partitionedToday(t, 20)
	if _, err := s.pool.Exec(ctx, `SELECT setval('events_id_seq', $1, false)`, partitionStart(3)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.InsertEvents(ctx, observedOn(events[10:15], today), nil); err != nil || n != 5 {
		t.Fatalf("the first batch after the sequence moved: InsertEvents = %d, %v", n, err)
	}
	if id := sameRecord(t, s, events[12]); id>>partitionBits != 3 {
		t.Fatalf("event has id %d, not in partition 3", id)
	}
	if n, err := s.InsertEvents(ctx, observedOn(events[15:], today), nil); err != nil || n != 5 {
		t.Fatalf("InsertEvents after it = %d, %v", n, err)
	}
	if id := sameRecord(t, s, events[17]); id>>partitionBits != 3 {
		t.Fatalf("event has id %d, not in partition 3", id)
	}
}

// TestPartitionSealedByAnother: a process that learns of a partition
// another one opened (and stopped before sealing the one it closed)
// seals the closed one.
func TestPartitionSealedByAnother(t *testing.T) {
	ctx := t.Context()
	s, events, today := partitionedToday(t, 20)
	// Another process opens partition 2 for tomorrow and stops.
	tomorrow := today.Add(24 * time.Hour)
	if err := createPartition(ctx, s.pool, 2, tomorrow.Format(dayFormat)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `SELECT setval('events_id_seq', $1, false)`, partitionStart(2)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.InsertEvents(ctx, observedOn(events[10:], tomorrow), nil); err != nil || n != 10 {
		t.Fatalf("InsertEvents = %d, %v", n, err)
	}
	s.parts.wg.Wait()
	if wrong := sealedWrong(t, s, 1); wrong != "" {
		t.Fatalf("partition 1's indexes: %s; want it sealed", wrong)
	}
}

// TestMigratePartitionDayUTC: migration 13 stamps the first partitions
// with UTC's day, the day observationDay compares, whatever the server's
// time zone: one where the date differs from UTC's now.
func TestMigratePartitionDayUTC(t *testing.T) {
	ctx := t.Context()
	s := openFresh(t)
	var schema string
	if err := s.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	zone := "Etc/GMT+12" // UTC-12: yesterday before noon UTC
	if time.Now().UTC().Hour() >= 12 {
		zone = "Pacific/Kiritimati" // UTC+14: tomorrow from 10:00 UTC
	}
	zoned, err := Open(ctx, withParam(withSearchPath(t, testDSN(t), schema), "timezone", zone))
	if err != nil {
		t.Fatal(err)
	}
	defer zoned.Close()
	if err := zoned.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	want := time.Now().UTC().Format(dayFormat)
	var days []string
	rows, err := zoned.pool.Query(ctx, `SELECT day::text FROM event_partitions ORDER BY num`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		days = append(days, d)
	}
	if len(days) != 2 || days[0] != want || days[1] != want {
		t.Fatalf("partitions' days %v in time zone %s, want UTC's %s", days, zone, want)
	}
}

// partitionedToday is a migrated store holding the first 10 of n corpus
// events observed today, and the n events.
func partitionedToday(t *testing.T, n int) (*Store, []*event.Event, time.Time) {
	t.Helper()
	s := openFresh(t)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	events := copyCorpus(t, n)
	today := time.Now().UTC()
	if n, err := s.InsertEvents(t.Context(), observedOn(events[:10], today), nil); err != nil || n != 10 {
		t.Fatalf("InsertEvents = %d, %v", n, err)
	}
	return s, events, today
}

// TestSealEventsWaitsForAnotherSealing: SealEvents waits for a partition
// whose sealing another process (or this one's background) holds, and
// returns with it sealed, rather than skipping it.
func TestSealEventsWaitsForAnotherSealing(t *testing.T) {
	ctx := t.Context()
	s, _, _ := partitionedToday(t, 10)
	other, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release()
	if _, err := lockSealing(ctx, other.Conn(), 1, true); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.SealEvents(ctx) }()
	for waiting := false; !waiting; {
		select {
		case err := <-done:
			t.Fatalf("SealEvents returned (%v) while another held partition 1's sealing", err)
		default:
		}
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory'
			AND NOT granted AND classid = (`+sqlkit.LockKey(sealLock)+` & 4294967295)::oid AND objid = 1 AND objsubid = 2)`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	unlockSealing(other.Conn(), 1)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if wrong := sealedWrong(t, s, 1); wrong != "" {
		t.Fatalf("partition 1's indexes after SealEvents: %s; want it sealed", wrong)
	}
}

// TestHotFullAgreesWithWant: the partition hot finds full is the one
// roll's hotState.want opens the next after, at hotLimit ids exactly.
func TestHotFullAgreesWithWant(t *testing.T) {
	day := "2026-12-06"
	for _, last := range []int64{partitionStart(1) + hotLimit - 2, partitionStart(1) + hotLimit - 1, partitionStart(1) + hotLimit} {
		h := hotState{num: 1, day: day, last: last}
		num, _ := h.want(day, false)
		if got := full(1, last); got != (num == 2) {
			t.Errorf("last id %d: full = %v, want opens partition %d", last-partitionStart(1), got, num)
		}
	}
	if full(1, partitionStart(1)+hotLimit-2) || !full(1, partitionStart(1)+hotLimit-1) {
		t.Error("a partition is full when it has given hotLimit ids, not before")
	}
}

// TestNextPartitionDay: the partition a roll opens takes the batch's day,
// or the latest partition's when that is later (SealEvents closing a
// partition of tomorrow's with today's day, a batch of an earlier day
// finding the latest full).
func TestNextPartitionDay(t *testing.T) {
	today, tomorrow := "2026-12-06", "2026-12-07"
	for _, c := range []struct {
		name    string
		h       hotState
		day     string
		next    bool
		num     int64
		wantDay string
	}{
		{"a later day", hotState{num: 1, day: today, last: partitionStart(1)}, tomorrow, false, 2, tomorrow},
		{"the same day", hotState{num: 1, day: today, last: partitionStart(1)}, today, false, 1, today},
		{"next, today's into tomorrow's", hotState{num: 1, day: tomorrow, last: partitionStart(1)}, today, true, 2, tomorrow},
		{"full, an earlier day", hotState{num: 1, day: tomorrow, last: partitionStart(1) + hotLimit - 1}, today, false, 2, tomorrow},
		{"next, a later day", hotState{num: 1, day: today, last: partitionStart(1)}, tomorrow, true, 2, tomorrow},
	} {
		num, day := c.h.want(c.day, c.next)
		if num != c.num || day != c.wantDay {
			t.Errorf("%s: want(%s, %v) = %d, %s; want %d, %s", c.name, c.day, c.next, num, day, c.num, c.wantDay)
		}
	}
}

// TestSealEventsKeepsTomorrow: SealEvents, when the hot partition is
// tomorrow's, opens the next one as tomorrow's, not today's: a batch of
// tomorrow's then goes into it rather than opening another.
func TestSealEventsKeepsTomorrow(t *testing.T) {
	ctx := t.Context()
	s, events, today := partitionedToday(t, 30)
	tomorrow := today.Add(24 * time.Hour)
	if n, err := s.InsertEvents(ctx, observedOn(events[10:20], tomorrow), nil); err != nil || n != 10 {
		t.Fatalf("InsertEvents = %d, %v", n, err)
	}
	if err := s.SealEvents(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := s.InsertEvents(ctx, observedOn(events[20:], tomorrow), nil); err != nil || n != 10 {
		t.Fatalf("InsertEvents = %d, %v", n, err)
	}
	rows, err := s.pool.Query(ctx, `SELECT num, day::text FROM event_partitions ORDER BY num`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var (
			num int64
			day string
		)
		if err := rows.Scan(&num, &day); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d %s", num, day))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	d := tomorrow.UTC().Format(dayFormat)
	if want := []string{"0 " + today.UTC().Format(dayFormat), "1 " + today.UTC().Format(dayFormat), "2 " + d, "3 " + d}; !slices.Equal(got, want) {
		t.Fatalf("partitions %q; want %q", got, want)
	}
}

// TestHotPartitionNoHashIndex: the partitions inserts reach have no
// index on hash (migration 17 for the first, createPartition for the
// next), a batch holding events the hot partition holds stores the new
// ones only (the hot set, hotset.go), and a sealed partition gets its
// B-tree on hash.
func TestHotPartitionNoHashIndex(t *testing.T) {
	ctx := t.Context()
	s, events, today := partitionedToday(t, 20)
	tomorrow := today.Add(24 * time.Hour)
	hashIndex := func(n int64) bool {
		var found bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_indexes WHERE tablename = $1 AND schemaname = current_schema()
			AND indexdef LIKE '%(hash)%')`, fmt.Sprintf("events_%d", n)).Scan(&found); err != nil {
			t.Fatal(err)
		}
		return found
	}
	if hashIndex(1) {
		t.Error("partition 1, hot, has an index on hash after migration 17")
	}
	// events[10:] open partition 2.
	if n, err := s.InsertEvents(ctx, observedOn(events[10:], tomorrow), nil); err != nil || n != 10 {
		t.Fatalf("InsertEvents = %d, %v", n, err)
	}
	s.parts.wg.Wait()
	if hashIndex(2) || !hashIndex(1) {
		t.Errorf("an index on hash: partition 1 (sealed) %v, partition 2 (hot) %v; want true, false", hashIndex(1), hashIndex(2))
	}
	// events[15:] are in the hot partition: the 5 new ones only are stored.
	batch := append(append([]*event.Event{}, events[15:]...), copyCorpus(t, 25)[20:]...)
	if n, err := s.InsertEvents(ctx, observedOn(batch, tomorrow), nil); err != nil || n != 5 {
		t.Fatalf("InsertEvents of 5 stored and 5 new = %d, %v", n, err)
	}
	if err := s.SealEvents(ctx); err != nil {
		t.Fatal(err)
	}
	if !hashIndex(2) {
		t.Error("partition 2, sealed, has no index on hash")
	}
	if c, err := s.CountEvents(ctx); err != nil || c != 25 {
		t.Fatalf("CountEvents = %d, %v; want 25", c, err)
	}
}

// TestClosedPartitionsSet: SealEvents closes partitions 1 to 5, of 10
// events each, and the writer reads their hashes into the set (closedset.go),
// which names for each hash only the partition that holds it (the tags),
// though one layer lists them all. closedStored asks each partition named
// a statement of its own, up to closedPartitionsApart of them, and more
// in one statement; never one at or above the batch's partition. A
// batch holding stored events is refused by COPY and stored by the
// INSERT without them, by the writer that covers the partitions and by
// another that has not read them yet.
func TestClosedPartitionsSet(t *testing.T) {
	ctx := t.Context()
	s := openFresh(t)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	events := copyCorpus(t, 80)
	today := time.Now().UTC()
	// Partitions 1 to 6, the last hot.
	hashesOf := make(map[int64][][]byte)
	for p := range int64(6) {
		if p > 0 {
			if err := s.SealEvents(ctx); err != nil {
				t.Fatal(err)
			}
		}
		batch := observedOn(events[10*p:10*p+10], today)
		if n, err := s.InsertEvents(ctx, batch, nil); err != nil || n != 10 {
			t.Fatalf("InsertEvents = %d, %v", n, err)
		}
		for _, e := range batch {
			h := e.Hash()
			hashesOf[p+1] = append(hashesOf[p+1], h[:])
		}
	}
	s.parts.wg.Wait() // the covering of partitions 0 to 5
	if got := s.closed.covered.Load(); got != 6 {
		t.Fatalf("covered partitions below %d, want 6", got)
	}
	for p := int64(1); p <= 5; p++ {
		var id int64
		if err := s.pool.QueryRow(ctx, `SELECT id FROM events WHERE hash = $1`, hashesOf[p][0]).Scan(&id); err != nil || id>>partitionBits != p {
			t.Fatalf("an event of batch %d has id %d (%v), want one of partition %d", p, id, err, p)
		}
		byPart, all := s.closed.admitted(hashesOf[p], 6)
		if len(byPart) != 1 || len(byPart[p]) != 10 || len(all) != 10 {
			t.Errorf("the set names partitions %v for partition %d's 10 hashes (%d named); want all 10, of partition %d only",
				slices.Sorted(maps.Keys(byPart)), p, len(all), p)
		}
	}
	fresh := events[79].Hash()
	if got, _ := s.closed.admitted([][]byte{fresh[:]}, 6); len(got) != 0 {
		t.Fatalf("a hash stored nowhere asks partitions %v", slices.Collect(maps.Keys(got)))
	}
	// lookalike is a hash whose first 8 bytes are the first stored in
	// partition p's, the rest not: the set names p, which does not hold it.
	lookalike := func(p int64) []byte {
		h := bytes.Clone(hashesOf[p][0])
		h[len(h)-1] ^= 0xff
		return h
	}
	for _, c := range []struct {
		name       string
		hashes     [][]byte
		part       int64 // the batch's partition
		stored     bool
		statements int
	}{
		{"new", [][]byte{fresh[:]}, 6, false, 0},
		{"lookalike of one partition", [][]byte{fresh[:], lookalike(2)}, 6, false, 1},
		{"lookalikes of four partitions", [][]byte{lookalike(1), lookalike(2), lookalike(3), lookalike(4)}, 6, false, 4},
		{"lookalikes of five partitions", [][]byte{lookalike(1), lookalike(2), lookalike(3), lookalike(4), lookalike(5)}, 6, false, 1},
		{"stored in partition 3", [][]byte{fresh[:], hashesOf[3][4]}, 6, true, 1},
		{"stored in partitions 1, 3 and 5, lookalikes of 2 and 4", [][]byte{hashesOf[1][1], lookalike(2), hashesOf[3][1], lookalike(4), hashesOf[5][1]}, 6, true, 1},
		{"stored in partition 5, a batch of partition 5", [][]byte{hashesOf[5][2]}, 5, false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
				counted := &countingTx{Tx: tx}
				found := make(map[string]bool)
				if err := closedStored(ctx, counted, &s.closed, &hotSet{}, c.hashes, partitionStart(c.part), found); err != nil {
					return err
				}
				if stored := len(found) > 0; stored != c.stored || counted.statements != c.statements {
					t.Errorf("closedStored = %v in %d statements; want %v in %d", stored, counted.statements, c.stored, c.statements)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, w := range []struct {
		s             *Store
		part          int64
		stored, fresh []*event.Event
	}{{s, 2, events[15:20], events[60:70]}, {openSecond(t, s), 5, events[40:45], events[70:80]}} {
		batch := append(append([]*event.Event{}, w.fresh[:5]...), w.stored...)
		batch = append(batch, w.fresh[5:]...)
		if n, err := w.s.InsertEvents(ctx, observedOn(batch, today), nil); err != nil || n != 10 {
			t.Fatalf("InsertEvents of 5 stored in partition %d and 10 new = %d, %v", w.part, n, err)
		}
		for _, e := range w.stored {
			h := e.Hash()
			var id int64
			if err := s.pool.QueryRow(ctx, `SELECT id FROM events WHERE hash = $1`, h[:]).Scan(&id); err != nil || id>>partitionBits != w.part {
				t.Fatalf("event of partition %d has id %d after it came again (%v)", w.part, id, err)
			}
		}
	}
	var count int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&count); err != nil || count != 80 {
		t.Fatalf("%d events stored, %v; want 80", count, err)
	}
}

// countingTx counts the statements asked of a transaction by Query, the
// only way closedStored asks.
type countingTx struct {
	pgx.Tx
	statements int
}

func (c *countingTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	c.statements++
	return c.Tx.Query(ctx, sql, args...)
}

// inSchemaOf opens another Store on s's schema whose sessions wait at
// most 5 s for a lock (lock_timeout): a test whose lock is not had fails
// rather than waiting for ever.
func inSchemaOf(t *testing.T, s *Store) *Store {
	t.Helper()
	var schema string
	if err := s.pool.QueryRow(t.Context(), `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	other, err := Open(t.Context(), withParam(withSearchPath(t, testDSN(t), schema), "lock_timeout", "5s"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return other
}

// TestSealingLockBySchema: while a store holds the sealing of its
// partitions 1 and 2, a store in another schema of the same database
// seals its own partitions 1 (in the background, which skips a partition
// whose lock is held) and 2 (SealEvents, which waits for it).
func TestSealingLockBySchema(t *testing.T) {
	ctx := t.Context()
	s, _, _ := partitionedToday(t, 10)
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for _, n := range []int64{1, 2} {
		if _, err := lockSealing(ctx, conn.Conn(), n, true); err != nil {
			t.Fatal(err)
		}
		defer unlockSealing(conn.Conn(), n)
	}
	first, events, today := partitionedToday(t, 20)
	// first's own background work (Migrate's) is done before other rolls:
	// after the roll it would find partition 1 closed and seal it itself,
	// and other's background would skip it, which is not what is tested.
	first.parts.wg.Wait()
	other := inSchemaOf(t, first)
	if n, err := other.InsertEvents(ctx, observedOn(events[10:], today.Add(24*time.Hour)), nil); err != nil || n != 10 {
		t.Fatalf("InsertEvents = %d, %v", n, err)
	}
	other.parts.wg.Wait()
	if wrong := sealedWrong(t, other, 1); wrong != "" {
		t.Fatalf("partition 1's indexes: %s; want it sealed while another schema's partition 1 is being sealed", wrong)
	}
	if err := other.SealEvents(ctx); err != nil {
		t.Fatalf("SealEvents while another schema's partition 2 is being sealed: %v", err)
	}
	if wrong := sealedWrong(t, other, 2); wrong != "" {
		t.Fatalf("partition 2's indexes after SealEvents: %s", wrong)
	}
}

// TestMigrateLockBySchema: while a store's migration holds its lock, a
// store in another schema of the same database migrates.
func TestMigrateLockBySchema(t *testing.T) {
	ctx := t.Context()
	s := openFresh(t)
	holdLock(t, s, lockMigrations)
	other := inSchemaOf(t, openFresh(t))
	if err := other.Migrate(ctx); err != nil {
		t.Fatalf("Migrate while another schema migrates: %v", err)
	}
}

// holdLock takes the advisory lock statement takes in a transaction of
// s, held until the test ends.
func holdLock(t *testing.T, s *Store, statement string) {
	t.Helper()
	tx, err := s.pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	if _, err := tx.Exec(t.Context(), statement); err != nil {
		t.Fatal(err)
	}
}

// TestPartitionMadeAhead: after a roll opens partition 2, partition 3 is
// made in the background, attached and not recorded (no batch may go
// there yet), and the roll that opens it finds it ready and records it.
func TestPartitionMadeAhead(t *testing.T) {
	ctx := t.Context()
	s, events, today := partitionedToday(t, 30)
	tomorrow := today.Add(24 * time.Hour)
	if n, err := s.InsertEvents(ctx, observedOn(events[10:20], tomorrow), nil); err != nil || n != 10 {
		t.Fatalf("InsertEvents = %d, %v", n, err)
	}
	s.parts.wg.Wait()
	var (
		ahead    uint32
		recorded bool
	)
	if err := s.pool.QueryRow(ctx, `SELECT i.inhrelid, EXISTS (SELECT FROM event_partitions WHERE num = 3)
		FROM pg_inherits i WHERE i.inhparent = 'events'::regclass AND i.inhrelid = 'events_3'::regclass`).Scan(&ahead, &recorded); err != nil {
		t.Fatalf("partition 3 attached after the roll to 2: %v", err)
	}
	if recorded {
		t.Fatal("partition 3, made ahead, is recorded before its roll")
	}
	if got := partitionIndexes(t, s, 3); len(got) != 2 || !slices.Contains(got, "events_3_time") {
		t.Fatalf("partition 3's indexes: %v; want its key and time index", got)
	}
	if err := s.SealEvents(ctx); err != nil {
		t.Fatal(err)
	}
	var rolled uint32
	if err := s.pool.QueryRow(ctx, `SELECT 'events_3'::regclass::oid FROM event_partitions WHERE num = 3`).Scan(&rolled); err != nil {
		t.Fatalf("partition 3 recorded by the roll: %v", err)
	}
	if rolled != ahead {
		t.Fatalf("the roll made partition 3 again (%d, made ahead %d)", rolled, ahead)
	}
	// SealEvents gives partition 3 today's day.
	if n, err := s.InsertEvents(ctx, observedOn(events[20:], today), nil); err != nil || n != 10 {
		t.Fatalf("InsertEvents = %d, %v", n, err)
	}
	if id := sameRecord(t, s, events[25]); id>>partitionBits != 3 {
		t.Fatalf("event stored after the roll has id %d, not in partition 3", id)
	}
}
