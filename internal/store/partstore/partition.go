package partstore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

const schema = `
CREATE TABLE IF NOT EXISTS blocks (
	id INTEGER PRIMARY KEY,
	stored INTEGER NOT NULL,
	n INTEGER NOT NULL,
	data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
	id INTEGER PRIMARY KEY,
	ts INTEGER NOT NULL,
	h INTEGER NOT NULL,
	loc INTEGER,
	src_ip BLOB, dst_ip BLOB,
	src_asn INTEGER, dst_asn INTEGER,
	src_fqdn TEXT, dst_fqdn TEXT,
	stored INTEGER,
	body BLOB
);
CREATE TABLE IF NOT EXISTS summary (key TEXT PRIMARY KEY, value BLOB NOT NULL);
`

// sealIndexes are built when a partition is sealed: each side's column
// with ts, so that an equality reads its matches newest first and a range
// keeps only index entries in its sorter; partial, because most events
// have no destination and three in four no host name.
var sealIndexes = []string{
	`CREATE INDEX IF NOT EXISTS events_ts ON events (ts)`,
	`CREATE INDEX IF NOT EXISTS events_h ON events (h)`,
	`CREATE INDEX IF NOT EXISTS events_src_ip ON events (src_ip, ts) WHERE src_ip IS NOT NULL`,
	`CREATE INDEX IF NOT EXISTS events_dst_ip ON events (dst_ip, ts) WHERE dst_ip IS NOT NULL`,
	`CREATE INDEX IF NOT EXISTS events_src_asn ON events (src_asn, ts) WHERE src_asn IS NOT NULL`,
	`CREATE INDEX IF NOT EXISTS events_dst_asn ON events (dst_asn, ts) WHERE dst_asn IS NOT NULL`,
	`CREATE INDEX IF NOT EXISTS events_src_fqdn ON events (src_fqdn, ts) WHERE src_fqdn IS NOT NULL`,
	`CREATE INDEX IF NOT EXISTS events_dst_fqdn ON events (dst_fqdn, ts) WHERE dst_fqdn IS NOT NULL`,
}

// hotEntry is an event's row as the hot partition keeps it in memory.
type hotEntry struct {
	ts, id           int64
	h                uint64
	srcIP, dstIP     store.IPKey
	srcASN, dstASN   int64
	srcFQDN, dstFQDN string
}

// summary is what a sealed partition tells about its events without being
// opened.
type summary struct {
	tmin, tmax int64
	count      int64
	// ips holds each address key and, for IPv4, its /16 (prefix16Key).
	ips    *bloom
	asns   *bloom
	fqdns  *bloom // every label suffix of each reversed name
	hashes *bloom
}

type partition struct {
	file string
	day  string
	seq  int

	// Guarded by Store.mu.
	sealed    bool
	entries   []hotEntry // hot partitions only
	sum       summary    // tmin, tmax, count kept up to date while hot
	lastWrite int64

	// Used by the writer (under Store.insert) and by sealing only.
	write              *sql.DB
	nextID, nextBlock  int64
	stmtEvents, stmtBl map[int]*sql.Stmt

	readMu sync.Mutex
	read   *sql.DB

	// dict is the partition's zstd dictionary (Options.DictionaryEvents),
	// nil without; set before the partition's first write.
	dict    []byte
	codecMu sync.Mutex
	enc     *zstd.Encoder
	dec     *zstd.Decoder
}

// encoder returns the encoder of p's blocks.
func (s *Store) encoder(p *partition) (*zstd.Encoder, error) {
	if p.dict == nil {
		return s.enc, nil
	}
	p.codecMu.Lock()
	defer p.codecMu.Unlock()
	if p.enc == nil {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(s.opts.ZstdLevel),
			zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)), zstd.WithLowerEncoderMem(true),
			zstd.WithEncoderDictRaw(1, p.dict))
		if err != nil {
			return nil, err
		}
		p.enc = enc
	}
	return p.enc, nil
}

