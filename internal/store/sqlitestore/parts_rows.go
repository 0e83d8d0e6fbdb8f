package sqlitestore

// A sealed partition's compact rows in column chunks (layout version 7).
// A compact row (ev_N) costs about 48 bytes an event, 21 of them SQLite's
// record header and cell; a sealing of version 7 writes the partition's
// rows instead in chunks of rowsChunk events, one row of ev_N_rows a
// chunk, and drops ev_N. Chunk k of a partition holds its events whose id
// is within [first_id, first_id + rowsChunk), first_id = firstID + k ×
// rowsChunk: the chunk of an id is the one of the greatest first_id not
// above it, one query (first_id <= id ORDER BY first_id DESC LIMIT 1).
//
// A chunk (chunkVersion 1) is a version byte, the count n of its events
// as a uvarint, the low 5 bytes of their h8 in 5n bytes (little-endian,
// outside the frame as they do not compress; a reader still decompresses
// the chunk, for the ids they belong to; the first 3, h3, are
// in the partition's runs of hashes, parts_hashes.go, which give an
// event's position), then one zstd frame of the other columns, each of
// n values one after the other:
//
//   - id: the first less first_id, then each less the one before less 1,
//     uvarints (0 for consecutive ids);
//   - ts: time.source less the partition's base, then each less the one
//     before, zigzag varints;
//   - loc: the first, then each less the one before, zigzag varints;
//   - addresses: a byte an event (bit 0 a source address of 16 bytes, bit
//     1 one of 4, bits 2 and 3 the same of the destination), then the
//     source addresses, then the destination ones;
//   - AS numbers: the source's, then the destination's, uvarints (0 for
//     none);
//   - host names (reversed, as the compact row held them): the source's,
//     then the destination's, each its length as a uvarint and its bytes;
//   - the four dictionary codes: the count of distinct (feed, taxonomy,
//     type, TLP) of the chunk, each as four uvarints (0 for none), then
//     each event's number in that list, a uvarint.
//
// A reader decompresses the chunks its ids are in, and parses what it
// needs of them: the locations stop after loc.

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// rowsVersion is the layout version from which a sealing writes the
// compact rows in chunks and drops ev_N (event_parts.sealed_as).
const rowsVersion = 7

// defaultRowsChunk is how many ids a chunk spans: about 50 KB of columns
// before compression, decoded in well under a millisecond.
const defaultRowsChunk = 4096

// chunkVersion leads a sealed partition's chunk; hotChunkVersion a hot
// partition's (ev_N_hot, layout version 8), whose h8 are whole.
const (
	chunkVersion    = 1
	hotChunkVersion = 2
)

// chunkMaxEvents bounds the count a chunk may claim (a damaged one is
// refused before its columns are allocated).
const chunkMaxEvents = 1 << 20

var errBadChunk = errors.New("malformed chunk of compact rows")

func rowsTable(t string) string {
	return `CREATE TABLE IF NOT EXISTS ` + t + `_rows (first_id INTEGER PRIMARY KEY, data BLOB NOT NULL)`
}

// sealedRow is an event of a chunk, as a hot partition's row (ts
// absolute, no extra, only the low part of h8: hashLowMask) and its host
// names.
type sealedRow struct {
	hotRow
	src, dst []byte
}

// Address kinds of a chunk's byte an event.
const (
	chunkSrc16 = 1 << iota
	chunkSrc4
	chunkDst16
	chunkDst4
)

// encodeChunk returns the chunk of rows (in id order, ts absolute), the
// columns compressed with enc; base is the partition's, first the
// chunk's first_id.
func encodeChunk(enc *zstd.Encoder, rows []sealedRow, base, first int64) []byte {
	out := []byte{chunkVersion}
	out = binary.AppendUvarint(out, uint64(len(rows)))
	for i := range rows {
		out = appendHashLow(out, rows[i].h8)
	}
	return appendChunkColumns(out, enc, rows, base, first)
}

// encodeHotChunk returns the chunk of a hot partition's batch (ev_N_hot,
// hotChunkVersion) of rows (in id order, ts absolute): the rows' h8 whole,
// since a hot partition has no runs of hashes to hold their first bytes.
// Its first_id is its first row's id.
func encodeHotChunk(enc *zstd.Encoder, rows []sealedRow, base int64) []byte {
	out := make([]byte, 0, 1+binary.MaxVarintLen64+8*len(rows)+16*len(rows))
	out = append(out, hotChunkVersion)
	out = binary.AppendUvarint(out, uint64(len(rows)))
	for i := range rows {
		out = binary.LittleEndian.AppendUint64(out, rows[i].h8)
	}
	return appendChunkColumns(out, enc, rows, base, rows[0].id)
}

