package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
)

// The observations told to an organisation are kept in sets, one per
// commit that told it something: a set is one row holding its keys sorted,
// so that a digest of a thousand new observations writes one row instead
// of a thousand index entries. Both stores use this encoding.
//
// A set entry is 48 bytes: the key, FirstSent and Expires in Unix
// microseconds, big-endian.
const toldEntry = len(event.Hash{}) + 16

// ErrBadKeySet is returned for a set or tally that does not decode.
var ErrBadKeySet = errors.New("store: damaged notification key set")

// EncodeToldSet encodes keys (Key, FirstSent and Expires of each) sorted
// by key; of a key given twice the last counts. It also returns the
// latest Expires, after which the whole set can go.
func EncodeToldSet(keys []NotifiedKey) ([]byte, time.Time) {
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return bytes.Compare(keys[i].Key[:], keys[j].Key[:]) })
	b := make([]byte, 0, len(keys)*toldEntry)
	var latest time.Time
	for n, i := range order {
		if n+1 < len(order) && keys[order[n+1]].Key == keys[i].Key {
			continue // a later one of the same key follows
		}
		k := &keys[i]
		b = append(b, k.Key[:]...)
		b = binary.BigEndian.AppendUint64(b, uint64(k.FirstSent.UnixMicro()))
		b = binary.BigEndian.AppendUint64(b, uint64(k.Expires.UnixMicro()))
		if k.Expires.After(latest) {
			latest = k.Expires
		}
	}
	return b, latest
}

// ToldSet is an encoded set, searched without decoding it.
type ToldSet []byte

// Valid reports whether s has whole entries.
func (s ToldSet) Valid() bool { return len(s)%toldEntry == 0 }

// Len is the number of keys in s.
func (s ToldSet) Len() int { return len(s) / toldEntry }

func (s ToldSet) entry(i int, org string) NotifiedKey {
	e := s[i*toldEntry : (i+1)*toldEntry]
	k := NotifiedKey{Org: org}
	n := copy(k.Key[:], e)
	k.FirstSent = time.UnixMicro(int64(binary.BigEndian.Uint64(e[n:]))).UTC()
	k.Expires = time.UnixMicro(int64(binary.BigEndian.Uint64(e[n+8:]))).UTC()
	return k
}

// Find returns the entry of key, if s has it.
func (s ToldSet) Find(org string, key event.Hash) (NotifiedKey, bool) {
	n := s.Len()
	i := sort.Search(n, func(i int) bool { return bytes.Compare(s[i*toldEntry:i*toldEntry+len(key)], key[:]) >= 0 })
	if i < n && bytes.Equal(s[i*toldEntry:i*toldEntry+len(key)], key[:]) {
		return s.entry(i, org), true
	}
	return NotifiedKey{}, false
}

// All returns every entry of s.
func (s ToldSet) All(org string) []NotifiedKey {
	out := make([]NotifiedKey, s.Len())
	for i := range out {
		out[i] = s.entry(i, org)
	}
	return out
}

// FindTold returns those of keys that sets (one organisation's, newest
// first) hold and that expire after now: a key told again counts from
// the newest set that has it.
func FindTold(sets []ToldSet, org string, keys []event.Hash, now time.Time) map[event.Hash]NotifiedKey {
	out := make(map[event.Hash]NotifiedKey)
	for _, k := range keys {
		for _, set := range sets {
			if got, ok := set.Find(org, k); ok {
				if got.Expires.After(now) {
					out[k] = got
				}
				break
			}
		}
	}
	return out
}

// ToldSetsByOrg encodes newly told keys as one set per organisation, by
// organisation, with each set's latest Expires.
func ToldSetsByOrg(keys []NotifiedKey) (orgs []string, sets [][]byte, expires []time.Time) {
	byOrg := map[string][]NotifiedKey{}
	for _, k := range keys {
		byOrg[k.Org] = append(byOrg[k.Org], k)
	}
	orgs = slices.Sorted(maps.Keys(byOrg))
	for _, org := range orgs {
		set, exp := EncodeToldSet(byOrg[org])
		sets, expires = append(sets, set), append(expires, exp)
	}
	return orgs, sets, expires
}