// decoder returns the decoder of p's blocks.
func (s *Store) decoder(p *partition) (*zstd.Decoder, error) {
	p.codecMu.Lock()
	defer p.codecMu.Unlock()
	if p.dict == nil {
		return s.dec, nil
	}
	if p.dec == nil {
		dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderDictRaw(1, p.dict))
		if err != nil {
			return nil, err
		}
		p.dec = dec
	}
	return p.dec, nil
}

func dsn(file string, pragmas ...string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	return (&url.URL{Scheme: "file", Path: file, RawQuery: q.Encode()}).String() + "&_txlock=immediate"
}

// openPartition opens or creates the partition file, then reads its
// summary (sealed) or its rows into memory (hot).
func (s *Store) openPartition(ctx context.Context, file, day string, seq int) (*partition, error) {
	p := &partition{file: file, day: day, seq: seq, stmtEvents: map[int]*sql.Stmt{}, stmtBl: map[int]*sql.Stmt{}}
	w, err := sql.Open("sqlite", dsn(file, "journal_mode(WAL)", "synchronous("+s.opts.Synchronous+")",
		"cache_size(-16384)", "temp_store(MEMORY)"))
	if err != nil {
		return nil, fmt.Errorf("partstore: open %s: %w", file, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	p.write = w
	if _, err := w.ExecContext(ctx, schema); err != nil {
		w.Close()
		return nil, fmt.Errorf("partstore: open %s: %w", file, err)
	}
	rows, err := w.QueryContext(ctx, `SELECT key, value FROM summary`)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("partstore: open %s: %w", file, err)
	}
	values := map[string][]byte{}
	for rows.Next() {
		var k string
		var v []byte
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			w.Close()
			return nil, fmt.Errorf("partstore: open %s: %w", file, err)
		}
		values[k] = v
	}
	rows.Close()
	p.dict = values["dict"]
	if _, ok := values["sealed"]; ok {
		if err := p.sum.unmarshal(values); err != nil {
			w.Close()
			return nil, fmt.Errorf("partstore: open %s: %w", file, err)
		}
		p.sealed = true
		// A sealed partition is never written again.
		p.write = nil
		return p, w.Close()
	}
	if err := p.load(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("partstore: open %s: %w", file, err)
	}
	return p, nil
}

// load reads a hot partition's rows into memory.
func (p *partition) load(ctx context.Context) error {
	rows, err := p.write.QueryContext(ctx, `SELECT id, ts, h, src_ip, dst_ip, src_asn, dst_asn, src_fqdn, dst_fqdn FROM events ORDER BY id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			en               hotEntry
			h                int64
			src, dst         []byte
			srcASN, dstASN   sql.NullInt64
			srcName, dstName sql.NullString
		)
		if err := rows.Scan(&en.id, &en.ts, &h, &src, &dst, &srcASN, &dstASN, &srcName, &dstName); err != nil {
			return err
		}
		en.h = uint64(h)
		en.srcIP, en.dstIP = ipKeyOf(src), ipKeyOf(dst)
		en.srcASN, en.dstASN = srcASN.Int64, dstASN.Int64
		en.srcFQDN, en.dstFQDN = srcName.String, dstName.String
		p.add(en)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := p.write.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM blocks`).Scan(&p.nextBlock); err != nil {
		return err
	}
	p.nextBlock++
	p.nextID = int64(len(p.entries)) + 1
	if n := len(p.entries); n > 0 {
		p.nextID = p.entries[n-1].id + 1
	}
	return nil
}

func ipKeyOf(b []byte) store.IPKey {
	if len(b) != 16 {
		return store.IPKey{}
	}
	return store.MakeIPKey(netip.AddrFrom16([16]byte(b)))
}

