package enricher

import "github.com/vigil-cert/vigil/internal/event"

// fingerprintTable is the deduplicator's memory of the window: a set of
// short fingerprints of the keys claimed, each tagged with the time bucket
// in which its claim expires, in a fixed number of bytes. It answers
// "certainly not claimed" or "maybe claimed"; the deduplicator confirms a
// "maybe" against the store.
//
// Layout: buckets of 16 slots of 4 bytes (one 64-byte cache line). A
// slot holds a 24-bit fingerprint and the low 8 bits of the number of
// the expiry's time bucket (its epoch); 0 is an empty slot. A key may
// sit in either of two buckets chosen from independent bits of its hash
// (two choices keep the buckets evenly filled up to ~95 %), so a lookup
// reads two cache lines. A slot whose epoch has passed is free: expiry
// needs no per-key work, moving the current bucket number forward
// expires a whole bucket of claims at once. Since an epoch is only 8
// bits, a slot that stayed dead for 128 buckets would look alive again;
// sweep clears dead slots and the deduplicator runs it every
// sweepEvery buckets, long before that.
//
// When both buckets of a key are full of live slots, the key cannot be
// stored: its first bucket is marked overflowed until the key's epoch,
// and every lookup landing there answers "maybe" (the store decides)
// until then. Memory never forgets an unexpired claim, so a full table
// costs store reads, not duplicates.
//
// Not safe for concurrent use: each shard of the deduplicator guards its
// own table.
type fingerprintTable struct {
	slots []uint32 // len = 16 × buckets
	// overflow holds, per bucket, 0 or overflowMark|epoch: a key whose
	// claim expires at epoch did not fit in the bucket.
	overflow []uint16
	// fingerprintMask keeps the fingerprint's bits; tests narrow it to
	// force collisions.
	fingerprintMask uint32
}

const (
	slotsPerBucket = 16
	// bucketBytes is what one bucket costs, its overflow mark included.
	bucketBytes  = slotsPerBucket*4 + 2
	overflowMark = 0x100

	// epochsPerWindow is how many time buckets a window spans: a claim
	// stays in memory at most a window and a 64th.
	epochsPerWindow = 64
	// maxAhead is how far ahead of the current bucket an epoch may lie;
	// epochs further behind than 256-maxAhead-1 buckets would alias.
	maxAhead = 127
	// sweepEvery is how often (in buckets) dead slots are cleared, well
	// within the 128 buckets after which they would alias.
	sweepEvery = 64

	fingerprintBits = 24
)

// newFingerprintTable makes a table of buckets (at least one) on slots
// (buckets×slotsPerBucket of them, zeroed), or on slots of its own when
// slots is nil.
func newFingerprintTable(buckets, bits int, slots []uint32) fingerprintTable {
	buckets = max(buckets, 1)
	if slots == nil {
		slots = make([]uint32, buckets*slotsPerBucket)
	}
	return fingerprintTable{
		slots:           slots[: buckets*slotsPerBucket : buckets*slotsPerBucket],
		overflow:        make([]uint16, buckets),
		fingerprintMask: 1<<bits - 1,
	}
}

// bytes is the memory the table holds.
func (t *fingerprintTable) bytes() int { return len(t.slots)*4 + len(t.overflow)*2 }

// fingerprint and the two buckets of a key, from bits of its hash that
// the shard choice (byte 31) and the deduplicator's other uses leave
// alone. Keys are SHA-256 hashes, so the bits are uniform and
// independent.
func (t *fingerprintTable) place(h *[32]byte) (fp uint32, b1, b2 int) {
	n := uint64(len(t.overflow))
	x1 := uint64(h[0]) | uint64(h[1])<<8 | uint64(h[2])<<16 | uint64(h[3])<<24
	x2 := uint64(h[4]) | uint64(h[5])<<8 | uint64(h[6])<<16 | uint64(h[7])<<24
	b1 = int(x1 * n >> 32) // fast range reduction: any bucket count
	b2 = int(x2 * n >> 32)
	fp = (uint32(h[8]) | uint32(h[9])<<8 | uint32(h[10])<<16) & t.fingerprintMask
	if fp == 0 {
		fp = 1 // 0 marks an empty slot
	}
	return fp, b1, b2
}

// ahead is how many buckets epoch lies ahead of the current one (now's
// low 8 bits); 0 is the current bucket, above maxAhead is in the past.
func ahead(epoch, now uint8) uint8 { return epoch - now }

