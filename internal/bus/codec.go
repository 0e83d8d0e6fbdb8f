package bus

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/klauspost/compress/s2"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// The stream's payloads: batches of events in the batch form and chunks
// of an input's rows, compressed with S2, and the buffers they use.

// allSealed reports whether every event was sealed and left unchanged
// since, as a parser that prepares its events leaves them: the batch then
// says so (sealedHeader), and the consumer takes each event_hash as the
// identity instead of hashing every event a second time. Only Vigil
// writes the stream; a batch without the header (an older producer, a
// parser that does not seal) is sealed by the pipeline as before.
func allSealed(events []*event.Event) bool {
	for _, e := range events {
		if !e.Sealed() {
			return false
		}
	}
	return len(events) > 0
}

// plainShelf holds the buffers batches are written into before they are
// compressed, and compressed into before they are copied out (compressBatch),
// and batches of the form before heads (codecS2) decompressed into before
// they are decoded. A batch with heads, and a chunk, is decompressed into
// a buffer of its own, which its events keep (decodeBatch, decodeChunk).
// packedShelf holds the buffers compressed batches are published from,
// apart from plainShelf: a message keeps its buffer until JetStream
// acknowledged it, and a buffer of a plain batch's size (several times a
// compressed one's) would keep that much more for every batch in flight.
// A batch's buffer comes back once JetStream acknowledged it
// (retryPending.Wait): until then it may have to be published again.
var (
	plainShelf  = &shelf{limit: 4}
	packedShelf = &shelf{limit: 8}
)

// encodeBatch writes events in the batch form with heads, compressed
// with S2 (codecS2Heads). The batch form of a wide report is mostly text
// (raw lines, names, hosts): S2 shrinks it to a fraction, and with it
// what the server copies and writes to its files, for little CPU; raw's
// header line written once a batch (event.AppendBatchHeads) halves about
// the plain batch S2 reads and the decoder copies (the compressed batch
// is about the same: S2 had found the repeated header already).
func encodeBatch(events []*event.Event) []byte {
	want := plainRoom(len(events))
	plain := plainShelf.take(want)
	if plain == nil {
		plain = unzeroed(want)[:0]
	}
	plain = event.AppendBatchHeads(plain, events)
	if len(events) > 0 {
		plainPerEvent.Store(int64(len(plain) / len(events)))
	}
	return compressBatch(plain)
}

// plainPerEvent is the size an event took in the plain batch form of the
// last batch encoded. A buffer for the next batch is made about that
// large from the start (plainRoom), rather than grown by doubling from
// what the pool had, or from nothing once a collection emptied it: the
// growing was a second copy of a batch for every two or three, 1 s of
// CPU a million events in a profile of bench ingest through JetStream.
var plainPerEvent atomic.Int64

// plainRoom is the room for n events in the plain batch form: an eighth
// more than the last batch's events took, at most maxPayload.
func plainRoom(n int) int {
	per := int(plainPerEvent.Load())
	if per <= 0 || n <= 0 {
		return 0
	}
	return min(n*(per+per/8), maxPayload)
}

// compressBatch compresses plain (put on plainShelf once done) with S2
// into a second buffer of plainShelf, then copies it out into a buffer of
// packedShelf: the message keeps it until JetStream acknowledged it.
func compressBatch(plain []byte) []byte {
	n := s2.MaxEncodedLen(len(plain))
	room := plainShelf.take(n)
	if room == nil {
		room = unzeroed(n)
	}
	encoded := s2.Encode(room[:cap(room)], plain)
	packed := append(packedBuffer(len(encoded)), encoded...)
	plainShelf.put(plain)
	plainShelf.put(room)
	return packed
}

// packedBuffer returns an empty buffer of packedShelf with room for n
// bytes, or a new one with an eighth more: the compressed batches of a
// feed are about one size, and a buffer slightly too small would be made
// again for every other batch.
func packedBuffer(n int) []byte {
	if b := packedShelf.take(n); b != nil {
		return b
	}
	return unzeroed(n + n/8)[:0]
}

// encodeChunk writes a chunk's name, head and text (each but the last
// after its length as a uvarint; the name and head are bytes of the
// input, which a header could not carry whole) and compresses them with
// S2 (codecS2Rows).
func encodeChunk(c *pipeline.Chunk) []byte {
	want := len(c.Name) + len(c.Head) + len(c.Text) + 2*binary.MaxVarintLen64
	plain := plainShelf.take(want)
	if plain == nil {
		plain = unzeroed(want)[:0]
	}
	plain = binary.AppendUvarint(plain, uint64(len(c.Name)))
	plain = append(plain, c.Name...)
	plain = binary.AppendUvarint(plain, uint64(len(c.Head)))
	plain = append(plain, c.Head...)
	plain = append(plain, c.Text...)
	return compressBatch(plain)
}