// appendChunkColumns appends to out the zstd frame of rows' columns.
func appendChunkColumns(out []byte, enc *zstd.Encoder, rows []sealedRow, base, first int64) []byte {
	n := len(rows)
	c := make([]byte, 0, 24*n)
	prev := first - 1
	for i := range rows {
		c = binary.AppendUvarint(c, uint64(rows[i].id-prev-1))
		prev = rows[i].id
	}
	var pts, ploc int64
	for i := range rows {
		ts := rows[i].ts - base
		c = binary.AppendVarint(c, ts-pts)
		pts = ts
	}
	for i := range rows {
		loc := rows[i].loc()
		c = binary.AppendVarint(c, loc-ploc)
		ploc = loc
	}
	for i := range rows {
		c = append(c, chunkAddrKind(&rows[i].hotRow))
	}
	for _, side := range []int{hotSrcIP, hotDstIP} {
		for i := range rows {
			r := &rows[i].hotRow
			if r.flags&uint8(side) == 0 {
				continue
			}
			ip := r.srcIP[:]
			if side == hotDstIP {
				ip = r.dstIP[:]
			}
			if isV4Mapped(ip) {
				ip = ip[12:]
			}
			c = append(c, ip...)
		}
	}
	for i := range rows {
		c = binary.AppendUvarint(c, uint64(rows[i].srcASN))
	}
	for i := range rows {
		c = binary.AppendUvarint(c, uint64(rows[i].dstASN))
	}
	for i := range rows {
		c = binary.AppendUvarint(c, uint64(len(rows[i].src)))
		c = append(c, rows[i].src...)
	}
	for i := range rows {
		c = binary.AppendUvarint(c, uint64(len(rows[i].dst)))
		c = append(c, rows[i].dst...)
	}
	type codes [4]uint32
	var list []codes
	index := map[codes]int{}
	nums := make([]int, n)
	for i := range rows {
		r := &rows[i]
		k := codes{r.feed, r.taxonomy, r.typ, r.tlp}
		j, ok := index[k]
		if !ok {
			j = len(list)
			index[k] = j
			list = append(list, k)
		}
		nums[i] = j
	}
	c = binary.AppendUvarint(c, uint64(len(list)))
	for _, k := range list {
		for _, v := range k {
			c = binary.AppendUvarint(c, uint64(v))
		}
	}
	for _, j := range nums {
		c = binary.AppendUvarint(c, uint64(j))
	}
	return enc.EncodeAll(c, out)
}

func chunkAddrKind(r *hotRow) byte {
	var k byte
	if r.flags&hotSrcIP != 0 {
		if isV4Mapped(r.srcIP[:]) {
			k |= chunkSrc4
		} else {
			k |= chunkSrc16
		}
	}
	if r.flags&hotDstIP != 0 {
		if isV4Mapped(r.dstIP[:]) {
			k |= chunkDst4
		} else {
			k |= chunkDst16
		}
	}
	return k
}

// chunkHashBytes are the bytes of an event's h8 a chunk holds: its low
// 5 (hashLow); the runs of hashes hold the first 3.
const (
	chunkHashBytes = 5
	hashLowMask    = 1<<(8*chunkHashBytes) - 1
)

func appendHashLow(b []byte, h8 uint64) []byte {
	var w [8]byte
	binary.LittleEndian.PutUint64(w[:], h8)
	return append(b, w[:chunkHashBytes]...)
}

// hashLow returns the i-th low part of h8 of a chunk's hashes.
func hashLow(lows []byte, i int) uint64 {
	var w [8]byte
	copy(w[:], lows[chunkHashBytes*i:chunkHashBytes*(i+1)])
	return binary.LittleEndian.Uint64(w[:])
}

// chunkHashes returns the count of a sealed partition's chunk's events,
// the low parts of their h8 (hashLow) and the compressed columns after
// them, without decompressing them.
func chunkHashes(data []byte) (n int, lows, cols []byte, err error) {
	if len(data) == 0 || data[0] != chunkVersion {
		return 0, nil, nil, errBadChunk
	}
	n, _, lows, cols, err = chunkHeader(data)
	return n, lows, cols, err
}

