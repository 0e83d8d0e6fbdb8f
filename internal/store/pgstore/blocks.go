package pgstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// Events stored by COPY keep their records in blocks (migration 11): the
// records of up to blockEvents events of one batch, in batch order,
// compressed together in one row of event_blocks, whose id is the id of
// the block's first event. The event's row keeps its indexed columns and
// names its block and its slot in it (block_id, block_slot), with data
// NULL. Rows stored before, and the rare batch that the fallback of
// copyEvents inserts, keep their record in data; readers take either.
//
// A block is a codec byte and the compressed records:
//
//	block := codecS2 s2(plain) | codecZstd zstd(plain)
//	plain := uvarint(n) uvarint(len(record 0)) … uvarint(len(record n-1)) record 0 … record n-1
//
// Batches are written with S2 (Snappy's format, faster): on the scan_rdp
// records of the layout benchmark it makes blocks of about 409 bytes an
// event in about 4 µs, against zstd's 250 bytes in 17 µs (both
// measured on one loaded core), and the client's CPU is half of what
// ingesting costs. zstd is read too, for blocks compressed again when
// their events are old (not done yet).

// The codecs of a block, its first byte.
const (
	codecS2   = 1
	codecZstd = 2
)

// blockEvents is the most events a block holds.
const blockEvents = 128

// maxBlockPlain bounds what a block decompresses to, checked before any
// of it is allocated: a damaged length cannot ask for any amount of
// memory. PostgreSQL's own bound on a value is 1 GiB.
const maxBlockPlain = 1 << 30

// blockDecoder reads zstd blocks, made when the first is read.
var blockDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxBlockPlain))
})

// blockBytes is the most bytes of records a block holds, as the SQLite
// store's parts close a block (parts_block.go): a block of large records
// is closed before blockEvents, so reading one event never decompresses
// much more than a mebibyte. A record larger than that has a block of its
// own.
const blockBytes = 1 << 20

// blockHead is the room left before a block's first record for the
// block's head, uvarint(n) and the records' lengths, which are known once
// the block is closed: at most blockEvents + 1 uvarints.
const blockHead = binary.MaxVarintLen64 * (blockEvents + 1)

// packedBlocks is a batch's records in blocks (packRecords): block k
// holds the records from starts[k] on; the blocks are slices of bufs,
// buffers of blockArenas, given back by release.
type packedBlocks struct {
	starts []int
	blocks [][]byte
	bufs   []*[]byte
}

// release gives the blocks' buffers back, once nothing reads the blocks.
func (p *packedBlocks) release() {
	for _, b := range p.bufs {
		*b = (*b)[:0]
		blockArenas.Put(b)
	}
	*p = packedBlocks{}
}

// recordEncoder appends record i of a batch to dst. Each packing
// goroutine has one of its own (packRecords' encoders), which may
// remember what the last record it wrote shares with the next.
type recordEncoder func(dst []byte, i int) []byte

// packEvents packs the records of events into blocks compressed with S2
// (packRecords): each event's record as event.AppendRecord writes it.
func packEvents(events []*event.Event) packedBlocks {
	return packRecords(len(events), func() recordEncoder {
		// The records are written from their fields by a coder that
		// remembers the last event's names (a report's events share
		// them): the bytes of event.AppendRecord without a name looked
		// up a field.
		var (
			coder  event.RecordCoder
			fields []event.RecordField
		)
		return func(dst []byte, i int) []byte {
			fields = coder.AppendFields(fields[:0], events[i])
			return event.AppendFieldsRecord(dst, fields)
		}
	}, s2.MaxEncodedLen, func(dst, plain []byte) []byte {
		dst[0] = codecS2
		return dst[:1+len(s2.Encode(dst[1:], plain))]
	})
}