// RepeatedByOrg returns the keys with repeats, by organisation: the
// tallies of an older layout that kept the counts with the keys.
func RepeatedByOrg(keys []NotifiedKey) map[string][]NotifiedKey {
	out := map[string][]NotifiedKey{}
	for _, k := range keys {
		if k.Repeats > 0 {
			out[k.Org] = append(out[k.Org], k)
		}
	}
	return out
}

// MergeToldSets merges sets of one organisation, oldest first, into one:
// entries that expire before now are dropped, and of a key in several
// sets the newest counts.
func MergeToldSets(org string, sets []ToldSet, now time.Time) ([]byte, time.Time) {
	var all []NotifiedKey
	for _, s := range sets {
		for _, k := range s.All(org) {
			if k.Expires.After(now) {
				all = append(all, k)
			}
		}
	}
	return EncodeToldSet(all)
}

// EncodeTally encodes an organisation's "seen again" tally: per entry the
// key, FirstSent, Expires, Repeats and Summary. Order is kept.
func EncodeTally(keys []NotifiedKey) []byte {
	var b []byte
	for i := range keys {
		k := &keys[i]
		b = append(b, k.Key[:]...)
		b = binary.BigEndian.AppendUint64(b, uint64(k.FirstSent.UnixMicro()))
		b = binary.BigEndian.AppendUint64(b, uint64(k.Expires.UnixMicro()))
		b = binary.AppendUvarint(b, uint64(max(k.Repeats, 0)))
		b = binary.AppendUvarint(b, uint64(len(k.Summary)))
		b = append(b, k.Summary...)
	}
	return b
}

// DecodeTally decodes EncodeTally's form, keeping the entries that expire
// after now.
func DecodeTally(org string, b []byte, now time.Time) ([]NotifiedKey, error) {
	var out []NotifiedKey
	for len(b) > 0 {
		if len(b) < toldEntry {
			return nil, ErrBadKeySet
		}
		k := NotifiedKey{Org: org}
		n := copy(k.Key[:], b)
		k.FirstSent = time.UnixMicro(int64(binary.BigEndian.Uint64(b[n:]))).UTC()
		k.Expires = time.UnixMicro(int64(binary.BigEndian.Uint64(b[n+8:]))).UTC()
		b = b[toldEntry:]
		repeats, w := binary.Uvarint(b)
		if w <= 0 {
			return nil, ErrBadKeySet
		}
		b = b[w:]
		size, w := binary.Uvarint(b)
		if w <= 0 || size > uint64(len(b)-w) {
			return nil, ErrBadKeySet
		}
		k.Repeats, k.Summary = int(repeats), string(b[w:w+int(size)])
		b = b[w+int(size):]
		if k.Expires.After(now) {
			out = append(out, k)
		}
	}
	slices.SortStableFunc(out, func(a, b NotifiedKey) int {
		if c := a.FirstSent.Compare(b.FirstSent); c != 0 {
			return c
		}
		return bytes.Compare(a.Key[:], b.Key[:])
	})
	return out, nil
}

// EncodeEventIDs encodes the events a message reported (their ids, sorted
// and distinct) as the differences from one to the next in unsigned
// varints, two or three bytes an event, with the first and the last.
func EncodeEventIDs(ids []int64) (list []byte, first, last int64) {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(ids) == 0 {
		return nil, 0, 0
	}
	var prev int64
	list = make([]byte, 0, 3*len(ids))
	for _, id := range ids {
		list = binary.AppendUvarint(list, uint64(id-prev))
		prev = id
	}
	return list, ids[0], ids[len(ids)-1]
}

// EventIDsHave reports whether list (EncodeEventIDs') holds id.
func EventIDsHave(list []byte, id int64) bool {
	var cur int64
	for len(list) > 0 {
		d, n := binary.Uvarint(list)
		if n <= 0 {
			return false
		}
		list = list[n:]
		if cur += int64(d); cur >= id {
			return cur == id
		}
	}
	return false
}
