package eventstore

import (
	"encoding/binary"
	"math"
)

// Key spaces; see the layout in doc.go.
const (
	spaceVersion = 'v'
	spaceBlock   = 'b'
	spaceHash    = 'h'
	spaceIP      = 'i'
	spaceASN     = 'a'
	spaceFQDN    = 'f'
	spaceTime    = 't'
)

// layoutVersion is written under 'v' by the first Open; another version
// is refused rather than misread.
const layoutVersion = 1

// blockFormat is a block value's first byte: a zstd frame of records.
const blockFormat = 1

// maxBlockEvents bounds a block by the slot's 8 bits in a ref.
const maxBlockEvents = 256

// hashPrefixLen is how much of an event hash the hash index keeps.
const hashPrefixLen = 8

// ref names an event: its block's seq and its slot in the block.
type ref uint64

func makeRef(seq uint64, slot int) ref { return ref(seq<<8 | uint64(slot)) }
func (r ref) seq() uint64              { return uint64(r) >> 8 }
func (r ref) slot() int                { return int(r & 0xff) }

// invTime maps Unix microseconds to a key part that sorts newest first.
func invTime(micros int64) uint64 { return ^(uint64(micros) ^ 1<<63) }

// timeOfInv undoes invTime.
func timeOfInv(inv uint64) int64 { return int64(^inv ^ 1<<63) }

func blockKey(seq uint64) []byte {
	k := make([]byte, 9)
	k[0] = spaceBlock
	binary.BigEndian.PutUint64(k[1:], seq)
	return k
}

func hashKey(h []byte) []byte {
	k := make([]byte, 1+hashPrefixLen)
	k[0] = spaceHash
	copy(k[1:], h[:hashPrefixLen])
	return k
}

// appendEntry appends the newest-first tail of an index key.
func appendEntry(k []byte, micros int64, r ref) []byte {
	k = binary.BigEndian.AppendUint64(k, invTime(micros))
	return binary.BigEndian.AppendUint64(k, ^uint64(r))
}

// entryOf reads the tail appendEntry wrote at the end of key.
func entryOf(key []byte) (micros int64, r ref) {
	n := len(key)
	return timeOfInv(binary.BigEndian.Uint64(key[n-16 : n-8])), ref(^binary.BigEndian.Uint64(key[n-8:]))
}

// entryBounds returns the part of one index's key range (all keys with
// prefix p) that holds times in [from, to) in Unix microseconds.
func entryBounds(p []byte, from, to int64) (lower, upper []byte) {
	// time < to is inv > invTime(to).
	lower = append([]byte(nil), p...)
	lower = binary.BigEndian.AppendUint64(lower, invTime(to))
	lower = binary.BigEndian.AppendUint64(lower, math.MaxUint64)
	lower = append(lower, 0)
	if from != math.MinInt64 {
		upper = append([]byte(nil), p...)
		upper = binary.BigEndian.AppendUint64(upper, invTime(from))
		upper = binary.BigEndian.AppendUint64(upper, math.MaxUint64)
		upper = append(upper, 0)
	} else {
		upper = prefixEnd(p)
	}
	return lower, upper
}

// prefixEnd is the first key after every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}