// add appends en to the hot partition's copy (the caller holds Store.mu).
func (p *partition) add(en hotEntry) {
	p.entries = append(p.entries, en)
	if p.sum.count == 0 || en.ts < p.sum.tmin {
		p.sum.tmin = en.ts
	}
	if p.sum.count == 0 || en.ts > p.sum.tmax {
		p.sum.tmax = en.ts
	}
	p.sum.count++
}

// reader returns the partition's read pool, opened on first use.
func (p *partition) reader() (*sql.DB, error) {
	p.readMu.Lock()
	defer p.readMu.Unlock()
	if p.read != nil {
		return p.read, nil
	}
	db, err := sql.Open("sqlite", dsn(p.file, "query_only(1)", "cache_size(-4096)"))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(runtime.GOMAXPROCS(0))
	db.SetMaxIdleConns(runtime.GOMAXPROCS(0))
	p.read = db
	return db, nil
}

func (p *partition) close() error {
	var errs []error
	for _, st := range p.stmtEvents {
		errs = append(errs, st.Close())
	}
	for _, st := range p.stmtBl {
		errs = append(errs, st.Close())
	}
	if p.write != nil {
		errs = append(errs, p.write.Close())
	}
	p.readMu.Lock()
	if p.read != nil {
		errs = append(errs, p.read.Close())
	}
	p.readMu.Unlock()
	p.codecMu.Lock()
	if p.enc != nil {
		errs = append(errs, p.enc.Close())
	}
	if p.dec != nil {
		p.dec.Close()
	}
	p.codecMu.Unlock()
	return errors.Join(errs...)
}

// Rows a statement: several rows an INSERT save the per-statement cost of
// database/sql and SQLite's VDBE setup. 64 × 12 parameters stay far below
// SQLite's limit of 32766.
const (
	eventRowsPerInsert = 64
	eventColumns       = 12
	blockRowsPerInsert = 16
	blockColumns       = 4
)

func insertSQL(table string, columns, n int, names string) string {
	row := "(?" + strings.Repeat(", ?", columns-1) + ")"
	return "INSERT INTO " + table + " (" + names + ") VALUES " + row + strings.Repeat(", "+row, n-1)
}

