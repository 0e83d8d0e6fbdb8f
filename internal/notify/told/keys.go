package told

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"slices"
	"sort"
	"strings"
	"time"
	"unsafe"

	"github.com/vigil-cert/vigil/internal/event"
)

// The observations told to an organisation are kept in sets, one per
// commit that told it something: a set is one row holding its keys sorted,
// so that a digest of a thousand new observations writes one row instead
// of a thousand index entries. Both dialects use this encoding (and the
// event store's migration 3 wrote it).
//
// A set has one of two forms:
//
//   - one time for all (version 2, what a commit writes when its keys
//     share FirstSent and Expires, as a pass's do): the byte 2,
//     FirstSent and Expires in Unix microseconds, big-endian, then the
//     keys, 32 bytes each;
//   - an entry a key (version 1, sets merged from several, or keys with
//     times of their own): 48 bytes each, the key, FirstSent and Expires.
//
// Their lengths tell them apart: 17 + 32n is never a multiple of 48.
const (
	toldEntry      = len(event.Hash{}) + 16 // version 1's entry
	toldKey        = len(event.Hash{})      // version 2's entry
	toldHeader     = 1 + 16                 // version 2's byte and times
	toldSetVersion = 2
)

// errBadKeySet is returned for a set or tally that does not decode.
var errBadKeySet = errors.New("told: damaged notification key set")

// encodeToldSet encodes keys (Key, FirstSent and Expires of each) sorted
// by key; of a key given twice the last counts. It also returns the
// latest Expires, after which the whole set can go. Keys that share their
// times are written in version 2's form, others in version 1's.
func encodeToldSet(keys []Key) ([]byte, time.Time) {
	order := sortedKeys(keys)
	shared := len(keys) > 0
	for i := range keys {
		if !keys[i].FirstSent.Equal(keys[0].FirstSent) || !keys[i].Expires.Equal(keys[0].Expires) {
			shared = false
			break
		}
	}
	var b []byte
	if shared {
		b = appendToldHeader(make([]byte, 0, toldHeader+len(keys)*toldKey), keys[0].FirstSent, keys[0].Expires)
	} else {
		b = make([]byte, 0, len(keys)*toldEntry)
	}
	var latest time.Time
	for n, at := range order {
		i := at.i
		if n+1 < len(order) && keys[order[n+1].i].Key == keys[i].Key {
			continue // a later one of the same key follows
		}
		k := &keys[i]
		b = append(b, k.Key[:]...)
		if !shared {
			b = binary.BigEndian.AppendUint64(b, uint64(k.FirstSent.UnixMicro()))
			b = binary.BigEndian.AppendUint64(b, uint64(k.Expires.UnixMicro()))
		}
		if k.Expires.After(latest) {
			latest = k.Expires
		}
	}
	return b, latest
}

// appendToldHeader appends the header of a set whose keys share one
// first sending and one expiry (version 2's form).
func appendToldHeader(b []byte, firstSent, expires time.Time) []byte {
	b = append(b, toldSetVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(firstSent.UnixMicro()))
	return binary.BigEndian.AppendUint64(b, uint64(expires.UnixMicro()))
}

// keyAt is a key's first eight bytes and its index in a list.
type keyAt struct {
	prefix uint64
	i      int
}

