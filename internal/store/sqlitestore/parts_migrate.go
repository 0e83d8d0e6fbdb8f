package sqlitestore

// Converting a database's events from the rows layout (one events table)
// to the parts layout, in place: `vigil migrate-events`
// (docs/EVENTSTORE.md, "Migration").
//
// The decisions a reader needs to know:
//   - Event ids are kept: event_orgs, notify_queue, event_batches' dedup
//     and the relational tables (incidents, messages) name events by id,
//     and the rows layout's ids have gaps (retention, forgetting). A
//     partition covers the ids from its first_id to the next one's, so
//     gaps cost nothing.
//   - Each step copies up to conversionChunk rows in id order into
//     partitions and, in the same transaction, deletes them from events
//     and records the last id copied: a kill at any point leaves every
//     event in exactly one of the two layouts, and the next run goes on
//     from there. The pages the deletes free are reused by the next
//     steps' partitions, so the file grows by little more than a chunk.
//   - The search indexes of events are dropped in the first transaction:
//     nothing searches a database being converted (a normal open refuses
//     it, refuseConverting), and each delete would otherwise update twelve
//     indexes.
//   - Partitions follow the layout's rules (a later observation day, or a
//     full partition, starts a new one), the day and the cap taken at the
//     event's stored time, as if it had been inserted then. A partition
//     the conversion leaves is sealed at once; the last stays hot, as
//     after an insert.
//   - A block holds events of one stored time (the rows' stored column
//     becomes the block's), so each event keeps its own.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

// layoutConverting is event_layout's name while a conversion runs.
const layoutConverting = "converting"

// conversionSchema records a conversion's progress, updated in each
// step's transaction and dropped at the end.
const conversionSchema = `
CREATE TABLE event_conversion (
	total   INTEGER NOT NULL, -- events in the rows layout when it started
	done    INTEGER NOT NULL, -- events copied
	last_id INTEGER NOT NULL  -- the highest id copied
);`

// conversionChunk is how many rows one step of the conversion reads and
// copies in one transaction (a variable: tests make it small).
var conversionChunk = 10_000

// ErrAlreadyParts is returned by MigrateEventsToParts for a database whose
// events are in the parts layout already.
var ErrAlreadyParts = errors.New("sqlitestore: the events are in the parts layout already")

// ErrConverting is returned by Migrate for a database whose conversion
// to the parts layout was stopped before its end.
var ErrConverting error = convertingError{}

type convertingError struct{}

func (convertingError) Error() string {
	return "sqlitestore: the database's events are being converted to the parts layout: run `vigil migrate-events` to finish"
}

func (convertingError) Explain() i18n.Message { return i18n.M("store.layout.converting") }

// errConversionRace is returned when the rows or the progress a step
// expects changed under it: another process wrote events or converted.
var errConversionRace = errors.New("the events table changed during the conversion: is vigil serve or another vigil migrate-events running on this database?")

// refuseConverting returns ErrConverting when event_layout records a
// conversion under way (setupLayout, for a database with event_layout).
func (s *Store) refuseConverting(ctx context.Context) error {
	var n int
	if err := s.write.QueryRowContext(ctx, `SELECT count(*) FROM event_layout WHERE name = ?`, layoutConverting).Scan(&n); err != nil {
		return fmt.Errorf("sqlitestore: event layout: %w", err)
	}
	if n > 0 {
		return ErrConverting
	}
	return nil
}

// MigrateEventsToParts converts the store's events from the rows layout
// to the parts layout in place, or finishes a conversion a kill stopped.
// progress, when not nil, is called after each step with the events
// copied so far and the total. Call it on a store from Open instead of
// Migrate; it applies the store's own migrations first. Once it returns
// nil the store is open in the parts layout. It returns ErrAlreadyParts
// when there is nothing to convert.
func (s *Store) MigrateEventsToParts(ctx context.Context, progress func(done, total int64)) error {
	switch s.layout {
	case "":
	case LayoutParts: // Open found the parts layout (openPartsEarly)
		return ErrAlreadyParts
	default:
		return errors.New("sqlitestore: convert the events before Migrate, not after")
	}
	if err := s.migrateTo(ctx, math.MaxInt); err != nil {
		return err
	}
	if err := s.startConversion(ctx); err != nil {
		return err
	}
	if err := s.createGeneration(ctx); err != nil {
		return fmt.Errorf("sqlitestore: convert events: %w", err)
	}
	ps, err := openParts(ctx, s, s.opts.PartitionEvents)
	if err != nil {
		return fmt.Errorf("sqlitestore: convert events: open the parts layout: %w", err)
	}
	c := &conversion{s: s, ps: ps, progress: progress}
	if err := c.run(ctx); err != nil {
		return errors.Join(fmt.Errorf("sqlitestore: convert events: %w", err), ps.close())
	}
	s.parts, s.layout = ps, LayoutParts
	ps.startSealing()
	// The copy ran with the larger cache; what runs on is a parts writer.
	return s.partsWriterCache(ctx)
}

