package sqlitestore

// The copy in memory of a hot partition's compact rows, which searches
// scan and the writer's hash lookups ask. It holds up to a partition's
// 524,288 events, for as long as the process writes (and a second one
// while the first is sealed), so it is kept small and off the Go heap:
// fixed-size rows without pointers in chunks of memory of their own, the
// names and rarer keys in an arena of bytes, and the map of hashes an
// open-addressing table of row numbers. On the heap, 150 bytes an event
// of strings, slices and maps would be marked by every collection and,
// at the GOGC of 200 a pipeline's process runs at, let the heap grow by
// twice their size: about 350 MB of resident memory for one partition
// (docs/EVENTSTORE.md, "Hot partition").
//
// Rows and arena bytes, once written, never move or change: a search
// takes a snapshot (hotSnap) under parts.mu and reads it after letting
// the lock go, while the writer appends past its end. The memory is
// unmapped when no snapshot nor the partition refers to it any more.

import (
	"encoding/binary"
	"math/bits"
	"runtime"
	"sort"

	"github.com/vigil-cert/vigil/internal/offheap"
	"github.com/vigil-cert/vigil/internal/store"
)

// hotRow is one event of a hot partition: partEntry in a fixed size
// without pointers (104 bytes). ASNs are 32-bit numbers; dictionary codes
// are small numbers that event_dict gives out one by one; a partition's
// blocks are numbered from 1 and hold at least one event each, so their
// number fits 32 bits for any partition whose copy fits in memory.
type hotRow struct {
	ts, id                   int64
	h8                       uint64
	srcIP, dstIP             [16]byte
	extra                    uint64 // where its names and keys are: arena chunk << 32 | offset
	block                    uint32 // loc >> 8
	srcASN, dstASN           uint32
	feed, taxonomy, typ, tlp uint32
	extraLen                 uint32 // 0: no names, no keys
	slot                     uint8  // loc & 0xff
	flags                    uint8
}

// hotRow flags.
const (
	hotSrcIP = 1 << iota
	hotDstIP
)

// hotChunkRows rows share a chunk of memory (416 KiB): small enough that a
// tiny partition costs little, large enough that a full one maps 128.
const (
	hotChunkShift = 12
	hotChunkRows  = 1 << hotChunkShift
)

// hotArenaChunk is the size of a chunk of the arena; a larger extra gets
// a chunk of its own.
const hotArenaChunk = 64 << 10

// hotChunk is a chunk of rows, off the heap while it is reachable.
type hotChunk struct{ rows []hotRow }

// hotBytes is a chunk of the arena.
type hotBytes struct{ b []byte }

// hotCopy is a hot partition's copy. Guarded by parts.mu: the writer
// appends under the write lock, readers ask under the read lock or read a
// snapshot.
type hotCopy struct {
	chunks []*hotChunk
	n      int // rows
	arena  []*hotBytes
	used   int // bytes used of the last arena chunk
	// index is the open-addressing table of the rows by h8: each slot
	// holds a row number + 1 and its h8's tag (slotValue), 0 when empty;
	// at most half of them are taken. Rows sharing an h8 each have a slot. Each size of it is
	// filled at random as a whole, at once when it grows, so it is
	// advised huge pages (offheap.MakeScattered: fewer faults, and
	// lookups that find their page in the TLB), which the sizes of 2 MiB
	// and more (a full partition's 4 MiB) get; the rows and the arena,
	// written in order and the last chunk used in part, stay on small
	// ones, each chunk made resident when it is made
	// (offheap.MakeResident: one call, not a fault a page).
	index *hotIndex
}

type hotIndex struct{ slots []uint32 }

// hotSnap is a hot copy as a search saw it: its first n rows.
type hotSnap struct {
	chunks []*hotChunk
	arena  []*hotBytes
	n      int
}

func (h *hotCopy) snap() hotSnap {
	if h == nil {
		return hotSnap{}
	}
	return hotSnap{chunks: h.chunks, arena: h.arena, n: h.n}
}

// row returns row i (< n); the caller keeps s alive while it uses it
// (runtime.KeepAlive), the chunk being memory the collector does not see.
func (s *hotSnap) row(i int) *hotRow { return rowAt(s.chunks, i) }

// rowAt is row i of chunks: the one place that says where a row is.
func rowAt(chunks []*hotChunk, i int) *hotRow {
	return &chunks[i>>hotChunkShift].rows[i&(hotChunkRows-1)]
}