func (p *partition) stmt(ctx context.Context, blocks bool, n int) (*sql.Stmt, error) {
	cache, text := p.stmtEvents, ""
	if blocks {
		cache = p.stmtBl
	}
	if st, ok := cache[n]; ok {
		return st, nil
	}
	if blocks {
		text = insertSQL("blocks", blockColumns, n, "id, stored, n, data")
	} else {
		text = insertSQL("events", eventColumns, n, "id, ts, h, loc, src_ip, dst_ip, src_asn, dst_asn, src_fqdn, dst_fqdn, stored, body")
	}
	st, err := p.write.PrepareContext(ctx, text)
	if err != nil {
		return nil, err
	}
	cache[n] = st
	return st, nil
}

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// write stores events in p in one transaction, then adds them to p's copy
// in memory, so a search never finds an entry whose row is not committed.
func (s *Store) write(ctx context.Context, p *partition, events []*event.Event, now time.Time) (err error) {
	stored := now.UnixMicro()
	per := s.opts.BlockEvents
	nBlocks := (len(events) + per - 1) / per
	var newDict []byte
	if s.opts.DictionaryEvents > 0 && p.nextID == 1 {
		for _, e := range events[:min(s.opts.DictionaryEvents, len(events))] {
			newDict = event.AppendRecord(newDict, e)
		}
		p.dict = newDict
		defer func() {
			if err != nil { // not stored: the partition is still without
				p.dict, p.enc = nil, nil
			}
		}()
	}
	enc, err := s.encoder(p)
	if err != nil {
		return err
	}
	bodies := compress(enc, events, per, nBlocks)

	entries := make([]hotEntry, len(events))
	for i, e := range events {
		c := store.ExtractColumns(e, now)
		entries[i] = hotEntry{ts: c.TimeSource, id: p.nextID + int64(i), h: hashKey(e.Hash()),
			srcIP: c.SrcIP, dstIP: c.DstIP, srcASN: c.SrcASN, dstASN: c.DstASN, srcFQDN: c.SrcFQDN, dstFQDN: c.DstFQDN}
	}
	// The statements are prepared before the transaction takes the
	// writer's only connection.
	sizes := []struct {
		blocks bool
		n      int
	}{{false, min(eventRowsPerInsert, len(events))}, {false, len(events) % eventRowsPerInsert}}
	if per > 1 {
		sizes = append(sizes, struct {
			blocks bool
			n      int
		}{true, min(blockRowsPerInsert, nBlocks)}, struct {
			blocks bool
			n      int
		}{true, nBlocks % blockRowsPerInsert})
	}
	for _, sz := range sizes {
		if sz.n > 0 {
			if _, err := p.stmt(ctx, sz.blocks, sz.n); err != nil {
				return err
			}
		}
	}
	tx, err := p.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if newDict != nil {
		if _, err := tx.ExecContext(ctx, `INSERT INTO summary (key, value) VALUES ('dict', ?)`, newDict); err != nil {
			return err
		}
	}
	args := make([]any, 0, eventColumns*eventRowsPerInsert)
	if per > 1 {
		for start := 0; start < nBlocks; start += blockRowsPerInsert {
			end := min(start+blockRowsPerInsert, nBlocks)
			args = args[:0]
			for b := start; b < end; b++ {
				n := min(per, len(events)-b*per)
				args = append(args, p.nextBlock+int64(b), stored, n, bodies[b])
			}
			st, err := p.stmt(ctx, true, end-start)
			if err != nil {
				return err
			}
			if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...); err != nil {
				return err
			}
		}
	}
	for start := 0; start < len(events); start += eventRowsPerInsert {
		end := min(start+eventRowsPerInsert, len(events))
		args = args[:0]
		for i := start; i < end; i++ {
			en := &entries[i]
			var loc, st, body any
			if per > 1 {
				loc = (p.nextBlock+int64(i/per))<<8 | int64(i%per)
			} else {
				st, body = stored, bodies[i]
			}
			args = append(args, en.id, en.ts, int64(en.h), loc, en.srcIP.Bytes(), en.dstIP.Bytes(),
				nullInt(en.srcASN), nullInt(en.dstASN), nullText(en.srcFQDN), nullText(en.dstFQDN), st, body)
		}
		st, err := p.stmt(ctx, false, end-start)
		if err != nil {
			return err
		}
		if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	p.nextID += int64(len(events))
	p.nextBlock += int64(nBlocks)
	s.mu.Lock()
	s.writes++
	p.lastWrite = s.writes
	for _, en := range entries {
		p.add(en)
	}
	s.mu.Unlock()
	return nil
}

// compress returns the compressed body of each of nBlocks blocks of per
// events, the blocks shared out among the cores. A block is each event's
// record (event.AppendRecord) after its length as a uvarint.
func compress(enc *zstd.Encoder, events []*event.Event, per, nBlocks int) [][]byte {
	bodies := make([][]byte, nBlocks)
	workers := min(runtime.GOMAXPROCS(0), nBlocks)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var raw, rec []byte
			for b := w; b < nBlocks; b += workers {
				raw = raw[:0]
				for _, e := range events[b*per : min((b+1)*per, len(events))] {
					rec = event.AppendRecord(rec[:0], e)
					raw = binary.AppendUvarint(raw, uint64(len(rec)))
					raw = append(raw, rec...)
				}
				bodies[b] = enc.EncodeAll(raw, nil)
			}
		}()
	}
	wg.Wait()
	return bodies
}