// chunkHeader returns the count of a chunk's events, the bytes of h8 it
// holds an event (chunkHashBytes, or 8 in a hot partition's chunk), those
// bytes and the compressed columns after them.
func chunkHeader(data []byte) (n, width int, hashes, cols []byte, err error) {
	if len(data) == 0 {
		return 0, 0, nil, nil, errBadChunk
	}
	switch data[0] {
	case chunkVersion:
		width = chunkHashBytes
	case hotChunkVersion:
		width = 8
	default:
		return 0, 0, nil, nil, errBadChunk
	}
	count, l := binary.Uvarint(data[1:])
	if l <= 0 || count == 0 || count > chunkMaxEvents || uint64(len(data)-1-l) < uint64(width)*count {
		return 0, 0, nil, nil, errBadChunk
	}
	end := 1 + l + width*int(count)
	return int(count), width, data[1+l : end], data[end:], nil
}

// What decodeChunk parses of a chunk.
const (
	chunkLocs = iota // id, h8 and loc
	chunkAll         // every column
)

// chunkReader reads a chunk's columns, its error the first failure.
type chunkReader struct {
	b   []byte
	err error
}

func (r *chunkReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, l := binary.Uvarint(r.b)
	if l <= 0 {
		r.err = errBadChunk
		return 0
	}
	r.b = r.b[l:]
	return v
}

func (r *chunkReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, l := binary.Varint(r.b)
	if l <= 0 {
		r.err = errBadChunk
		return 0
	}
	r.b = r.b[l:]
	return v
}

