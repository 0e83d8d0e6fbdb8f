package enricher

import (
	"encoding/binary"
	"math/bits"

	"github.com/vigil-cert/vigil/internal/event"
)

// flightTable holds a shard's claims in flight (see Dedup), by their ID:
// an open-addressed table with linear probing, at most half full. It does
// what a map[dedupID]flightClaim did, for less: the map hashed every
// 16-byte ID again and read a group's control word before its slot, which
// are two cache misses a look-up in a table the batches' keys reach at
// random; here the ID's own bits (half a SHA-256) place it, and a look-up
// usually reads one slot. A claim is looked up and added in Enrich and
// looked up and removed in Committed, and the map's share of the
// deduplicator's time was about 0.25 µs an event. The caller holds the
// shard's lock.
type flightTable struct {
	// slots has a power of two entries, or none; a slot without an
	// owner is empty.
	slots []flightSlot
	n     int // claims held
}

type flightSlot struct {
	id dedupID
	flightClaim
}

// flightTableMin is the size of a shard's table once it holds a claim:
// small, as a Go map starts, for a deduplicator that sees few keys at a
// time; the batches of a busy pipeline grow it in a few doublings (2,000
// keys put about 31 in each of the 64 shards).
const flightTableMin = 8

// home is the slot where id's probe starts in a table of mask+1 slots.
// IDs are SHA-256 bits, but tests make keys that differ in a few bytes:
// both words are mixed, so such keys still spread.
func home(id *dedupID, mask int) int {
	x := binary.LittleEndian.Uint64(id[:8]) ^ binary.LittleEndian.Uint64(id[8:])
	hi, _ := bits.Mul64(x, 0x9e3779b97f4a7c15)
	return int(hi) & mask
}

// find returns the slot holding id and true, or the empty slot where id
// would go and false; -1 for a table without slots.
func (t *flightTable) find(id *dedupID) (int, bool) {
	if len(t.slots) == 0 {
		return -1, false
	}
	mask := len(t.slots) - 1
	for i := home(id, mask); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.owner == nil {
			return i, false
		}
		if s.id == *id {
			return i, true
		}
	}
}

// get returns the claim of id, if one is held.
func (t *flightTable) get(id *dedupID) (flightClaim, bool) {
	i, ok := t.find(id)
	if !ok {
		return flightClaim{}, false
	}
	return t.slots[i].flightClaim, true
}

// put holds claim c for id, replacing the claim id has.
func (t *flightTable) put(id *dedupID, c flightClaim) {
	i, ok := t.find(id)
	if !ok && 2*(t.n+1) > len(t.slots) {
		t.grow()
		i, _ = t.find(id)
	}
	if !ok {
		t.n++
	}
	t.slots[i] = flightSlot{id: *id, flightClaim: c}
}

// remove forgets the claim of id, if one is held.
func (t *flightTable) remove(id *dedupID) {
	if i, ok := t.find(id); ok {
		t.removeAt(i)
	}
}

// removeAt empties slot i, which holds a claim, and moves back the claims
// after it in its run that probed past it, so that every claim stays
// reachable from its home without marks for removed ones.
func (t *flightTable) removeAt(i int) {
	mask := len(t.slots) - 1
	for j := (i + 1) & mask; t.slots[j].owner != nil; j = (j + 1) & mask {
		// The claim at j may fill the hole at i unless its home lies
		// cyclically within (i, j]: then i is before it in its probe.
		if h := home(&t.slots[j].id, mask); (j-h)&mask >= (j-i)&mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = flightSlot{}
	t.n--
}

// grow doubles the slots (or makes the first ones) and places the claims
// again.
func (t *flightTable) grow() {
	old := t.slots
	t.slots = make([]flightSlot, max(2*len(old), flightTableMin))
	mask := len(t.slots) - 1
	for k := range old {
		if old[k].owner == nil {
			continue
		}
		i := home(&old[k].id, mask)
		for t.slots[i].owner != nil {
			i = (i + 1) & mask
		}
		t.slots[i] = old[k]
	}
}

// removeExpired forgets the claims that expired by now (Unix seconds).
func (t *flightTable) removeExpired(now uint32) {
	var expired []dedupID
	for i := range t.slots {
		if s := &t.slots[i]; s.owner != nil && s.expires <= now {
			expired = append(expired, s.id)
		}
	}
	for i := range expired {
		t.remove(&expired[i])
	}
}

// touch reads the home slot of the ID of each key at idx and returns
// what it read mixed, as fingerprintTable.touch does for its buckets:
// the reads depend on nothing before them, so their cache misses overlap
// instead of coming one look-up after another. A claim is looked up where
// its probe starts, which a Go map's hashing hid; most are there or a slot
// after it.
func (t *flightTable) touch(keys []event.Hash, idx []int32) uint32 {
	if len(t.slots) == 0 {
		return 0
	}
	mask := len(t.slots) - 1
	var x uint32
	for _, k := range idx {
		x += t.slots[home((*dedupID)(keys[k][:len(dedupID{})]), mask)].expires
	}
	return x
}