// seal builds p's indexes and summary, then lets searches use them.
func (s *Store) seal(ctx context.Context, p *partition) error {
	s.mu.RLock()
	entries := p.entries
	sum := summary{tmin: p.sum.tmin, tmax: p.sum.tmax, count: p.sum.count}
	s.mu.RUnlock()
	sum.build(entries)
	tx, err := p.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range sealIndexes {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	for k, v := range sum.marshal() {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO summary (key, value) VALUES (?, ?)`, k, v); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if _, err := p.write.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return err
	}
	for _, st := range p.stmtEvents {
		st.Close()
	}
	for _, st := range p.stmtBl {
		st.Close()
	}
	p.stmtEvents, p.stmtBl = nil, nil
	err = p.write.Close()
	s.mu.Lock()
	p.sum = sum
	p.sealed = true
	p.entries = nil
	p.write = nil
	s.mu.Unlock()
	return err
}

// prefix16Key is the Bloom key of an IPv4 address's /16.
func prefix16Key(k store.IPKey) ([]byte, bool) {
	b := k.Bytes()
	if b == nil || !isV4Mapped(b) {
		return nil, false
	}
	return []byte{'/', 16, b[12], b[13]}, true
}

func isV4Mapped(b []byte) bool {
	for _, c := range b[:10] {
		if c != 0 {
			return false
		}
	}
	return b[10] == 0xff && b[11] == 0xff
}

func asnKey(a int64) []byte { return binary.AppendVarint(nil, a) }

// fqdnSuffixes calls fn with every label suffix of a reversed name:
// "be.example.www." gives "be.", "be.example." and "be.example.www.".
func fqdnSuffixes(rev string, fn func(string)) {
	for i := 0; i < len(rev); i++ {
		if rev[i] == '.' {
			fn(rev[:i+1])
		}
	}
}

func (sum *summary) build(entries []hotEntry) {
	sum.ips, sum.asns, sum.fqdns, sum.hashes = newBloom(2*len(entries)), newBloom(len(entries)/8), newBloom(len(entries)), newBloom(len(entries))
	var hb [8]byte
	for i := range entries {
		en := &entries[i]
		for _, ip := range []store.IPKey{en.srcIP, en.dstIP} {
			if b := ip.Bytes(); b != nil {
				sum.ips.add(b)
				if k, ok := prefix16Key(ip); ok {
					sum.ips.add(k)
				}
			}
		}
		for _, a := range []int64{en.srcASN, en.dstASN} {
			if a != 0 {
				sum.asns.add(asnKey(a))
			}
		}
		for _, n := range []string{en.srcFQDN, en.dstFQDN} {
			fqdnSuffixes(n, func(suffix string) { sum.fqdns.add([]byte(suffix)) })
		}
		binary.BigEndian.PutUint64(hb[:], en.h)
		sum.hashes.add(hb[:])
	}
}

func (sum *summary) marshal() map[string][]byte {
	return map[string][]byte{
		"sealed": {1},
		"tmin":   binary.AppendVarint(nil, sum.tmin),
		"tmax":   binary.AppendVarint(nil, sum.tmax),
		"count":  binary.AppendVarint(nil, sum.count),
		"ips":    sum.ips.marshal(),
		"asns":   sum.asns.marshal(),
		"fqdns":  sum.fqdns.marshal(),
		"hashes": sum.hashes.marshal(),
	}
}

var errBadSummary = errors.New("malformed partition summary")

func (sum *summary) unmarshal(v map[string][]byte) error {
	var ok [3]int
	sum.tmin, ok[0] = binary.Varint(v["tmin"])
	sum.tmax, ok[1] = binary.Varint(v["tmax"])
	sum.count, ok[2] = binary.Varint(v["count"])
	for _, n := range ok {
		if n <= 0 {
			return errBadSummary
		}
	}
	var errs [4]error
	sum.ips, errs[0] = unmarshalBloom(v["ips"])
	sum.asns, errs[1] = unmarshalBloom(v["asns"])
	sum.fqdns, errs[2] = unmarshalBloom(v["fqdns"])
	sum.hashes, errs[3] = unmarshalBloom(v["hashes"])
	return errors.Join(errs[:]...)
}