// packRecords writes n records into blocks and compresses each, on as
// many goroutines as there are cores, each taking blockEvents records at
// a time: a block is closed at blockEvents records, or before its records
// pass blockBytes (a record larger than that has a block of its own).
// Each goroutine writes the records of its block with newEncoder's
// encoder straight into its plain block, after room for the block's head
// (blockHead), then writes the head before them and compresses the block
// with compress into its own buffer of blockArenas: a record is written
// once and compressed from where it was written. (They were written into
// one buffer for the batch first, then copied into each plain block: that
// copy was 0.44 s of the 2.7 s the client spent on the blocks of a million
// events, docs/PERFORMANCE.md, nineteenth session.) compress is given a
// slice of 1 + bound(len(plain)) bytes to write the codec byte and the
// compressed records into, and returns the block (in that slice, or, for
// a codec that may need more, elsewhere).
func packRecords(n int, newEncoder func() recordEncoder, bound func(int) int, compress func(dst, plain []byte) []byte) packedBlocks {
	chunks := (n + blockEvents - 1) / blockEvents
	if chunks == 0 {
		return packedBlocks{}
	}
	workers := min(runtime.GOMAXPROCS(0), chunks)
	type span struct {
		first, worker, from, to int
	}
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		spans = make([][]span, workers)
		outs  = make([]*[]byte, workers)
	)
	work := func(w int) {
		defer wg.Done()
		encode := newEncoder()
		pb := packBuffers.Get().(*[]byte)
		plain := (*pb)[:0]
		defer func() {
			*pb = plain[:0]
			packBuffers.Put(pb)
		}()
		outs[w] = blockArenas.Get().(*[]byte)
		out := (*outs[w])[:0]
		defer func() { *outs[w] = out }()
		var lens [blockEvents]int
		// closeBlock writes the head of the block of the records of
		// lens[:k], which end at end in plain, the first of them first,
		// before them, and compresses the block into out.
		closeBlock := func(k, first, end int) {
			head := binary.AppendUvarint(make([]byte, 0, blockHead), uint64(k))
			for _, l := range lens[:k] {
				head = binary.AppendUvarint(head, uint64(l))
			}
			block := plain[blockHead-len(head) : end]
			copy(block, head)
			from := len(out)
			size := 1 + bound(len(block))
			out = slices.Grow(out, size)[:from+size]
			got := compress(out[from:from+size:from+size], block)
			if len(got) > 0 && &got[0] == &out[from] {
				out = out[:from+len(got)]
			} else {
				out = append(out[:from], got...)
			}
			spans[w] = append(spans[w], span{first, w, from, len(out)})
		}
		for {
			c := int(next.Add(1) - 1)
			if c >= chunks {
				return
			}
			lo, hi := c*blockEvents, min((c+1)*blockEvents, n)
			plain = slices.Grow(plain[:0], blockHead)[:blockHead]
			k, first := 0, lo
			for i := lo; i < hi; i++ {
				at := len(plain)
				plain = encode(plain, i)
				if k > 0 && len(plain)-blockHead > blockBytes {
					// Record i does not fit: the block closes before
					// it, and it opens the next (moved to its start).
					closeBlock(k, first, at)
					plain = append(plain[:blockHead], plain[at:]...)
					k, first, at = 0, i, blockHead
				}
				lens[k] = len(plain) - at
				k++
			}
			closeBlock(k, first, len(plain))
		}
	}
	wg.Add(workers)
	for w := 1; w < workers; w++ {
		go work(w)
	}
	work(0)
	wg.Wait()
	var all []span
	for _, s := range spans {
		all = append(all, s...)
	}
	slices.SortFunc(all, func(a, b span) int { return a.first - b.first })
	p := packedBlocks{starts: make([]int, len(all)), blocks: make([][]byte, len(all)), bufs: outs}
	for k, s := range all {
		p.starts[k] = s.first
		p.blocks[k] = (*outs[s.worker])[s.from:s.to:s.to]
	}
	return p
}

// packBuffers holds the packing goroutines' plain blocks from one batch
// to the next: a block of 128 records is about 250 KB plain.
var packBuffers = sync.Pool{New: func() any { return new([]byte) }}

// blockArenas holds the buffers the packing goroutines compress blocks
// into (a few megabytes a batch).
var blockArenas = sync.Pool{New: func() any { return new([]byte) }}

var errBadBlock = errors.New("malformed event block")

// unpackBlock returns the records of a block, slices of one buffer.
func unpackBlock(block []byte) ([][]byte, error) {
	if len(block) == 0 {
		return nil, errBadBlock
	}
	var (
		plain []byte
		err   error
	)
	switch block[0] {
	case codecS2:
		var n int
		if n, err = s2.DecodedLen(block[1:]); err == nil && n > maxBlockPlain {
			err = fmt.Errorf("decodes to %d bytes", n)
		}
		if err == nil {
			plain, err = s2.Decode(nil, block[1:])
		}
	case codecZstd:
		var dec *zstd.Decoder
		if dec, err = blockDecoder(); err == nil {
			plain, err = dec.DecodeAll(block[1:], nil)
		}
	default:
		return nil, fmt.Errorf("%w: codec %d", errBadBlock, block[0])
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadBlock, err)
	}
	n, k := binary.Uvarint(plain)
	if k <= 0 || n > blockEvents {
		return nil, errBadBlock
	}
	plain = plain[k:]
	lens := make([]uint64, n)
	for i := range lens {
		if lens[i], k = binary.Uvarint(plain); k <= 0 {
			return nil, errBadBlock
		}
		plain = plain[k:]
	}
	recs := make([][]byte, n)
	for i, l := range lens {
		if l > uint64(len(plain)) {
			return nil, errBadBlock
		}
		recs[i], plain = plain[:l:l], plain[l:]
	}
	if len(plain) != 0 {
		return nil, errBadBlock
	}
	return recs, nil
}

// recordRef is where an event's record is: in data, or in a block; event
// is it decoded from its block (resolveRecords).
type recordRef struct {
	data  []byte
	block pgtype.Int8
	slot  pgtype.Int4
	event *event.Event
}

// dest returns the scan destinations of the columns data, block_id and
// block_slot.
func (r *recordRef) dest() []any { return []any{&r.data, &r.block, &r.slot} }