func (r *chunkReader) bytes(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if uint64(len(r.b)) < n {
		r.err = errBadChunk
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

// decodeChunk decodes a chunk of first_id first of a partition of base
// base into rows (reused), parsing up to what (chunkLocs, chunkAll). The
// names of the rows refer to the chunk's decompressed columns, in buf
// (reused too), returned.
func (ps *parts) decodeChunk(data []byte, base, first int64, what int, rows []sealedRow, buf []byte) ([]sealedRow, []byte, error) {
	n, width, h8s, cols, err := chunkHeader(data)
	if err != nil {
		return rows[:0], buf, err
	}
	buf, err = ps.dec.DecodeAll(cols, buf[:0])
	if err != nil {
		return rows[:0], buf, fmt.Errorf("%w: %w", errBadChunk, err)
	}
	rows = slices.Grow(rows[:0], n)[:n]
	r := chunkReader{b: buf}
	id := first - 1
	for i := range rows {
		rows[i] = sealedRow{}
		if width == 8 {
			rows[i].h8 = binary.LittleEndian.Uint64(h8s[8*i:])
		} else {
			rows[i].h8 = hashLow(h8s, i)
		}
		id += int64(r.uvarint()) + 1
		rows[i].id = id
	}
	ts := base
	for i := range rows {
		ts += r.varint()
		rows[i].ts = ts
	}
	var loc int64
	for i := range rows {
		loc += r.varint()
		rows[i].block, rows[i].slot = uint32(loc>>8), uint8(loc)
	}
	if r.err != nil || what == chunkLocs {
		return rows, buf, r.err
	}
	kinds := r.bytes(uint64(n))
	if r.err != nil {
		return rows, buf, r.err
	}
	for _, side := range []int{hotSrcIP, hotDstIP} {
		k16, k4 := byte(chunkSrc16), byte(chunkSrc4)
		if side == hotDstIP {
			k16, k4 = chunkDst16, chunkDst4
		}
		for i := range rows {
			var ip [16]byte
			switch kinds[i] & (k16 | k4) {
			case 0:
				continue
			case k16:
				copy(ip[:], r.bytes(16))
			case k4:
				ip[10], ip[11] = 0xff, 0xff
				copy(ip[12:], r.bytes(4))
			default:
				r.err = errBadChunk
			}
			row := &rows[i]
			row.flags |= uint8(side)
			if side == hotSrcIP {
				row.srcIP = ip
			} else {
				row.dstIP = ip
			}
		}
	}
	for i := range rows {
		rows[i].srcASN = uint32(r.uvarint())
	}
	for i := range rows {
		rows[i].dstASN = uint32(r.uvarint())
	}
	for i := range rows {
		if b := r.bytes(r.uvarint()); len(b) > 0 {
			rows[i].src = b
		}
	}
	for i := range rows {
		if b := r.bytes(r.uvarint()); len(b) > 0 {
			rows[i].dst = b
		}
	}
	codes := r.uvarint()
	if codes > uint64(n) {
		return rows, buf, errBadChunk
	}
	list := make([][4]uint32, codes)
	for j := range list {
		for k := range list[j] {
			list[j][k] = uint32(r.uvarint())
		}
	}
	for i := range rows {
		j := r.uvarint()
		if j >= codes {
			if r.err == nil {
				r.err = errBadChunk
			}
			break
		}
		c := &list[j]
		rows[i].feed, rows[i].taxonomy, rows[i].typ, rows[i].tlp = c[0], c[1], c[2], c[3]
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = errBadChunk
	}
	return rows, buf, r.err
}

// writeChunks writes the chunks of a hot copy's rows in tx.
func writeChunks(ctx context.Context, tx *sql.Tx, enc *zstd.Encoder, p *partition, hot *hotSnap, size int) error {
	if _, err := tx.ExecContext(ctx, rowsTable(p.table)); err != nil {
		return err
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO `+p.table+`_rows (first_id, data) VALUES (?, ?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	defer hot.done()
	var rows []sealedRow
	flush := func(first int64) error {
		if len(rows) == 0 {
			return nil
		}
		_, err := st.ExecContext(ctx, first, encodeChunk(enc, rows, p.base, first))
		rows = rows[:0]
		return err
	}
	chunk := p.firstID
	for i := range hot.n {
		r := hot.row(i)
		if c := p.firstID + (r.id-p.firstID)/int64(size)*int64(size); c != chunk {
			if err := flush(chunk); err != nil {
				return err
			}
			chunk = c
		}
		src, dst, _ := hotNames(hot.extra(r))
		rows = append(rows, sealedRow{hotRow: *r, src: src, dst: dst})
	}
	return flush(chunk)
}

// readChunk decodes into rows (and buf, both reused) the chunk of sealed
// partition p that starts at first, its error naming the chunk.
func (ps *parts) readChunk(p *partition, first int64, data []byte, what int, rows []sealedRow, buf []byte) ([]sealedRow, []byte, error) {
	rows, buf, err := ps.decodeChunk(data, p.base, first, what, rows, buf)
	if err != nil {
		return rows[:0], buf, fmt.Errorf("partition %d, chunk %d: %w", p.n, first, err)
	}
	return rows, buf, nil
}

// chunkAt decodes into rows (and buf, both reused) the chunk of sealed
// partition p whose range holds id: found is false when id is past its
// last event or before the first chunk.
func (ps *parts) chunkAt(ctx context.Context, p *partition, id int64, what int, rows []sealedRow, buf []byte) ([]sealedRow, []byte, bool, error) {
	first, data, err := ps.chunkData(ctx, p, id)
	if err != nil || data == nil {
		return rows[:0], buf, false, err
	}
	if rows, buf, err = ps.readChunk(p, first, data, what, rows, buf); err != nil {
		return rows, buf, false, err
	}
	return rows, buf, id <= rows[len(rows)-1].id, nil
}

// chunkData returns the first_id and data of the chunk of sealed
// partition p whose range holds id, nil data when none does.
func (ps *parts) chunkData(ctx context.Context, p *partition, id int64) (first int64, data []byte, err error) {
	err = ps.searchStmts.each(ctx, ps.s.read, `SELECT first_id, data FROM `+p.table+`_rows WHERE first_id <= ? ORDER BY first_id DESC LIMIT 1`, []any{id},
		func(r *sql.Rows) error { return r.Scan(&first, &data) })
	return first, data, err
}

// chunkPlace is an event a chunk holds: its id, time (absolute),
// location (block × 256 + slot) and the low part of its h8 (hashLow).
type chunkPlace struct {
	id, ts, loc int64
	low         uint64
	i           int // its index in the chunk
}

// findInChunk appends to found the places of those of ids (ascending)
// that the chunk of first_id first of sealed partition p holds, in
// order, and returns the chunk's last id; buf (reused) holds its
// columns decompressed. Unlike decodeChunk it builds no rows: a read of
// a few events (a page of results, GetEvent) wants a few of a chunk's
// thousands of ids, so it walks the ids' column to its end (for the
// last id) and the times and locations only as far as the last event
// found.
func (ps *parts) findInChunk(p *partition, first int64, data []byte, ids []int64, found []chunkPlace, buf []byte) (int64, []chunkPlace, []byte, error) {
	last, found, buf, err := ps.chunkFind(data, p.base, first, ids, found, buf)
	if err != nil {
		return 0, found, buf, fmt.Errorf("partition %d, chunk %d: %w", p.n, first, err)
	}
	return last, found, buf, nil
}

// chunkFind is findInChunk for a chunk of a partition of base base.
func (ps *parts) chunkFind(data []byte, base, first int64, ids []int64, found []chunkPlace, buf []byte) (int64, []chunkPlace, []byte, error) {
	n, lows, cols, err := chunkHashes(data)
	if err != nil {
		return 0, found, buf, err
	}
	buf, err = ps.dec.DecodeAll(cols, buf[:0])
	if err != nil {
		return 0, found, buf, fmt.Errorf("%w: %w", errBadChunk, err)
	}
	r := chunkReader{b: buf}
	from := len(found)
	id, k := first-1, 0
	for i := range n {
		id += int64(r.uvarint()) + 1
		for k < len(ids) && ids[k] < id {
			k++
		}
		if k < len(ids) && ids[k] == id {
			found = append(found, chunkPlace{id: id, low: hashLow(lows, i), i: i})
			k++
		}
	}
	if r.err != nil || len(found) == from {
		return id, found, buf, r.err
	}
	mine := found[from:]
	end := mine[len(mine)-1].i + 1
	ts, j := base, 0
	for i := range end {
		ts += r.varint()
		if i == mine[j].i {
			mine[j].ts = ts
			j++
		}
	}
	r.skipVarints(n - end)
	var loc int64
	j = 0
	for i := range end {
		loc += r.varint()
		if i == mine[j].i {
			mine[j].loc = loc
			j++
		}
	}
	return id, found, buf, r.err
}

// skipVarints passes n varints.
func (r *chunkReader) skipVarints(n int) {
	for i := 0; n > 0 && r.err == nil; i++ {
		if i == len(r.b) {
			r.err = errBadChunk
			return
		}
		if r.b[i] < 0x80 {
			n--
			if n == 0 {
				r.b = r.b[i+1:]
			}
		}
	}
}

// findInChunks calls fn, in order, with the place of each of ids
// (ascending, all in sealed partition p, sealed as rowsVersion or
// later) that p holds (findInChunk), each chunk read once.
func (ps *parts) findInChunks(ctx context.Context, p *partition, ids []int64, fn func(pl *chunkPlace) error) error {
	br := ps.newBlockReader()
	defer ps.putBlockReader(br)
	for i := 0; i < len(ids); {
		first, data, err := ps.chunkData(ctx, p, ids[i])
		if err != nil {
			return err
		}
		j := i + 1
		if data != nil {
			var last int64
			last, br.places, br.scratch, err = ps.findInChunk(p, first, data, ids[i:], br.places[:0], br.scratch)
			if err != nil {
				return err
			}
			for j < len(ids) && ids[j] <= last {
				j++
			}
			for k := range br.places {
				if err := fn(&br.places[k]); err != nil {
					return err
				}
			}
		}
		i = j
	}
	return nil
}

// findRow returns the row of id in a chunk's rows, nil when none.
func findRow(rows []sealedRow, id int64) *sealedRow {
	i, ok := slices.BinarySearchFunc(rows, id, func(r sealedRow, id int64) int { return cmp.Compare(r.id, id) })
	if !ok {
		return nil
	}
	return &rows[i]
}

// sealedLocs calls fn with the id and location (block × 256 + slot) of
// each event of ids (in order, all in sealed partition p) that p holds,
// in order of id: from its chunks (rowsVersion) or its compact rows.
// dense is eachByID's: a range of rows read when ids are at least one in
// dense of it.
func (ps *parts) sealedLocs(ctx context.Context, p *partition, ids []int64, dense int64, fn func(id, loc int64) error) error {
	if p.sealedAs >= rowsVersion {
		return ps.findInChunks(ctx, p, ids, func(pl *chunkPlace) error { return fn(pl.id, pl.loc) })
	}
	return ps.eachByID(ctx, `SELECT id, loc FROM `+p.table, ids, dense, func(rows *sql.Rows) error {
		var id, loc int64
		if err := rows.Scan(&id, &loc); err != nil {
			return err
		}
		return fn(id, loc)
	})
}

// sealedIDs returns the ids above after of sealed partition p, in order,
// at most limit.
func (ps *parts) sealedIDs(ctx context.Context, p *partition, after int64, limit int) ([]int64, error) {
	var ids []int64
	if p.sealedAs < rowsVersion {
		err := sqlkit.Each(ctx, ps.s.read, `SELECT id FROM `+p.table+` WHERE id > ? ORDER BY id LIMIT ?`, []any{after, limit},
			func(rows *sql.Rows) error {
				var id int64
				err := rows.Scan(&id)
				ids = append(ids, id)
				return err
			})
		return ids, err
	}
	// The chunk whose range holds after, then those after it.
	rows, buf, found, err := ps.chunkAt(ctx, p, after, chunkLocs, nil, nil)
	if err != nil {
		return nil, err
	}
	from := after
	if len(rows) > 0 {
		from = rows[0].id
	}
	add := func(rows []sealedRow) {
		for i := range rows {
			if id := rows[i].id; id > after && len(ids) < limit {
				ids = append(ids, id)
			}
		}
	}
	if found {
		add(rows)
	}
	if len(ids) >= limit {
		return ids, nil
	}
	err = sqlkit.Each(ctx, ps.s.read, `SELECT first_id, data FROM `+p.table+`_rows WHERE first_id > ? ORDER BY first_id`, []any{from},
		func(r *sql.Rows) error {
			var (
				first int64
				data  sql.RawBytes
			)
			if err := r.Scan(&first, &data); err != nil {
				return err
			}
			var err error
			if rows, buf, err = ps.readChunk(p, first, data, chunkLocs, rows, buf); err != nil {
				return err
			}
			add(rows)
			if len(ids) >= limit {
				return errEnough
			}
			return nil
		})
	if err != nil && !errors.Is(err, errEnough) {
		return nil, err
	}
	return ids, nil
}

// errEnough stops sqlkit.Each once sealedIDs has its ids.
var errEnough = errors.New("enough ids")

// sealedMaxID returns the highest id of sealed partition p sealed as
// rowsVersion or later, 0 when it has none.
func (ps *parts) sealedMaxID(ctx context.Context, q partsQueryer, p *partition) (int64, error) {
	var (
		key  int64
		data []byte
	)
	err := q.QueryRowContext(ctx, `SELECT first_id, data FROM `+p.table+`_rows ORDER BY first_id DESC LIMIT 1`).Scan(&key, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	rows, _, err := ps.readChunk(p, key, data, chunkLocs, nil, nil)
	if err != nil {
		return 0, err
	}
	return rows[len(rows)-1].id, nil
}

// namesTable holds a sealed partition's host names (rowsVersion): each
// reversed name of an event, source and destination, with its ts (less
// the partition's base) and id; what the indexes of src_fqdn and
// dst_fqdn were.
func namesTable(t string) string {
	return `CREATE TABLE IF NOT EXISTS ` + t + `_names (name TEXT NOT NULL, ts INTEGER NOT NULL, id INTEGER NOT NULL,
		PRIMARY KEY (name, ts, id)) WITHOUT ROWID`
}

// writeNames writes the list of a hot copy's host names in tx: sorted
// first, so that the rows go in in key order, 64 a statement.
func writeNames(ctx context.Context, tx *sql.Tx, p *partition, hot *hotSnap) error {
	if _, err := tx.ExecContext(ctx, namesTable(p.table)); err != nil {
		return err
	}
	type nameRow struct {
		name   string
		ts, id int64
	}
	var list []nameRow
	for i := range hot.n {
		r := hot.row(i)
		src, dst, _ := hotNames(hot.extra(r))
		for _, name := range [][]byte{src, dst} {
			if len(name) > 0 {
				list = append(list, nameRow{string(name), r.ts - p.base, r.id})
			}
		}
	}
	hot.done()
	slices.SortFunc(list, func(a, b nameRow) int {
		return cmp.Or(strings.Compare(a.name, b.name), cmp.Compare(a.ts, b.ts), cmp.Compare(a.id, b.id))
	})
	list = slices.Compact(list) // a name on both sides, once
	args := make([]any, 0, 3*partRowsPerInsert)
	for start := 0; start < len(list); start += partRowsPerInsert {
		chunk := list[start:min(start+partRowsPerInsert, len(list))]
		args = args[:0]
		for _, r := range chunk {
			args = append(args, r.name, r.ts, r.id)
		}
		if _, err := tx.ExecContext(ctx, multiInsertSQL(p.table+"_names", "name, ts, id", 3, len(chunk)), args...); err != nil {
			return err
		}
	}
	return nil
}