// lookup reports whether the key may be claimed: live is a fingerprint
// (or overflow mark) whose epoch is later than the current bucket's,
// edge one that expires within the current bucket (the claim may have
// expired a moment ago; only the store can tell).
func (t *fingerprintTable) lookup(h *[32]byte, now uint8) (live, edge bool) {
	fp, b1, b2 := t.place(h)
	for _, b := range [2]int{b1, b2} {
		for _, s := range t.slots[b*slotsPerBucket : (b+1)*slotsPerBucket] {
			if s>>8 != fp {
				continue
			}
			switch a := ahead(uint8(s), now); {
			case a == 0:
				edge = true
			case a <= maxAhead:
				return true, edge
			}
		}
	}
	if o := t.overflow[b1]; o != 0 {
		switch a := ahead(uint8(o), now); {
		case a == 0:
			edge = true
		case a <= maxAhead:
			return true, edge
		}
	}
	return false, edge
}

// touch reads the first word of both buckets of the keys at idx, and
// their overflow marks, and returns them mixed: the reads depend on
// nothing before them, so the processor fetches their cache lines from
// memory at once, and the lookups and adds that follow find them in the
// cache. (Go has no prefetch instruction; the caller keeps the result so
// that the reads are not dropped as unused.)
func (t *fingerprintTable) touch(keys []event.Hash, idx []int32) uint32 {
	var x uint32
	for _, k := range idx {
		_, b1, b2 := t.place((*[32]byte)(&keys[k]))
		x += t.slots[b1*slotsPerBucket] ^ t.slots[b2*slotsPerBucket] ^ uint32(t.overflow[b1])
	}
	return x
}

// add records the key until epoch (which the caller keeps within
// maxAhead of now). A slot of the same fingerprint serves for both keys
// (its epoch becomes the later one): the table answers for a superset of
// the claims, never less. It reports false when the key did not fit and
// its bucket was marked overflowed instead.
func (t *fingerprintTable) add(h *[32]byte, epoch, now uint8) bool {
	fp, b1, b2 := t.place(h)
	want := ahead(epoch, now)
	free1, free2 := -1, -1
	used1, used2 := 0, 0
	for i, b := range [2]int{b1, b2} {
		base := b * slotsPerBucket
		for j, s := range t.slots[base : base+slotsPerBucket] {
			a := ahead(uint8(s), now)
			if s == 0 || a > maxAhead {
				if i == 0 && free1 < 0 {
					free1 = base + j
				} else if i == 1 && free2 < 0 {
					free2 = base + j
				}
				continue
			}
			if s>>8 == fp {
				if want > a {
					t.slots[base+j] = fp<<8 | uint32(epoch)
				}
				return true
			}
			if i == 0 {
				used1++
			} else {
				used2++
			}
		}
	}
	slot := free1
	if free2 >= 0 && (slot < 0 || used2 < used1) {
		slot = free2
	}
	if slot >= 0 {
		t.slots[slot] = fp<<8 | uint32(epoch)
		return true
	}
	if o := t.overflow[b1]; o == 0 || ahead(uint8(o), now) > maxAhead || ahead(uint8(o), now) < want {
		t.overflow[b1] = overflowMark | uint16(epoch)
	}
	return false
}

// sweep empties the slots and overflow marks whose epoch lies before the
// bucket now, and returns how many slots it emptied. prev is the bucket
// of the previous sweep: every epoch in the table lies within 255
// buckets after it (claims since were made at most sweepEvery buckets
// later, at most maxAhead ahead), which is what lets 8 bits say which
// bucket an epoch is even after a long pause.
func (t *fingerprintTable) sweep(prev, now uint64) int {
	dead := func(epoch uint8) bool {
		return prev+uint64(epoch-uint8(prev)) < now
	}
	n := 0
	for i, s := range t.slots {
		if s != 0 && dead(uint8(s)) {
			t.slots[i] = 0
			n++
		}
	}
	for i, o := range t.overflow {
		if o != 0 && dead(uint8(o)) {
			t.overflow[i] = 0
		}
	}
	return n
}

// live counts the slots whose epoch has not passed.
func (t *fingerprintTable) live(now uint8) int {
	n := 0
	for _, s := range t.slots {
		if s != 0 && ahead(uint8(s), now) <= maxAhead {
			n++
		}
	}
	return n
}