// recordCols are the columns recordRef.dest scans, with the table's alias
// prefix.
func recordCols(prefix string) string {
	return prefix + "data, " + prefix + "block_id, " + prefix + "block_slot"
}

// querier is what reads blocks: the pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// resolveRecords decodes the event of every ref whose record is in a
// block from the block, read in one statement, each block decompressed as
// its row arrives and dropped after: a page whose events lie in many
// blocks holds its decoded events, not its blocks (the decoding copies
// what it keeps).
func resolveRecords(ctx context.Context, q querier, refs ...*recordRef) error {
	byBlock := map[int64][]*recordRef{}
	var want []int64
	for _, r := range refs {
		if r.data != nil || !r.block.Valid {
			continue
		}
		if !r.slot.Valid || r.slot.Int32 < 0 {
			return fmt.Errorf("event block %d: no record %d", r.block.Int64, r.slot.Int32)
		}
		if _, ok := byBlock[r.block.Int64]; !ok {
			want = append(want, r.block.Int64)
		}
		byBlock[r.block.Int64] = append(byBlock[r.block.Int64], r)
	}
	if len(want) > 0 {
		rows, err := q.Query(ctx, `SELECT id, data FROM event_blocks WHERE id = ANY($1)`, want)
		if err != nil {
			return fmt.Errorf("read event blocks: %w", err)
		}
		var (
			id    int64
			block []byte
		)
		_, err = pgx.ForEachRow(rows, []any{&id, &block}, func() error {
			recs, err := unpackBlock(block)
			if err != nil {
				return fmt.Errorf("event block %d: %w", id, err)
			}
			for _, r := range byBlock[id] {
				if int(r.slot.Int32) >= len(recs) {
					return fmt.Errorf("event block %d: no record %d", id, r.slot.Int32)
				}
				if r.event, err = event.DecodeRecord(recs[r.slot.Int32]); err != nil {
					return fmt.Errorf("event %d of block %d: %w", r.slot.Int32, id, err)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("read event blocks: %w", err)
		}
	}
	for _, r := range refs {
		if r.data == nil && r.event == nil && r.block.Valid {
			return fmt.Errorf("event block %d: missing", r.block.Int64)
		}
	}
	return nil
}

// storedCols are the columns storedEvents reads, in its order, with the
// table's alias prefix: the event's id, hash, stored time and time.source,
// and where its record is.
func storedCols(prefix string) string {
	return prefix + "id, " + prefix + "hash, " + prefix + "stored, " + prefix + "time_source, " + recordCols(prefix)
}

// storedEvent is an event storedEvents read: Seq is its id.
type storedEvent struct {
	store.StoredEvent
	timeSource time.Time
}

// shown is the event as the readers other than EventsAfter return it:
// without its id, which only EventsAfter's Seq carries.
func (se storedEvent) shown() store.StoredEvent {
	out := se.StoredEvent
	out.Seq = 0
	return out
}

// storedEvents runs query, whose rows are the columns of storedCols in the
// order it wants them, reads the records of its rows from their blocks and
// decodes them. A row whose hash is NULL (its event gone, read through a
// LEFT JOIN) comes back with no hash and a nil Event, and keeps its id
// and stored time.
func storedEvents(ctx context.Context, q querier, query string, args ...any) ([]storedEvent, error) {
	return storedEventsUpTo(ctx, q, -1, query, args...)
}

// storedEventsUpTo is storedEvents that reads the records of the first
// decode rows only (all when decode < 0): the rows after have their id,
// hash, stored time and time.source, and no Event.
func storedEventsUpTo(ctx context.Context, q querier, decode int, query string, args ...any) ([]storedEvent, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var (
		out  []storedEvent
		refs []*recordRef // out[i]'s, nil when its event is gone
		hash []byte
		ts   pgtype.Timestamptz
	)
	for rows.Next() {
		var (
			se  storedEvent
			ref = new(recordRef)
		)
		if err := rows.Scan(append([]any{&se.Seq, &hash, &se.Stored, &ts}, ref.dest()...)...); err != nil {
			rows.Close()
			return nil, err
		}
		se.Stored = se.Stored.UTC()
		se.timeSource = ts.Time
		if hash != nil {
			copy(se.Hash[:], hash)
		}
		if hash == nil || (decode >= 0 && len(out) >= decode) {
			ref = nil
		}
		out = append(out, se)
		refs = append(refs, ref)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	found := make([]*recordRef, 0, len(refs))
	for _, r := range refs {
		if r != nil {
			found = append(found, r)
		}
	}
	if err := resolveRecords(ctx, q, found...); err != nil {
		return nil, err
	}
	for i, r := range refs {
		if r == nil {
			continue
		}
		if r.event != nil {
			out[i].Event = r.event
			continue
		}
		if out[i].Event, err = event.DecodeRecord(r.data); err != nil {
			return nil, fmt.Errorf("event %d: %w", out[i].Seq, err)
		}
		r.data = nil // what is decoded is not held twice
	}
	return out, nil
}