// startConversion finds the layout the database is in and, for the rows
// layout, records the conversion in one transaction: the parts layout's
// tables, event_layout named converting, the progress, and the events'
// search indexes dropped.
func (s *Store) startConversion(ctx context.Context) error {
	hasLayout, err := s.hasTable(ctx, "event_layout")
	if err != nil {
		return fmt.Errorf("sqlitestore: event layout: %w", err)
	}
	if hasLayout {
		var (
			name    string
			version int
		)
		if err := s.write.QueryRowContext(ctx, `SELECT name, version FROM event_layout ORDER BY version DESC LIMIT 1`).Scan(&name, &version); err != nil {
			return fmt.Errorf("sqlitestore: event layout: %w", err)
		}
		switch {
		case name == LayoutParts:
			return ErrAlreadyParts
		case name != layoutConverting:
			return fmt.Errorf("sqlitestore: event layout %q: %w", name, errLayout)
		case version != partsVersion:
			return fmt.Errorf("sqlitestore: a conversion to parts layout version %d, this build writes %d: %w", version, partsVersion, errLayout)
		}
		return nil
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: start the conversion: %w", err)
	}
	defer tx.Rollback()
	var indexes []string
	rows, err := tx.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL`)
	if err != nil {
		return fmt.Errorf("sqlitestore: start the conversion: %w", err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return fmt.Errorf("sqlitestore: start the conversion: %w", err)
		}
		indexes = append(indexes, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlitestore: start the conversion: %w", err)
	}
	for _, name := range indexes {
		if _, err := tx.ExecContext(ctx, `DROP INDEX "`+name+`"`); err != nil {
			return fmt.Errorf("sqlitestore: start the conversion: drop index %s: %w", name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, partsSchema+conversionSchema+`
		INSERT INTO event_layout (name, version) VALUES (?, ?);
		INSERT INTO event_conversion (total, done, last_id) SELECT count(*), 0, 0 FROM events;`,
		layoutConverting, partsVersion); err != nil {
		return fmt.Errorf("sqlitestore: start the conversion: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: start the conversion: %w", err)
	}
	return nil
}

// conversion is a conversion under way.
type conversion struct {
	s        *Store
	ps       *parts
	progress func(done, total int64)
	// total, done and lastID are event_conversion's row as committed.
	total, done, lastID int64
}

// rowEvent is one row of the events table, decoded.
type rowEvent struct {
	id, timeSource, stored int64
	hash                   event.Hash
	e                      *event.Event
	day                    string // its observation day, for the partitions
}

func (c *conversion) run(ctx context.Context) error {
	if err := c.s.write.QueryRowContext(ctx, `SELECT total, done, last_id FROM event_conversion`).Scan(&c.total, &c.done, &c.lastID); err != nil {
		return fmt.Errorf("read the progress: %w", err)
	}
	c.report()
	for {
		pending, err := c.read(ctx)
		if err != nil {
			return err
		}
		if len(pending) == 0 {
			finished, err := c.finish(ctx)
			if err != nil || finished {
				return err
			}
			continue // rows appeared after the last read: copy them too
		}
		for len(pending) > 0 {
			n, err := c.step(ctx, pending)
			if err != nil {
				return err
			}
			pending = pending[n:]
			c.s.limitWAL(ctx)
			c.report()
		}
	}
}

func (c *conversion) report() {
	if c.progress != nil {
		c.progress(c.done, max(c.total, c.done))
	}
}

// read returns the next rows to copy, decoded, in id order. The rows
// are read first and decoded after, shared out among the cores.
func (c *conversion) read(ctx context.Context) ([]rowEvent, error) {
	rows, err := c.s.write.QueryContext(ctx, `SELECT id, hash, time_source, stored, data FROM events WHERE id > ? ORDER BY id LIMIT ?`,
		c.lastID, conversionChunk)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	var (
		out    []rowEvent
		hashes [][]byte
		data   [][]byte
	)
	for rows.Next() {
		var (
			r    rowEvent
			h, d []byte
		)
		if err := rows.Scan(&r.id, &h, &r.timeSource, &r.stored, &d); err != nil {
			return nil, fmt.Errorf("read events: %w", err)
		}
		out, hashes, data = append(out, r), append(hashes, h), append(data, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	errs := make([]error, len(out))
	workers := min(runtime.GOMAXPROCS(0), len(out))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(out); i += workers {
				errs[i] = out[i].decode(hashes[i], data[i])
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// decode sets r's event, hash and observation day from its row's hash
// and data.
func (r *rowEvent) decode(hash, data []byte) error {
	var err error
	if r.e, err = decodeEvent(data); err != nil {
		return fmt.Errorf("event %d: %w", r.id, err)
	}
	// The parts layout finds an event by the hash of its record: a row
	// whose column says otherwise would be lost to lookups.
	r.hash = r.e.Hash()
	if string(hash) != string(r.hash[:]) {
		return fmt.Errorf("event %d: its record's hash is not its hash column", r.id)
	}
	r.day = observationDay(r.e, time.UnixMicro(r.stored))
	return nil
}

// step copies the first events of pending that go into one partition,
// and returns how many.
func (c *conversion) step(ctx context.Context, pending []rowEvent) (int, error) {
	ps := c.ps
	p, err := c.partition(ctx, pending[0])
	if err != nil {
		return 0, fmt.Errorf("open a partition: %w", err)
	}
	ps.mu.RLock()
	count := p.sum.count
	ps.mu.RUnlock()
	limit := int64(ps.partitionEvents)
	n := 0
	for n < len(pending) && count+int64(n) < limit && (count+int64(n) == 0 || pending[n].day <= p.day) {
		n++
	}
	if err := c.write(ctx, p, pending[:n]); err != nil {
		return 0, err
	}
	if count+int64(n) >= limit {
		if err := c.seal(ctx, p); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// partition returns the partition first goes into: the hot one, unless
// it is full or of an earlier day, in which case it is sealed and a new
// one starts at first's id.
func (c *conversion) partition(ctx context.Context, first rowEvent) (*partition, error) {
	ps := c.ps
	ps.mu.RLock()
	var last *partition
	if n := len(ps.list); n > 0 {
		last = ps.list[n-1]
	}
	leave := last != nil && !last.sealed && last.sum.count > 0 &&
		(last.sum.count >= int64(ps.partitionEvents) || first.day > last.day)
	ps.mu.RUnlock()
	if leave {
		if err := c.seal(ctx, last); err != nil {
			return nil, err
		}
	}
	// A new partition starts at the id given to the next event: here the
	// one it keeps.
	ps.nextID = first.id
	tx, err := c.s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	p, created, err := ps.hotPartition(ctx, tx, first.day)
	if err != nil || !created {
		return p, err
	}
	// No generation is counted while converting: no other store opens a
	// database in conversion (ErrConverting).
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	ps.list = append(ps.list, p)
	return p, nil
}

// seal seals p in the conversion's goroutine, so that the partitions it
// leaves are sealed when it ends.
func (c *conversion) seal(ctx context.Context, p *partition) error {
	c.ps.mu.Lock()
	p.sealing = true
	c.ps.mu.Unlock()
	if err := c.ps.seal(ctx, p); err != nil {
		return fmt.Errorf("seal partition %d: %w", p.n, err)
	}
	return nil
}

// convertRun is a run of events of one stored time in a step: seg[start:end],
// in blocks[b0:b1].
type convertRun struct {
	start, end, b0, b1 int
	stored             int64
}

// write copies seg into p in one transaction that deletes them from
// events and records the progress.
func (c *conversion) write(ctx context.Context, p *partition, seg []rowEvent) error {
	ps := c.ps
	events := make([]*event.Event, len(seg))
	for i := range seg {
		events[i] = seg[i].e
	}
	recs := recordsOf(events)
	defer recs.release()
	for i, n := range recs.sizes {
		if n > maxPartRecord {
			return fmt.Errorf("event %d of %d bytes: %w", seg[i].id, n, errEventTooLarge)
		}
	}
	var (
		blocks []partBlock
		runs   []convertRun
	)
	for a := 0; a < len(seg); {
		b := a + 1
		for b < len(seg) && seg[b].stored == seg[a].stored {
			b++
		}
		bl := splitBlocks(recs.fields[a:b], recs.sizes[a:b])
		for i := range bl {
			bl[i].start += a
			bl[i].end += a
		}
		runs = append(runs, convertRun{start: a, end: b, b0: len(blocks), b1: len(blocks) + len(bl), stored: seg[a].stored})
		blocks = append(blocks, bl...)
		a = b
	}
	base := p.nextBlock
	names := ps.newNames()
	entries := make([]partEntry, len(seg))
	for b, bl := range blocks {
		for i := bl.start; i < bl.end; i++ {
			r := &seg[i]
			col := store.ExtractColumns(r.e, time.UnixMicro(r.stored))
			// The row's own time, which its event_orgs rows repeat.
			col.TimeSource = r.timeSource
			entries[i] = names.entry(&col, r.id, r.hash, (base+int64(b))<<8|int64(i-bl.start))
		}
	}
	compressBlocks(ps.enc, blocks, ps.writeVersion >= splitVersion)
	for _, r := range runs {
		if err := p.prepare(ctx, c.s.write, ps.writeVersion, r.end-r.start, r.b1-r.b0); err != nil {
			return err
		}
	}

	first, last := seg[0].id, seg[len(seg)-1].id
	tx, err := c.s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, n := range names.list {
		if _, err := tx.ExecContext(ctx, `INSERT INTO event_dict (id, kind, value) VALUES (?, ?, ?)`, n.id, n.kind, n.value); err != nil {
			return err
		}
	}
	// writeRows numbers a call's blocks from p.nextBlock: each run's are
	// placed after the previous runs', and p.nextBlock is set for good
	// once the transaction commits.
	for _, r := range runs {
		p.nextBlock = base + int64(r.b0)
		err := p.writeRows(ctx, tx, ps.enc, ps.writeVersion, entries[r.start:r.end], blocks[r.b0:r.b1], r.stored)
		p.nextBlock = base
		if err != nil {
			return err
		}
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM events WHERE id BETWEEN ? AND ?`, first, last)
	if err != nil {
		return fmt.Errorf("delete the copied rows: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != int64(len(seg)) {
		return errors.Join(err, errConversionRace)
	}
	res, err = tx.ExecContext(ctx, `UPDATE event_conversion SET done = done + ?, last_id = ? WHERE last_id = ?`, len(seg), last, c.lastID)
	if err != nil {
		return fmt.Errorf("record the progress: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errors.Join(err, errConversionRace)
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	for _, n := range names.list {
		ps.addName(n.kind, n.value, n.id)
	}
	p.nextBlock = base + int64(len(blocks))
	if ps.writeVersion >= hotChunksVersion {
		p.hotChunks.Store(true) // made by writeRows if it was not
	}
	for _, en := range entries {
		p.add(en)
	}
	ps.nextID = last + 1
	c.done += int64(len(seg))
	c.lastID = last
	return nil
}

// finish seals the partitions left unsealed but the last, then, in one
// transaction, drops the events table and records the parts layout. It
// reports false when events holds rows again (copied by the next steps).
func (c *conversion) finish(ctx context.Context) (bool, error) {
	ps := c.ps
	ps.mu.RLock()
	var open []*partition
	for i, p := range ps.list {
		if !p.sealed && i < len(ps.list)-1 {
			open = append(open, p)
		}
	}
	ps.mu.RUnlock()
	for _, p := range open {
		if err := c.seal(ctx, p); err != nil {
			return false, err
		}
	}
	tx, err := c.s.write.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var (
		left  int64
		first sql.NullInt64
	)
	if err := tx.QueryRowContext(ctx, `SELECT count(*), min(id) FROM events`).Scan(&left, &first); err != nil {
		return false, fmt.Errorf("count the rows left: %w", err)
	}
	if left > 0 {
		if first.Int64 <= c.lastID {
			return false, errConversionRace // an id the partitions hold already
		}
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, `DROP TABLE events; DROP TABLE event_conversion;
		UPDATE event_layout SET name = ? WHERE name = ?`, LayoutParts, layoutConverting); err != nil {
		return false, fmt.Errorf("drop the events table: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("commit: %w", err)
	}
	ps.nextID = max(ps.nextID, c.lastID+1)
	c.total = c.done
	c.report()
	return true, nil
}