// decodeChunk reads a chunk as encodeChunk writes it, its headers from
// h. Its head and text are parts of a buffer of its own, decompressed
// into and then left to the chunk: a worker's parser may keep parts of
// them in its events (pipeline.ChunkParser) instead of copying them, as
// a batch's events keep their buffer (decodeBatch).
func decodeChunk(h nats.Header, data []byte) (*pipeline.Chunk, error) {
	n, err := s2.DecodedLen(data)
	if err != nil || n > maxPlain {
		return nil, fmt.Errorf("s2 chunk: %w", event.ErrBadBatch)
	}
	plain, err := s2.Decode(unzeroed(n), data)
	if err != nil {
		return nil, fmt.Errorf("s2 chunk: %w", err)
	}
	c := &pipeline.Chunk{Feed: h.Get(feedHeader), Report: h.Get(reportHeader), Observed: h.Get(observedHeader)}
	c.Run, _ = strconv.ParseInt(h.Get(runHeader), 10, 64)
	c.FirstLine, _ = strconv.Atoi(h.Get(lineHeader))
	c.Records, _ = strconv.Atoi(h.Get(recordsHeader))
	rest := plain
	field := func() ([]byte, bool) {
		l, k := binary.Uvarint(rest)
		if k <= 0 || l > uint64(len(rest)-k) {
			return nil, false
		}
		f := rest[k : k+int(l) : k+int(l)]
		rest = rest[k+int(l):]
		return f, true
	}
	name, ok := field()
	if ok {
		c.Name = string(name)
		c.Head, ok = field()
	}
	if !ok {
		return nil, fmt.Errorf("chunk: %w", event.ErrBadBatch)
	}
	c.Text = rest
	return c, nil
}

// decodeBatch reads a batch's payload as encodeBatch writes it, as it
// wrote it before the batch form with heads (codecS2: S2 over
// event.AppendBatch), or as event.AppendBatch did before batches were
// compressed (codec "").
func decodeBatch(codec string, data []byte) ([]*event.Event, error) {
	switch codec {
	case "":
		return event.DecodeBatch(data)
	case codecS2, codecS2Heads:
		n, err := s2.DecodedLen(data)
		if err != nil || n > maxPlain {
			return nil, fmt.Errorf("s2 batch: %w", event.ErrBadBatch)
		}
		if codec == codecS2Heads {
			// The batch is decompressed into a buffer of its own, which
			// its events then keep (their keys and values are parts
			// of it) instead of a copy of a shelf's buffer. Putting
			// it on a shelf once none of them is referenced (its
			// finalizer) was tried: it kept more memory a collection
			// longer, and the process faulted twice as often
			// (docs/PERFORMANCE.md, issue 14, seventeenth session).
			plain, err := s2.Decode(unzeroed(n), data)
			if err != nil {
				return nil, fmt.Errorf("s2 batch: %w", err)
			}
			return event.AdoptBatchHeads(plain)
		}
		// DecodeBatch copies what it keeps: the buffer is used again.
		plain := plainShelf.take(n)
		if plain == nil {
			plain = unzeroed(n)
		}
		plain, err = s2.Decode(plain[:n], data)
		if err != nil {
			return nil, fmt.Errorf("s2 batch: %w", err)
		}
		events, err := event.DecodeBatch(plain)
		plainShelf.put(plain)
		return events, err
	}
	return nil, fmt.Errorf("batch codec %q: %w: %w", codec, errUnknownCodec, event.ErrBadBatch)
}

// unzeroed returns a new buffer of n bytes that is not cleared first:
// for a batch to be decompressed into whole (s2.Decode writes every byte
// of it or fails), or to be appended to or compressed into (what is read
// of it is what was written). make clears a buffer first, which for
// the buffers batches are decompressed into was 0.9 s of the about 6 s of
// CPU BenchmarkDecodeBatch took for 2 million events (0.2 s without;
// docs/PERFORMANCE.md, issue 14, fifteenth session). The memory comes from
// strings.Builder's Grow, the standard library's one way to get it
// (after Grow(n) a Builder has room for n bytes, in one allocation): the
// buffer is that room.
func unzeroed(n int) []byte {
	if n == 0 {
		return nil
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteByte(0)
	return unsafe.Slice(unsafe.StringData(b.String()), n)
}

// errUnknownCodec is a batch whose codec this version does not know: a
// newer version wrote it, and a newer worker can read it.
var errUnknownCodec = errors.New("unknown codec")

// batchOf is the batch a message carries: its events, or a chunk of
// input (codecS2Rows) the handler parses.
func batchOf(msg jetstream.Msg) (batch *pipeline.Batch, err error) {
	h := msg.Headers()
	codec := h.Get(codecHeader)
	if codec == codecS2Rows {
		c, err := decodeChunk(h, msg.Data())
		if err != nil {
			return nil, err
		}
		return &pipeline.Batch{Feed: c.Feed, Report: c.Report, Run: c.Run, Chunk: c}, nil
	}
	events, err := decodeBatch(codec, msg.Data())
	if err != nil {
		return nil, err
	}
	if h.Get(sealedHeader) == "1" {
		for _, e := range events {
			e.Resealed()
		}
	}
	batch = &pipeline.Batch{Feed: h.Get(feedHeader), Report: h.Get(reportHeader), Events: events}
	batch.Run, _ = strconv.ParseInt(h.Get(runHeader), 10, 64)
	return batch, nil
}
