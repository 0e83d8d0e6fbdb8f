package partstore

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// ErrUnsupported is returned for a query the prototype cannot answer
// (filters other than IP, Prefix, ASN, FQDN, From and To; cursors; other
// sort orders).
var ErrUnsupported = errors.New("partstore: query not supported by the prototype")

// filter is an EventQuery as both the in-memory scan of a hot partition
// and the SQL of a sealed one read it.
type filter struct {
	ip       []byte // 16-byte key
	ipKey    store.IPKey
	lo, hi   []byte // prefix range
	asn      int64
	from, to string // reversed host-name range
	noMatch  bool
	tFrom    int64
	tTo      int64 // exclusive; 0 is unbounded
	hasTFrom bool
	// blooms are keys each of which a partition's Bloom filter must hold.
	ipBloom, asnBloom, fqdnBloom [][]byte
}

func newFilter(q store.EventQuery) (filter, error) {
	var f filter
	if q.URL != "" || q.Hash != "" || q.Taxonomy != "" || q.Type != "" || q.Feed != "" || q.TLP != "" ||
		q.Organisation != "" || q.After != "" || (q.Sort != "" && q.Sort != store.SortTime) || q.Ascending {
		return f, ErrUnsupported
	}
	if q.IP.IsValid() {
		k := store.MakeIPKey(q.IP)
		f.ip = append([]byte(nil), k.Bytes()...)
		f.ipKey = k
		f.ipBloom = append(f.ipBloom, f.ip)
	}
	if q.Prefix.IsValid() {
		first, last := store.PrefixRange(q.Prefix)
		f.lo, f.hi = first[:], last[:]
		p := q.Prefix.Masked()
		if p.Addr().Is4() && p.Bits() >= 16 {
			b := p.Addr().As4()
			f.ipBloom = append(f.ipBloom, []byte{'/', 16, b[0], b[1]})
		}
	}
	if q.ASN != 0 {
		f.asn = int64(q.ASN)
		f.asnBloom = append(f.asnBloom, asnKey(f.asn))
	}
	if q.FQDN != "" {
		f.from, f.to = store.FQDNRange(q.FQDN)
		if f.from == "" {
			f.noMatch = true
		}
		f.fqdnBloom = append(f.fqdnBloom, []byte(f.from))
	}
	if !q.From.IsZero() {
		f.tFrom, f.hasTFrom = q.From.UnixMicro(), true
	}
	if !q.To.IsZero() {
		f.tTo = q.To.UnixMicro()
		if f.hasTFrom && f.tTo <= f.tFrom {
			f.noMatch = true
		}
	}
	return f, nil
}

// admits reports whether a partition with this summary can hold a match.
func (f *filter) admits(sum *summary) bool {
	if sum.count == 0 || (f.hasTFrom && sum.tmax < f.tFrom) || (f.tTo != 0 && sum.tmin >= f.tTo) {
		return false
	}
	for _, k := range f.ipBloom {
		if !sum.ips.has(k) {
			return false
		}
	}
	for _, k := range f.asnBloom {
		if !sum.asns.has(k) {
			return false
		}
	}
	for _, k := range f.fqdnBloom {
		if !sum.fqdns.has(k) {
			return false
		}
	}
	return true
}

func (f *filter) matchIP(k *store.IPKey) bool {
	b := k.Bytes()
	if b == nil {
		return false
	}
	return bytes.Compare(b, f.lo) >= 0 && bytes.Compare(b, f.hi) <= 0
}

func (f *filter) matchName(n string) bool { return n != "" && n >= f.from && n < f.to }

// match tests a hot partition's entry.
func (f *filter) match(en *hotEntry) bool {
	if (f.hasTFrom && en.ts < f.tFrom) || (f.tTo != 0 && en.ts >= f.tTo) {
		return false
	}
	// An address is compared as a whole key (a comparison of two
	// arrays): the scan of a hot partition tests every entry.
	if f.ip != nil && en.srcIP != f.ipKey && en.dstIP != f.ipKey {
		return false
	}
	if f.lo != nil && !f.matchIP(&en.srcIP) && !f.matchIP(&en.dstIP) {
		return false
	}
	if f.asn != 0 && en.srcASN != f.asn && en.dstASN != f.asn {
		return false
	}
	if f.from != "" && !f.matchName(en.srcFQDN) && !f.matchName(en.dstFQDN) {
		return false
	}
	return true
}

// side is one SQL condition on one side (source, destination) with the
// index that serves it.
type side struct {
	index string
	cond  string
	args  []any
}