// done marks the end of a use of s's rows.
func (s *hotSnap) done() { runtime.KeepAlive(s.chunks); runtime.KeepAlive(s.arena) }

// find returns the number of the first row of id at least id.
func (s *hotSnap) find(id int64) int {
	i := sort.Search(s.n, func(i int) bool { return s.row(i).id >= id })
	s.done()
	return i
}

// extra returns r's names and keys as the arena holds them (see
// appendExtra); nil for none.
func (s *hotSnap) extra(r *hotRow) []byte {
	if r.extraLen == 0 {
		return nil
	}
	off := uint32(r.extra)
	return s.arena[r.extra>>32].b[off : off+r.extraLen]
}

// hotNames returns the reversed host names of an extra, and its keys.
func hotNames(extra []byte) (src, dst []byte, keys []byte) {
	if extra == nil {
		return nil, nil, nil
	}
	n, l := binary.Uvarint(extra)
	extra = extra[l:]
	src, extra = extra[:n], extra[n:]
	n, l = binary.Uvarint(extra)
	extra = extra[l:]
	dst, extra = extra[:n], extra[n:]
	return src, dst, extra
}

// eachKey calls fn with each of the keys an extra holds after its names.
func eachKey(keys []byte, fn func(kind int8, value []byte) bool) {
	for len(keys) > 0 {
		kind := int8(keys[0])
		n, l := binary.Uvarint(keys[1:])
		value := keys[1+l : 1+l+int(n)]
		keys = keys[1+l+int(n):]
		if !fn(kind, value) {
			return
		}
	}
}

// loc is r's block × 256 + slot.
func (r *hotRow) loc() int64 { return int64(r.block)<<8 | int64(r.slot) }

func (r *hotRow) srcKey() store.IPKey {
	if r.flags&hotSrcIP == 0 {
		return store.IPKey{}
	}
	return ipKeyOf(r.srcIP[:])
}

func (r *hotRow) dstKey() store.IPKey {
	if r.flags&hotDstIP == 0 {
		return store.IPKey{}
	}
	return ipKeyOf(r.dstIP[:])
}

// entry returns row i as a partEntry (tests, and the rare reader that
// wants it whole).
func (s *hotSnap) entry(i int) partEntry {
	r := s.row(i)
	en := partEntry{ts: r.ts, id: r.id, h8: r.h8, loc: r.loc(), srcIP: r.srcKey(), dstIP: r.dstKey(),
		srcASN: int64(r.srcASN), dstASN: int64(r.dstASN),
		feed: int64(r.feed), taxonomy: int64(r.taxonomy), typ: int64(r.typ), tlp: int64(r.tlp)}
	src, dst, keys := hotNames(s.extra(r))
	en.srcFQDN, en.dstFQDN = string(src), string(dst)
	eachKey(keys, func(kind int8, value []byte) bool {
		en.keys = append(en.keys, partKey{kind, string(value)})
		return true
	})
	s.done()
	return en
}

// add appends en.
func (h *hotCopy) add(en *partEntry) {
	if h.n == len(h.chunks)*hotChunkRows {
		c := &hotChunk{}
		c.rows = offheap.MakeResident[hotRow](hotChunkRows, c)
		h.chunks = append(h.chunks, c)
	}
	r := rowAt(h.chunks, h.n)
	*r = hotRowOf(en)
	if en.srcFQDN != "" || en.dstFQDN != "" || len(en.keys) > 0 {
		r.extra, r.extraLen = h.appendExtra(en)
	}
	h.n++
	h.indexRow(h.n - 1)
}

// hotRowOf is en as a hot row, without its names and keys.
func hotRowOf(en *partEntry) hotRow {
	r := hotRow{ts: en.ts, id: en.id, h8: en.h8, block: uint32(en.loc >> 8), slot: uint8(en.loc),
		srcASN: uint32(en.srcASN), dstASN: uint32(en.dstASN),
		feed: uint32(en.feed), taxonomy: uint32(en.taxonomy), typ: uint32(en.typ), tlp: uint32(en.tlp)}
	if b := en.srcIP.Bytes(); b != nil {
		r.srcIP, r.flags = [16]byte(b), r.flags|hotSrcIP
	}
	if b := en.dstIP.Bytes(); b != nil {
		r.dstIP, r.flags = [16]byte(b), r.flags|hotDstIP
	}
	return r
}

