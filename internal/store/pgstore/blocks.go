package pgstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/klauspost/compress/zstd"
)

// Events stored by COPY keep their records in blocks (migration 11): the
// records of up to blockEvents events of one batch, in batch order,
// compressed together with zstd in one row of event_blocks, whose id is
// the id of the block's first event. The event's row keeps its indexed
// columns and names its block and its slot in it (block_id, block_slot),
// with data NULL. A record compresses about four times better with its
// neighbours than alone, and the server writes (and logs) an eighth of
// the bytes it wrote when each row held its record: that was most of its
// work. Rows stored before, and the rare batch that the fallback of
// copyEvents inserts, keep their record in data; readers take either.
//
// A block, before compression:
//
//	uvarint(n) uvarint(len(record 0)) … uvarint(len(record n-1)) record 0 … record n-1

// blockEvents is the most events a block holds.
const blockEvents = 128

var (
	blockEncoder = mustEncoder()
	blockDecoder = mustDecoder()
)

func mustEncoder() *zstd.Encoder {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithLowerEncoderMem(true))
	if err != nil {
		panic(err)
	}
	return enc
}

func mustDecoder() *zstd.Decoder {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0))
	if err != nil {
		panic(err)
	}
	return dec
}

// packBlocks compresses records into blocks of blockEvents, block i
// holding records[i*blockEvents:], on as many goroutines as there are
// cores: compressing is most of the client's share of storing.
func packBlocks(records [][]byte) [][]byte {
	nb := (len(records) + blockEvents - 1) / blockEvents
	out := make([][]byte, nb)
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	work := func() {
		defer wg.Done()
		var plain []byte
		for {
			i := int(next.Add(1) - 1)
			if i >= nb {
				return
			}
			recs := records[i*blockEvents : min((i+1)*blockEvents, len(records))]
			plain = binary.AppendUvarint(plain[:0], uint64(len(recs)))
			for _, r := range recs {
				plain = binary.AppendUvarint(plain, uint64(len(r)))
			}
			for _, r := range recs {
				plain = append(plain, r...)
			}
			out[i] = blockEncoder.EncodeAll(plain, make([]byte, 0, len(plain)/4))
		}
	}
	workers := min(runtime.GOMAXPROCS(0), nb)
	wg.Add(workers)
	for range workers - 1 {
		go work()
	}
	work()
	wg.Wait()
	return out
}

var errBadBlock = errors.New("malformed event block")

// unpackBlock returns the records of a block, slices of one buffer.
func unpackBlock(block []byte) ([][]byte, error) {
	plain, err := blockDecoder.DecodeAll(block, nil)
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

// recordRef is where an event's record is: in data, or in a block.
type recordRef struct {
	data  []byte
	block pgtype.Int8
	slot  pgtype.Int4
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

// blockCache keeps the records of the blocks read by one call.
type blockCache map[int64][][]byte

// resolve sets the data of every ref whose record is in a block, reading
// the blocks not in c in one statement.
func (c blockCache) resolve(ctx context.Context, q querier, refs ...*recordRef) error {
	var want []int64
	for _, r := range refs {
		if r.data == nil && r.block.Valid {
			if _, ok := c[r.block.Int64]; !ok {
				c[r.block.Int64] = nil
				want = append(want, r.block.Int64)
			}
		}
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
			c[id] = recs
			return nil
		})
		if err != nil {
			return fmt.Errorf("read event blocks: %w", err)
		}
	}
	for _, r := range refs {
		if r.data != nil || !r.block.Valid {
			continue
		}
		recs := c[r.block.Int64]
		if !r.slot.Valid || int(r.slot.Int32) >= len(recs) || r.slot.Int32 < 0 {
			return fmt.Errorf("event block %d: no record %d", r.block.Int64, r.slot.Int32)
		}
		r.data = recs[r.slot.Int32]
	}
	return nil
}
