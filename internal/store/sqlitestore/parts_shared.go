package sqlitestore

// Several stores, in one process or in several (`vigil serve` and
// `vigil ingest`), may open one database's parts layout at once. Each
// keeps the layout's state in memory (the next id, the dictionary, the
// partitions, the hot partitions' rows), as the database held it at a
// generation: the one number of event_generation, which every transaction
// that changes that state increments. A reader reads the number before it
// uses its memory; a writer reads it inside its write transaction, which
// holds SQLite's write lock from BEGIN IMMEDIATE (the writer's _txlock),
// so that what it reads stays the latest until it commits. When the
// number moved, the store reads what changed (catchUp): dictionary entries
// past the last it holds, partitions new or sealed since, the rows past
// its next id. Ids, blocks, dictionary ids and new partitions are given
// inside the write transaction, after that refresh, so two writers never
// give one twice.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// generationSchema is created when a parts layout opens: a database of
// the layout's first version made before it lacks the table, and gets it
// then (and, as every older version, is recorded as the current one).
const generationSchema = `
CREATE TABLE IF NOT EXISTS event_generation (n INTEGER NOT NULL);
INSERT INTO event_generation (n) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM event_generation);
`

const (
	generationSQL     = `SELECT n FROM event_generation`
	nextGenerationSQL = `UPDATE event_generation SET n = n + 1`
)

// partsQueryer is what catching up reads through: the writer's
// transaction, or a read transaction of the read pool.
type partsQueryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// createGeneration creates event_generation when it is missing, in a
// write transaction, so that two stores opening at once make one row.
func (s *Store) createGeneration(ctx context.Context) error {
	return s.execWrite(ctx, generationSchema)
}

// refresh brings the memory up to the database's generation before a
// reader uses it: one read of the number when nothing changed.
func (ps *parts) refresh(ctx context.Context) error {
	st, err := ps.s.readStmt(ctx, generationSQL)
	if err != nil {
		return fmt.Errorf("read the event generation: %w", err)
	}
	for {
		var gen int64
		if err := st.QueryRowContext(ctx).Scan(&gen); err != nil {
			return fmt.Errorf("read the event generation: %w", err)
		}
		if gen <= ps.seen.Load() {
			return nil
		}
		if err := ps.refreshRead(ctx); err != nil {
			return err
		}
	}
}

// refreshRead catches up in a read transaction, whose snapshot keeps the
// tables it reads consistent with each other and with the generation.
func (ps *parts) refreshRead(ctx context.Context) error {
	ps.refreshMu.Lock()
	defer ps.refreshMu.Unlock()
	tx, err := ps.s.read.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("refresh the event layout: %w", err)
	}
	defer tx.Rollback()
	if _, err := ps.catchUp(ctx, tx); err != nil && !errors.Is(err, errStale) {
		return fmt.Errorf("refresh the event layout: %w", err)
	}
	return nil // refresh reads the generation again
}

// refreshTx brings the memory up to date inside the writer's transaction
// tx and returns the generation, which no one else can move before tx
// ends.
func (ps *parts) refreshTx(ctx context.Context, tx *sql.Tx) (int64, error) {
	for {
		ps.refreshMu.Lock()
		gen, err := ps.catchUp(ctx, tx)
		ps.refreshMu.Unlock()
		switch {
		case err == nil:
			return gen, nil
		case !errors.Is(err, errStale):
			return 0, fmt.Errorf("refresh the event layout: %w", err)
		}
	}
}

// bumpGeneration increments the generation in the writer's transaction
// tx; the caller stores gen+1 (gen as refreshTx read it) as seen once
// committed, its memory then holding what it wrote.
func bumpGeneration(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, nextGenerationSQL)
	return err
}

// partChange is what catchUp found of one partition.
type partChange struct {
	p      *partition
	isNew  bool
	sealed bool // sealed in the database, not in memory
	// sealedAs is the sealed partition's (partition.sealedAs).
	sealedAs int
	sum      partSummary
	rows     []partEntry
	// forms are the unsealed partition's forms of rows, read with them
	// (hotForms; chunks: partition.hotChunks); formsRead says they were.
	forms     hotForm
	formsRead bool
}

