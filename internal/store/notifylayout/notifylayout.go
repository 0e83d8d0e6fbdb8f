// Package notifylayout writes the notifier's records in the layout that
// migration 3 of the event store brought in, for that migration's Go step
// (in sqlitestore and pgstore): the rows of message_events become lists
// of event ids in the outbox's messages, and those of notified_keys one
// set and one tally per organisation. The tables have since moved to the
// capabilities that own them (internal/outbox/outboxdb and
// internal/notify/told, which read and write this layout), so a
// migration of the store keeps its own copy of the encoding: like the
// migration's scripts, it does not change any more.
package notifylayout

import (
	"bytes"
	"encoding/binary"
	"maps"
	"slices"
	"time"
)

// Key is a row of the old notified_keys table: an observation told to an
// organisation, with its count of sightings since.
type Key struct {
	Org                string
	Key                [32]byte
	FirstSent, Expires time.Time
	Repeats            int
	Summary            string
}

// EventIDs encodes the events a message reported (their ids, sorted and
// distinct) as the differences from one to the next in unsigned varints,
// with the first and the last.
func EventIDs(ids []int64) (list []byte, first, last int64) {
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

// Sets encodes keys as one set per organisation, by organisation: each
// set's entries (key, FirstSent and Expires in Unix microseconds,
// big-endian) sorted by key, and its latest Expires.
func Sets(keys []Key) (orgs []string, sets [][]byte, expires []time.Time) {
	byOrg := map[string][]Key{}
	for _, k := range keys {
		byOrg[k.Org] = append(byOrg[k.Org], k)
	}
	orgs = slices.Sorted(maps.Keys(byOrg))
	for _, org := range orgs {
		list := byOrg[org]
		slices.SortStableFunc(list, func(a, b Key) int { return bytes.Compare(a.Key[:], b.Key[:]) })
		var (
			b      []byte
			latest time.Time
		)
		for i, k := range list {
			if i+1 < len(list) && list[i+1].Key == k.Key {
				continue // a later one of the same key follows
			}
			b = append(b, k.Key[:]...)
			b = binary.BigEndian.AppendUint64(b, uint64(k.FirstSent.UnixMicro()))
			b = binary.BigEndian.AppendUint64(b, uint64(k.Expires.UnixMicro()))
			if k.Expires.After(latest) {
				latest = k.Expires
			}
		}
		sets, expires = append(sets, b), append(expires, latest)
	}
	return orgs, sets, expires
}

// Tallies returns the tally of every organisation with keys seen again:
// per entry the key, FirstSent, Expires, Repeats and Summary.
func Tallies(keys []Key) map[string][]byte {
	out := map[string][]byte{}
	for _, k := range keys {
		if k.Repeats <= 0 {
			continue
		}
		b := append(out[k.Org], k.Key[:]...)
		b = binary.BigEndian.AppendUint64(b, uint64(k.FirstSent.UnixMicro()))
		b = binary.BigEndian.AppendUint64(b, uint64(k.Expires.UnixMicro()))
		b = binary.AppendUvarint(b, uint64(k.Repeats))
		b = binary.AppendUvarint(b, uint64(len(k.Summary)))
		out[k.Org] = append(b, k.Summary...)
	}
	return out
}