// sortedKeys returns keys' indexes sorted by key, and of equal keys by
// index: by their first eight bytes, which hashes rarely share, compared
// in a small array rather than through the keys.
func sortedKeys(keys []Key) []keyAt {
	order := make([]keyAt, len(keys))
	for i := range keys {
		order[i] = keyAt{binary.BigEndian.Uint64(keys[i].Key[:8]), i}
	}
	slices.SortFunc(order, func(a, b keyAt) int {
		if c := cmp.Compare(a.prefix, b.prefix); c != 0 {
			return c
		}
		if c := bytes.Compare(keys[a.i].Key[8:], keys[b.i].Key[8:]); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	return order
}

// toldSet is an encoded set, searched without decoding it.
type toldSet []byte

// shared reports whether s is in version 2's form (one time for all).
func (s toldSet) shared() bool {
	return len(s)%toldKey == toldHeader%toldKey && len(s) >= toldHeader && s[0] == toldSetVersion
}

// layout returns where s's keys start and how far apart they are.
func (s toldSet) layout() (start, stride int) {
	if s.shared() {
		return toldHeader, toldKey
	}
	return 0, toldEntry
}

// Valid reports whether s has whole entries, in either form.
func (s toldSet) Valid() bool { return s.shared() || len(s)%toldEntry == 0 }

// Len is the number of keys in s.
func (s toldSet) Len() int {
	start, stride := s.layout()
	return (len(s) - start) / stride
}

func (s toldSet) entry(i int, org string) Key {
	start, stride := s.layout()
	e := s[start+i*stride : start+(i+1)*stride]
	k := Key{Org: org}
	n := copy(k.Key[:], e)
	times := e[n:]
	if start > 0 {
		times = s[1:toldHeader]
	}
	k.FirstSent = time.UnixMicro(int64(binary.BigEndian.Uint64(times))).UTC()
	k.Expires = time.UnixMicro(int64(binary.BigEndian.Uint64(times[8:]))).UTC()
	return k
}

// Find returns the entry of key, if s has it.
func (s toldSet) Find(org string, key event.Hash) (Key, bool) {
	start, stride := s.layout()
	n := s.Len()
	at := func(i int) []byte { return s[start+i*stride : start+i*stride+len(key)] }
	i := sort.Search(n, func(i int) bool { return bytes.Compare(at(i), key[:]) >= 0 })
	if i < n && bytes.Equal(at(i), key[:]) {
		return s.entry(i, org), true
	}
	return Key{}, false
}

// All returns every entry of s.
func (s toldSet) All(org string) []Key {
	out := make([]Key, s.Len())
	for i := range out {
		out[i] = s.entry(i, org)
	}
	return out
}

// findTold returns those of keys that sets (one organisation's, newest
// first) hold and that expire after now: a key told again counts from
// the newest set that has it.
func findTold(sets []toldSet, org string, keys []event.Hash, now time.Time) map[event.Hash]Key {
	out := make(map[event.Hash]Key)
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

// toldSetsByOrg encodes newly told keys as one set per organisation, by
// organisation, with each set's latest Expires.
func toldSetsByOrg(keys []Key) (orgs []string, sets [][]byte, expires []time.Time) {
	runs := orgRuns(keys)
	for i := 1; i < len(runs); i++ {
		if keys[runs[i][0]].Org == keys[runs[i-1][0]].Org {
			// An organisation's keys in more than one run: sorted into
			// one, in their order.
			keys = slices.Clone(keys)
			slices.SortStableFunc(keys, func(a, b Key) int { return strings.Compare(a.Org, b.Org) })
			runs = orgRuns(keys)
			break
		}
	}
	for _, r := range runs {
		set, exp := encodeToldSet(keys[r[0]:r[1]])
		orgs, sets, expires = append(orgs, keys[r[0]].Org), append(sets, set), append(expires, exp)
	}
	return orgs, sets, expires
}

// toldSetsOf is toldSetsByOrg of keys and then the keys of keySets: a
// KeySet is encoded from its keys as they are, unless its organisation
// also has keys elsewhere in the commit, when all are merged as Keys.
func toldSetsOf(keys []Key, keySets []KeySet) (orgs []string, sets [][]byte, expires []time.Time) {
	seen := make(map[string]bool, len(keySets))
	for _, k := range keys {
		seen[k.Org] = true
	}
	for _, s := range keySets {
		if seen[s.Org] {
			// Rare (no pass commits an organisation twice): the slow way,
			// which keeps "of a key given twice the last counts".
			all := slices.Clone(keys)
			for _, s := range keySets {
				for _, k := range s.Keys {
					all = append(all, Key{Org: s.Org, Key: k, FirstSent: s.FirstSent, Expires: s.Expires})
				}
			}
			return toldSetsByOrg(all)
		}
		seen[s.Org] = true
	}
	if len(keys) > 0 {
		orgs, sets, expires = toldSetsByOrg(keys)
	}
	byOrg := make([]int, 0, len(keySets)) // keySets' indexes, sorted by organisation
	for i, s := range keySets {
		if len(s.Keys) > 0 {
			byOrg = append(byOrg, i)
		}
	}
	slices.SortFunc(byOrg, func(a, b int) int { return strings.Compare(keySets[a].Org, keySets[b].Org) })
	for _, i := range byOrg {
		s := &keySets[i]
		orgs, sets, expires = append(orgs, s.Org), append(sets, encodeKeySet(s)), append(expires, s.Expires)
	}
	return orgs, sets, expires
}

// encodeKeySet encodes s as encodeToldSet encodes its keys as Keys:
// in version 2's form, sorted, each key once.
func encodeKeySet(s *KeySet) []byte {
	b := appendToldHeader(make([]byte, 0, toldHeader+len(s.Keys)*toldKey), s.FirstSent, s.Expires)
	if len(s.Keys) == 0 {
		return b
	}
	for i := range s.Keys {
		b = append(b, s.Keys[i][:]...)
	}
	// Sorted where they are written, not in the caller's list nor in a
	// copy of it (a morning's pass would copy 30 MB of keys). A key is an
	// array of bytes: the entries are keys as they lie.
	keys := unsafe.Slice((*event.Hash)(unsafe.Pointer(&b[toldHeader])), len(s.Keys))
	slices.SortFunc(keys, func(a, b event.Hash) int {
		if c := cmp.Compare(binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])); c != 0 {
			return c
		}
		return bytes.Compare(a[8:], b[8:])
	})
	keys = slices.Compact(keys)
	return b[:toldHeader+len(keys)*toldKey]
}

// orgRuns returns the runs of keys of one organisation, as [start, end)
// in keys, sorted by organisation (stably). A commit hands over each
// organisation's keys together: they are encoded where they lie, not
// copied into a list per organisation.
func orgRuns(keys []Key) [][2]int {
	var runs [][2]int
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j].Org == keys[i].Org {
			j++
		}
		runs = append(runs, [2]int{i, j})
		i = j
	}
	slices.SortStableFunc(runs, func(a, b [2]int) int { return strings.Compare(keys[a[0]].Org, keys[b[0]].Org) })
	return runs
}