// appendExtra writes en's names and keys into the arena: each name after
// its length as a uvarint, then each key as its kind, its length and its
// value.
func (h *hotCopy) appendExtra(en *partEntry) (uint64, uint32) {
	size := 2*binary.MaxVarintLen64 + len(en.srcFQDN) + len(en.dstFQDN)
	for _, k := range en.keys {
		size += 1 + binary.MaxVarintLen64 + len(k.value)
	}
	if len(h.arena) == 0 || h.used+size > len(h.arena[len(h.arena)-1].b) {
		c := &hotBytes{}
		c.b = offheap.MakeResident[byte](max(size, hotArenaChunk), c)
		h.arena, h.used = append(h.arena, c), 0
	}
	chunk := len(h.arena) - 1
	buf := h.arena[chunk].b[h.used:h.used:len(h.arena[chunk].b)]
	buf = binary.AppendUvarint(buf, uint64(len(en.srcFQDN)))
	buf = append(buf, en.srcFQDN...)
	buf = binary.AppendUvarint(buf, uint64(len(en.dstFQDN)))
	buf = append(buf, en.dstFQDN...)
	for _, k := range en.keys {
		buf = append(buf, byte(k.kind))
		buf = binary.AppendUvarint(buf, uint64(len(k.value)))
		buf = append(buf, k.value...)
	}
	at := h.used
	h.used += len(buf)
	return uint64(chunk)<<32 | uint64(at), uint32(len(buf))
}

// slotOf is where the probing for h8 starts in a table of 2^bits slots
// (Fibonacci hashing: h8 is a hash's prefix, but the table must not
// depend on that).
func slotOf(h8 uint64, bits int) uint64 { return (h8 * 0x9e3779b97f4a7c15) >> (64 - bits) }

// slotValue is what the slot of row i, of h8, holds in a table of
// 2^bits slots: i + 1 in its low bits (a table has at least twice as
// many slots as rows), and above them h8's tag (tagOf). A lookup reads a
// row only when the slot's tag is its hash's: the duplicate check asks
// the index of every new event, absent from it, and read the row of
// each taken slot it probed, a cache miss in 54 MB of rows.
func slotValue(h8 uint64, i, bits int) uint32 { return uint32(i+1) | tagOf(h8, bits) }

// tagOf is h8's tag in a table of 2^bits slots: the 32 - bits bits of
// its Fibonacci hash that follow those slotOf takes, where slotValue
// holds them (none in a table of 2^32 slots).
func tagOf(h8 uint64, bits int) uint32 {
	return uint32((h8*0x9e3779b97f4a7c15)>>32) << bits
}

// indexRow puts row i into the index, growing it past half full.
func (h *hotCopy) indexRow(i int) {
	if h.index == nil || 2*h.n > len(h.index.slots) {
		size := 1024
		for size < 4*h.n {
			size *= 2
		}
		old := h.index
		h.index = &hotIndex{}
		h.index.slots = offheap.MakeScattered[uint32](size, h.index)
		if old != nil {
			rowBits := uint32(len(old.slots) - 1)
			for _, v := range old.slots {
				if v != 0 {
					h.place(int(v&rowBits) - 1)
				}
			}
			runtime.KeepAlive(old)
		}
	}
	h.place(i)
}

func (h *hotCopy) place(i int) {
	slots := h.index.slots
	b := bits.TrailingZeros(uint(len(slots)))
	mask := uint64(len(slots) - 1)
	k := rowAt(h.chunks, i).h8
	v := slotValue(k, i, b)
	for s := slotOf(k, b); ; s = (s + 1) & mask {
		if slots[s] == 0 {
			slots[s] = v
			return
		}
	}
}

// byHash calls fn with each row whose h8 is k.
func (h *hotCopy) byHash(k uint64, fn func(r *hotRow)) {
	h.tagged(k, func(r *hotRow) {
		if r.h8 == k {
			fn(r)
		}
	})
}

// tagged calls fn with each row a lookup of k reads: those in its probes
// whose slot holds k's tag (tagOf).
func (h *hotCopy) tagged(k uint64, fn func(r *hotRow)) {
	if h == nil || h.index == nil {
		return
	}
	slots := h.index.slots
	b := bits.TrailingZeros(uint(len(slots)))
	mask := uint64(len(slots) - 1)
	rowBits, tag := uint32(mask), tagOf(k, b)
	for s := slotOf(k, b); slots[s] != 0; s = (s + 1) & mask {
		if v := slots[s]; v&^rowBits == tag {
			fn(rowAt(h.chunks, int(v&rowBits)-1))
		}
	}
	runtime.KeepAlive(h.index)
	runtime.KeepAlive(h.chunks)
}