// sides returns the driving indicator's conditions (in the order IP,
// prefix, ASN, host name) and the remaining ones as plain conditions; no
// sides means the time index drives.
func (f *filter) sql() (sides []side, where []string, args []any) {
	type ind struct {
		col  string
		cond func(col string) (string, []any)
		set  bool
	}
	inds := []ind{
		{"ip", func(c string) (string, []any) { return c + " = ?", []any{f.ip} }, f.ip != nil},
		{"ip", func(c string) (string, []any) { return c + " >= ? AND " + c + " <= ?", []any{f.lo, f.hi} }, f.lo != nil},
		{"asn", func(c string) (string, []any) { return c + " = ?", []any{f.asn} }, f.asn != 0},
		{"fqdn", func(c string) (string, []any) { return c + " >= ? AND " + c + " < ?", []any{f.from, f.to} }, f.from != ""},
	}
	for _, in := range inds {
		if !in.set {
			continue
		}
		if sides == nil {
			for _, prefix := range []string{"src_", "dst_"} {
				c, a := in.cond(prefix + in.col)
				sides = append(sides, side{index: "events_" + prefix + in.col, cond: c, args: a})
			}
			continue
		}
		c1, a1 := in.cond("src_" + in.col)
		c2, a2 := in.cond("dst_" + in.col)
		where = append(where, "(("+c1+") OR ("+c2+"))")
		args = append(append(args, a1...), a2...)
	}
	if f.hasTFrom {
		where = append(where, "ts >= ?")
		args = append(args, f.tFrom)
	}
	if f.tTo != 0 {
		where = append(where, "ts < ?")
		args = append(args, f.tTo)
	}
	return sides, where, args
}

// hit is a match: its partition and row, and its place in the order.
type hit struct {
	p  *partition
	ts int64
	id int64
}

// before orders hits newest first; ties by partition, then row, newest
// first.
func before(a, b hit) bool {
	if a.ts != b.ts {
		return a.ts > b.ts
	}
	if a.p.seq != b.p.seq {
		return a.p.seq > b.p.seq
	}
	return a.id > b.id
}

// topK keeps the k first hits in the order of before.
type topK struct {
	k    int
	hits []hit // sorted, best first
}

func (t *topK) full() bool { return len(t.hits) >= t.k }

func (t *topK) offer(h hit) {
	if t.full() && !before(h, t.hits[len(t.hits)-1]) {
		return
	}
	i, _ := slices.BinarySearchFunc(t.hits, h, func(a, b hit) int {
		if before(a, b) {
			return -1
		}
		if before(b, a) {
			return 1
		}
		return 0
	})
	if t.full() {
		t.hits = t.hits[:len(t.hits)-1]
	}
	t.hits = slices.Insert(t.hits, i, h)
}

// view is a partition as one search saw it.
type view struct {
	p       *partition
	sealed  bool
	entries []hotEntry
	sum     summary
}