// mergeToldSets merges sets of one organisation, oldest first, into one:
// entries that expire before now are dropped, and of a key in several
// sets the newest counts.
func mergeToldSets(org string, sets []toldSet, now time.Time) ([]byte, time.Time) {
	var all []Key
	for _, s := range sets {
		for _, k := range s.All(org) {
			if k.Expires.After(now) {
				all = append(all, k)
			}
		}
	}
	return encodeToldSet(all)
}

// encodeTally encodes an organisation's "seen again" tally: per entry the
// key, FirstSent, Expires, Repeats and Summary. Order is kept.
func encodeTally(keys []Key) []byte {
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

// decodeTally decodes encodeTally's form, keeping the entries that expire
// after now.
func decodeTally(org string, b []byte, now time.Time) ([]Key, error) {
	var out []Key
	for len(b) > 0 {
		if len(b) < toldEntry {
			return nil, errBadKeySet
		}
		k := Key{Org: org}
		n := copy(k.Key[:], b)
		k.FirstSent = time.UnixMicro(int64(binary.BigEndian.Uint64(b[n:]))).UTC()
		k.Expires = time.UnixMicro(int64(binary.BigEndian.Uint64(b[n+8:]))).UTC()
		b = b[toldEntry:]
		repeats, w := binary.Uvarint(b)
		if w <= 0 {
			return nil, errBadKeySet
		}
		b = b[w:]
		size, w := binary.Uvarint(b)
		if w <= 0 || size > uint64(len(b)-w) {
			return nil, errBadKeySet
		}
		k.Repeats, k.Summary = int(repeats), string(b[w:w+int(size)])
		b = b[w+int(size):]
		if k.Expires.After(now) {
			out = append(out, k)
		}
	}
	slices.SortStableFunc(out, func(a, b Key) int {
		if c := a.FirstSent.Compare(b.FirstSent); c != 0 {
			return c
		}
		return bytes.Compare(a.Key[:], b.Key[:])
	})
	return out, nil
}