// errStale is catchUp's answer when the memory moved while it read (the
// store's own writer committed): its reading is thrown away.
var errStale = errors.New("memory moved while catching up")

// catchUp reads, through q, what changed since the generation the memory
// holds, and applies it. It returns the generation read, or errStale
// (wrapped nowhere: the callers loop) when the memory moved meanwhile.
// The caller holds refreshMu.
func (ps *parts) catchUp(ctx context.Context, q partsQueryer) (int64, error) {
	var gen int64
	if err := q.QueryRowContext(ctx, generationSQL).Scan(&gen); err != nil {
		return 0, err
	}
	if gen <= ps.seen.Load() {
		return gen, nil // nothing changed: the common case, one read
	}
	// What the memory holds, at generation base.
	ps.mu.RLock()
	base := ps.seen.Load()
	lastName, nextID := ps.lastName, ps.nextID
	var (
		firstOpen int64 = -1 // the lowest partition the database may have changed
		lastHot   *partition
		held      = map[int64]*partition{}
	)
	for _, p := range ps.list {
		if !p.sealed {
			if firstOpen < 0 {
				firstOpen = p.n
			}
			held[p.n] = p
		}
	}
	if n := len(ps.list); n > 0 {
		if last := ps.list[n-1]; !last.sealed {
			lastHot = last
		}
		if firstOpen < 0 {
			firstOpen = ps.list[n-1].n + 1
		}
	}
	lastN := int64(0)
	if n := len(ps.list); n > 0 {
		lastN = ps.list[n-1].n
	}
	ps.mu.RUnlock()
	if gen <= base {
		return gen, nil
	}

	names, err := sqlkit.Query(ctx, q, `SELECT id, kind, value FROM event_dict WHERE id > ? ORDER BY id`, []any{lastName},
		func(rows *sql.Rows) (n newName, err error) { return n, rows.Scan(&n.id, &n.kind, &n.value) })
	if err != nil {
		return 0, err
	}

	// The summaries are read one by one below, not with the headers: a
	// store of a year holds a few hundred, each a few MB of filters, and
	// all of them at once on the heap made a process opening 241
	// partitions peak at about 1 GB.
	type header struct {
		n, firstID, base, sealedAs int64
		day                        string
		sealed                     bool // summary set (it is, once, at sealing)
	}
	headers, err := sqlkit.Query(ctx, q, `SELECT id, day, first_id, summary IS NOT NULL, ts_base, sealed_as FROM event_parts WHERE id >= ? ORDER BY id`, []any{max(firstOpen, 0)},
		func(rows *sql.Rows) (h header, err error) {
			return h, rows.Scan(&h.n, &h.day, &h.firstID, &h.sealed, &h.base, &h.sealedAs)
		})
	if err != nil {
		return 0, err
	}

	var changes []partChange
	for _, h := range headers {
		p, inMemory := held[h.n]
		switch {
		case h.n <= lastN && !inMemory:
			continue // sealed in memory already
		case h.n > lastN:
			p = &partition{n: h.n, day: h.day, firstID: h.firstID, table: partTable(h.n), nextBlock: 1, base: h.base}
		}
		c := partChange{p: p, isNew: h.n > lastN, sealed: h.sealed, sealedAs: int(h.sealedAs)}
		switch {
		case c.sealed:
			var summary []byte
			if err := q.QueryRowContext(ctx, `SELECT summary FROM event_parts WHERE id = ?`, h.n).Scan(&summary); err != nil {
				return 0, fmt.Errorf("partition %d: %w", h.n, err)
			}
			if err := c.sum.unmarshal(summary); err != nil {
				return 0, fmt.Errorf("partition %d: %w", h.n, err)
			}
			ps.spillFilters(&c.sum)
		case c.isNew:
			// Loaded now, before the partition is in the list: only this
			// reading knows it (partition.add's rule).
			if c.forms, err = ps.load(ctx, q, p, 0); err != nil {
				return 0, fmt.Errorf("partition %d: %w", h.n, err)
			}
			c.formsRead = true
		case p == lastHot:
			// Only the last partition gains rows: a writer writes into the
			// last one it knows after catching up itself.
			if c.rows, c.forms, err = ps.readRows(ctx, q, p, nextID-1); err != nil {
				return 0, fmt.Errorf("partition %d: %w", h.n, err)
			}
			c.formsRead = true
		default:
			continue
		}
		changes = append(changes, c)
	}

	// The next id and the last partition's next block, derived as
	// openParts always has: from the database's last partition, which is
	// the last header read unless every partition read is sealed in
	// memory (then no row was added).
	newNextID, newNextBlock := nextID, int64(0)
	var last *partition
	if len(headers) > 0 {
		h := headers[len(headers)-1]
		if h.n > lastN {
			last = changes[len(changes)-1].p
		} else {
			last = held[h.n]
		}
		if last != nil {
			var maxID sql.NullInt64
			if h.sealed && h.sealedAs >= rowsVersion {
				// Its compact rows are in chunks (parts_rows.go).
				id, err := ps.sealedMaxID(ctx, q, last)
				if err != nil {
					return 0, err
				}
				maxID.Int64 = id
			} else if h.sealed {
				if err := q.QueryRowContext(ctx, `SELECT max(id) FROM `+last.table).Scan(&maxID); err != nil {
					return 0, err
				}
			} else {
				// Its forms were read with its rows, unless it gained none.
				var (
					forms hotForm
					err   error
				)
				if n := len(changes); n > 0 && changes[n-1].p == last && changes[n-1].formsRead {
					forms = changes[n-1].forms
				} else {
					forms, err = hotForms(ctx, q, last)
				}
				if err != nil {
					return 0, err
				}
				id, err := hotMaxID(ctx, q, last, forms)
				if err != nil {
					return 0, err
				}
				maxID.Int64 = id
			}
			newNextID = max(newNextID, last.firstID, maxID.Int64+1)
			// A new partition's next block was read by load; a sealed
			// one gains no blocks.
			if !h.sealed && h.n <= lastN {
				if err := q.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM `+last.table+`_blocks`).Scan(&newNextBlock); err != nil {
					return 0, err
				}
			}
		}
	}

	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.seen.Load() != base {
		return 0, errStale
	}
	for _, n := range names {
		ps.addName(n.kind, n.value, n.id)
	}
	for _, c := range changes {
		p := c.p
		if c.sealed {
			p.sum = c.sum
			p.sealed, p.sealing, p.sealErr = true, false, nil
			p.sealedAs = c.sealedAs
			p.hot = nil
			ps.wakeCovering() // sealed elsewhere: not in the duplicate check's set
		}
		for _, en := range c.rows {
			p.add(en)
		}
		if c.forms.chunks {
			p.hotChunks.Store(true)
		}
		if c.isNew {
			ps.list = append(ps.list, p)
		}
	}
	if last != nil && newNextBlock > 0 {
		last.nextBlock = max(last.nextBlock, newNextBlock)
	}
	ps.nextID = newNextID
	ps.seen.Store(gen)
	ps.queueLeft()
	return gen, nil
}

// queueLeft queues for sealing every unsealed partition but the last,
// which no store writes any more: one another store left (a short vigil
// ingest that opened a new day and exited before sealing the old one)
// would otherwise stay hot here until a restart. Without waiting: the
// caller holds mu, perhaps inside the write transaction, so the partition
// is only handed to the loop (never sealInline's seal); one the queue
// has no room for is marked again at the next catching up. The caller
// holds mu.
func (ps *parts) queueLeft() {
	for i, p := range ps.list {
		if i == len(ps.list)-1 || p.sealed || p.sealing {
			continue
		}
		select {
		case ps.sealQueue <- p:
			p.sealing = true
		default:
		}
	}
}

// readRows reads the rows of an unsealed partition whose id is above
// after, with their keys, and which forms of rows it has (its table of
// chunks: partition.hotChunks): from its chunks (ev_N_hot, layout version 8),
// its rows (ev_N, before), or both (a partition hot at the upgrade).
// Keys are inserted in the order of their events' ids, so that reading
// them backwards stops at the first one held: a refresh reads what is
// new, not the partition.
func (ps *parts) readRows(ctx context.Context, q partsQueryer, p *partition, after int64) ([]partEntry, hotForm, error) {
	forms, err := hotForms(ctx, q, p)
	if err != nil {
		return nil, forms, err
	}
	keys := map[int64][]partKey{}
	rows, err := q.QueryContext(ctx, `SELECT kind, value, id FROM `+p.table+`_keys ORDER BY rowid DESC`)
	if err != nil {
		return nil, forms, err
	}
	for rows.Next() {
		var (
			k  partKey
			id int64
		)
		if err := rows.Scan(&k.kind, &k.value, &id); err != nil {
			rows.Close()
			return nil, forms, err
		}
		if id <= after {
			break
		}
		keys[id] = append(keys[id], k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, forms, err
	}
	for _, list := range keys {
		// Read backwards: each event's keys back in their order.
		for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
			list[i], list[j] = list[j], list[i]
		}
	}
	var out []partEntry
	if forms.rows {
		if out, err = readCompactRows(ctx, q, p, after, out); err != nil {
			return nil, forms, err
		}
	}
	if forms.chunks {
		// After the rows: the chunks' ids are the later ones.
		if out, err = ps.readHotChunks(ctx, q, p, after, out); err != nil {
			return nil, forms, err
		}
	}
	for i := range out {
		out[i].keys = keys[out[i].id]
	}
	return out, forms, nil
}

// readCompactRows appends to out the rows of ev_N (a partition written
// before layout version 8) whose id is above after, without their keys.
func readCompactRows(ctx context.Context, q partsQueryer, p *partition, after int64, out []partEntry) ([]partEntry, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, ts, h8, loc, src_ip, dst_ip, src_asn, dst_asn, src_fqdn, dst_fqdn,
		feed, taxonomy, type, tlp FROM `+p.table+` WHERE id > ? ORDER BY id`, after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			en                       partEntry
			h                        int64
			src, dst                 []byte
			srcASN, dstASN           sql.NullInt64
			srcName, dstName         sql.NullString
			feed, taxonomy, typ, tlp sql.NullInt64
		)
		if err := rows.Scan(&en.id, &en.ts, &h, &en.loc, &src, &dst, &srcASN, &dstASN, &srcName, &dstName,
			&feed, &taxonomy, &typ, &tlp); err != nil {
			return nil, err
		}
		en.ts += p.base
		en.h8 = uint64(h)
		en.srcIP, en.dstIP = ipKeyOf(src), ipKeyOf(dst)
		en.srcASN, en.dstASN = srcASN.Int64, dstASN.Int64
		en.srcFQDN, en.dstFQDN = srcName.String, dstName.String
		en.feed, en.taxonomy, en.typ, en.tlp = feed.Int64, taxonomy.Int64, typ.Int64, tlp.Int64
		out = append(out, en)
	}
	return out, rows.Err()
}

// recordsFresh is records for ids a reader found in the database (the
// notification queue, the index of events by organisation): an id the
// memory lacks may be another store's event committed after the reader's
// refresh, so the memory is refreshed and asked again for those.
func (ps *parts) recordsFresh(ctx context.Context, ids []int64) (map[int64]partRecord, error) {
	out, err := ps.records(ctx, ids)
	if err != nil || len(out) >= len(ids) {
		return out, err
	}
	var missing []int64
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 { // ids held one id twice
		return out, nil
	}
	// Asked again even when this refresh found nothing new: another
	// reader's refresh may have caught the memory up since the first ask.
	if err := ps.refresh(ctx); err != nil {
		return nil, err
	}
	more, err := ps.records(ctx, missing)
	if err != nil {
		return nil, err
	}
	for id, r := range more {
		out[id] = r
	}
	return out, nil
}