// Search returns the first page of q's matches, newest time.source first.
func (s *Store) Search(ctx context.Context, q store.EventQuery) (store.EventPage, error) {
	f, err := newFilter(q)
	if err != nil {
		return store.EventPage{}, err
	}
	if f.noMatch {
		return store.EventPage{}, nil
	}
	limit := store.PageLimit(q.Limit)
	s.mu.RLock()
	views := make([]view, 0, len(s.parts))
	for _, p := range s.parts {
		v := view{p: p, sealed: p.sealed, entries: p.entries, sum: p.sum}
		if f.admits(&v.sum) {
			views = append(views, v)
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(views, func(a, b view) int { return cmp.Compare(b.sum.tmax, a.sum.tmax) })

	top := topK{k: limit + 1}
	for _, v := range views {
		if top.full() && v.sum.tmax < top.hits[len(top.hits)-1].ts {
			break // this partition and the rest hold only older events
		}
		if !v.sealed {
			for i := len(v.entries) - 1; i >= 0; i-- {
				if en := &v.entries[i]; f.match(en) {
					top.offer(hit{p: v.p, ts: en.ts, id: en.id})
				}
			}
			continue
		}
		if err := s.searchSealed(ctx, v.p, &f, &top); err != nil {
			return store.EventPage{}, fmt.Errorf("partstore: search %s: %w", v.p.file, err)
		}
	}
	hits := top.hits
	var page store.EventPage
	if len(hits) > limit {
		hits = hits[:limit]
		page.Next = "more" // the prototype has no cursors: this only says a next page exists
	}
	byPart := map[*partition][]int64{}
	for _, h := range hits {
		byPart[h.p] = append(byPart[h.p], h.id)
	}
	found := map[*partition]map[int64]store.StoredEvent{}
	for p, ids := range byPart {
		m, err := s.fetch(ctx, p, ids)
		if err != nil {
			return store.EventPage{}, fmt.Errorf("partstore: search: %w", err)
		}
		found[p] = m
	}
	for _, h := range hits {
		se, ok := found[h.p][h.id]
		if !ok {
			return store.EventPage{}, fmt.Errorf("partstore: search: row %d of %s vanished", h.id, h.p.file)
		}
		page.Events = append(page.Events, se)
	}
	return page, nil
}

// searchSealed offers the newest matches of a sealed partition to top.
func (s *Store) searchSealed(ctx context.Context, p *partition, f *filter, top *topK) error {
	db, err := p.reader()
	if err != nil {
		return err
	}
	sides, where, args := f.sql()
	run := func(from, cond string, condArgs []any) error {
		conds := where
		a := args
		if cond != "" {
			conds = append([]string{cond}, where...)
			a = append(append([]any{}, condArgs...), args...)
		}
		text := `SELECT ts, id FROM events ` + from
		if len(conds) > 0 {
			text += " WHERE " + strings.Join(conds, " AND ")
		}
		text += ` ORDER BY ts DESC, id DESC LIMIT ?`
		rows, err := db.QueryContext(ctx, text, append(a, top.k)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var h hit
			if err := rows.Scan(&h.ts, &h.id); err != nil {
				return err
			}
			h.p = p
			top.offer(h)
		}
		return rows.Err()
	}
	if len(sides) == 0 {
		return run("INDEXED BY events_ts", "", nil)
	}
	// An event matching on both sides is offered twice; the second is
	// dropped as equal to the first.
	for _, sd := range sides {
		if err := run("INDEXED BY "+sd.index, sd.cond, sd.args); err != nil {
			return err
		}
	}
	return nil
}

// fetch reads the events of rows ids of p.
func (s *Store) fetch(ctx context.Context, p *partition, ids []int64) (map[int64]store.StoredEvent, error) {
	db, err := p.reader()
	if err != nil {
		return nil, err
	}
	dec, err := s.decoder(p)
	if err != nil {
		return nil, err
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := db.QueryContext(ctx, `SELECT id, loc, stored, body FROM events WHERE id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[int64]store.StoredEvent, len(ids))
	type place struct{ id, slot int64 }
	inBlock := map[int64][]place{}
	for rows.Next() {
		var (
			id     int64
			loc    sql.NullInt64
			stored sql.NullInt64
			body   []byte
		)
		if err := rows.Scan(&id, &loc, &stored, &body); err != nil {
			return nil, err
		}
		if loc.Valid {
			inBlock[loc.Int64>>8] = append(inBlock[loc.Int64>>8], place{id, loc.Int64 & 0xff})
			continue
		}
		e, err := decodeSlot(dec, body, 0)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", id, err)
		}
		out[id] = storedEvent(e, stored.Int64)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	// Blocks are read and decompressed by as many goroutines as there are
	// cores: a page of 50 events may sit in 50 blocks, and decompressing
	// them is most of a search's work.
	type job struct {
		block  int64
		places []place
	}
	jobs := make(chan job)
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for range min(runtime.GOMAXPROCS(0), len(inBlock)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var raw []byte
			for j := range jobs {
				var (
					stored int64
					data   []byte
				)
				err := db.QueryRowContext(ctx, `SELECT stored, data FROM blocks WHERE id = ?`, j.block).Scan(&stored, &data)
				if err == nil {
					raw, err = dec.DecodeAll(data, raw[:0])
				}
				mu.Lock()
				for _, pl := range j.places {
					var e *event.Event
					if err == nil {
						e, err = recordAt(raw, pl.slot)
					}
					if err != nil {
						errs = append(errs, fmt.Errorf("block %d slot %d: %w", j.block, pl.slot, err))
						break
					}
					out[pl.id] = storedEvent(e, stored)
				}
				mu.Unlock()
			}
		}()
	}
	for block, places := range inBlock {
		jobs <- job{block, places}
	}
	close(jobs)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

func storedEvent(e *event.Event, stored int64) store.StoredEvent {
	return store.StoredEvent{Hash: e.Hash(), Stored: time.UnixMicro(stored).UTC(), Event: e}
}

func decodeSlot(dec *zstd.Decoder, data []byte, slot int64) (*event.Event, error) {
	raw, err := dec.DecodeAll(data, nil)
	if err != nil {
		return nil, err
	}
	return recordAt(raw, slot)
}

var errBadBlock = errors.New("malformed block")

// recordAt decodes the slot-th record of a decompressed block.
func recordAt(raw []byte, slot int64) (*event.Event, error) {
	for i := int64(0); ; i++ {
		n, l := binary.Uvarint(raw)
		if l <= 0 || uint64(len(raw)-l) < n {
			return nil, errBadBlock
		}
		if i == slot {
			return event.DecodeRecord(raw[l : l+int(n)])
		}
		raw = raw[l+int(n):]
	}
}

// queryIDs returns the first column of every row of query.
func queryIDs(ctx context.Context, db *sql.DB, query string, args ...any) ([]int64, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
