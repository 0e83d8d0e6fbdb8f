package told

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
)

func TestToldSet(t *testing.T) {
	base := time.Date(2026, 11, 20, 6, 30, 0, 0, time.UTC)
	k := func(b byte, first, expires time.Duration) Key {
		return Key{Org: "uni", Key: event.Hash{b, 0xaa}, FirstSent: base.Add(first), Expires: base.Add(expires)}
	}
	keys := []Key{k(9, 0, time.Hour), k(3, time.Minute, 2*time.Hour), k(9, time.Second, 3*time.Hour), k(5, 0, time.Hour)}
	b, latest := encodeToldSet(keys)
	set := toldSet(b)
	if !set.Valid() || set.Len() != 3 || !latest.Equal(base.Add(3*time.Hour)) {
		t.Fatalf("set of %d keys, latest %v", set.Len(), latest)
	}
	all := set.All("uni")
	for i := 1; i < len(all); i++ {
		if string(all[i-1].Key[:]) >= string(all[i].Key[:]) {
			t.Errorf("keys out of order: %v", all)
		}
	}
	if got, ok := set.Find("uni", event.Hash{9, 0xaa}); !ok || got != keys[2] {
		t.Errorf("Find of a key given twice = %+v, %v; want the last, %+v", got, ok, keys[2])
	}
	if _, ok := set.Find("uni", event.Hash{4, 0xaa}); ok {
		t.Error("Find of a missing key found it")
	}
	if toldSet(b[:len(b)-1]).Valid() {
		t.Error("a cut set is valid")
	}
	newer, _ := encodeToldSet([]Key{k(3, time.Hour, 4*time.Hour)})
	found := findTold([]toldSet{newer, b}, "uni", []event.Hash{{3, 0xaa}, {5, 0xaa}, {7, 0xaa}}, base.Add(90*time.Minute))
	if len(found) != 1 || !found[event.Hash{3, 0xaa}].FirstSent.Equal(base.Add(time.Hour)) {
		t.Errorf("findTold = %+v, want key 3 from the newer set (key 5 expired)", found)
	}
	merged, _ := mergeToldSets("uni", []toldSet{b, newer}, base.Add(90*time.Minute))
	if m := toldSet(merged).All("uni"); len(m) != 2 || !m[0].FirstSent.Equal(base.Add(time.Hour)) {
		t.Errorf("merged = %+v, want keys 3 (the newer) and 9", m)
	}
}

func TestTally(t *testing.T) {
	base := time.Date(2026, 11, 20, 6, 30, 0, 0, time.UTC)
	in := []Key{
		{Key: event.Hash{2}, FirstSent: base.Add(time.Minute), Expires: base.Add(time.Hour), Repeats: 3, Summary: "two"},
		{Key: event.Hash{1}, FirstSent: base, Expires: base.Add(time.Hour), Repeats: 1, Summary: "vulnérable 192.0.2.1:53"},
		{Key: event.Hash{3}, FirstSent: base, Expires: base.Add(-time.Hour), Repeats: 7, Summary: "expired"},
	}
	b := encodeTally(in)
	out, err := decodeTally("uni", b, base)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].Summary != in[1].Summary || out[1].Repeats != 3 || out[0].Org != "uni" {
		t.Errorf("decoded %+v: want key 1 then key 2 (by first sent), the expired one left out", out)
	}
	// A cut inside an entry is an error; at a boundary, the whole entries.
	boundary := map[int]int{}
	for i := range in {
		boundary[len(encodeTally(in[:i+1]))] = i + 1
	}
	for n := 1; n < len(b); n++ {
		got, err := decodeTally("uni", b[:n], time.Time{})
		if whole, ok := boundary[n]; ok {
			if err != nil || len(got) != whole {
				t.Errorf("cut at entry boundary %d: %d entries, %v; want %d", n, len(got), err, whole)
			}
		} else if !errors.Is(err, errBadKeySet) {
			t.Errorf("cut at %d: %v, want errBadKeySet", n, err)
		}
	}
}

func FuzzDecodeTally(f *testing.F) {
	f.Add(encodeTally([]Key{{Key: event.Hash{1}, Repeats: 2, Summary: "x"}}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := decodeTally("uni", b, time.Time{})
		if err != nil && !errors.Is(err, errBadKeySet) {
			t.Fatalf("error %v is not errBadKeySet", err)
		}
		if err == nil {
			if again, err := decodeTally("uni", encodeTally(out), time.Time{}); err != nil || len(again) != len(out) {
				t.Fatalf("round trip of %d entries: %d, %v", len(out), len(again), err)
			}
		}
	})
}

// TestToldSetsByOrgMatchesGrouping compares toldSetsByOrg with grouping
// the keys in a map, for keys that come an organisation at a time and
// for keys of organisations interleaved, with keys repeated.
func TestToldSetsByOrgMatchesGrouping(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 14))
	base := time.Date(2026, 11, 20, 6, 30, 0, 0, time.UTC)
	for round := range 300 {
		var keys []Key
		for range rng.IntN(40) {
			org := fmt.Sprintf("org-%d", rng.IntN(6))
			for range 1 + rng.IntN(4) {
				keys = append(keys, Key{Org: org, Key: event.Hash{byte(rng.IntN(8))},
					FirstSent: base.Add(time.Duration(rng.IntN(100)) * time.Second), Expires: base.Add(time.Duration(rng.IntN(100)) * time.Hour)})
			}
		}
		if round%2 == 0 {
			// An organisation at a time, as a commit hands them over
			// (here the last first).
			slices.SortStableFunc(keys, func(a, b Key) int { return strings.Compare(b.Org, a.Org) })
		}
		byOrg := map[string][]Key{}
		for _, k := range keys {
			byOrg[k.Org] = append(byOrg[k.Org], k)
		}
		wantOrgs := slices.Sorted(maps.Keys(byOrg))
		orgs, sets, expires := toldSetsByOrg(keys)
		if !slices.Equal(orgs, wantOrgs) {
			t.Fatalf("round %d: organisations %v, want %v", round, orgs, wantOrgs)
		}
		for i, org := range orgs {
			set, exp := encodeToldSet(byOrg[org])
			if !bytes.Equal(sets[i], set) || !expires[i].Equal(exp) {
				t.Fatalf("round %d: the set of %s differs", round, org)
			}
		}
	}
}

// TestToldSetsOfKeySets compares toldSetsOf, which encodes KeySets as
// they are, with toldSetsByOrg of the same keys as Keys (Told first),
// for organisations with a KeySet only, with Keys only and with both, with
// keys repeated.
func TestToldSetsOfKeySets(t *testing.T) {
	rng := rand.New(rand.NewPCG(39, 14))
	base := time.Date(2026, 12, 7, 6, 30, 0, 0, time.UTC)
	for round := range 300 {
		var (
			keys []Key
			sets []KeySet
		)
		for range rng.IntN(6) {
			org := fmt.Sprintf("org-%d", rng.IntN(8))
			keys = append(keys, Key{Org: org, Key: event.Hash{byte(rng.IntN(8))}, FirstSent: base, Expires: base.Add(time.Duration(1+rng.IntN(9)) * time.Hour)})
		}
		orgs := rng.Perm(8)[:rng.IntN(8)]
		for _, o := range orgs {
			s := KeySet{Org: fmt.Sprintf("org-%d", o), FirstSent: base.Add(time.Minute), Expires: base.Add(24 * time.Hour)}
			for range rng.IntN(5) {
				s.Keys = append(s.Keys, event.Hash{byte(rng.IntN(8)), byte(rng.IntN(2))})
			}
			sets = append(sets, s)
		}
		all := slices.Clone(keys)
		for _, s := range sets {
			for _, k := range s.Keys {
				all = append(all, Key{Org: s.Org, Key: k, FirstSent: s.FirstSent, Expires: s.Expires})
			}
		}
		type set struct {
			b       []byte
			expires time.Time
		}
		collect := func(orgs []string, sets [][]byte, expires []time.Time) map[string]set {
			m := map[string]set{}
			for i, org := range orgs {
				if _, twice := m[org]; twice {
					t.Fatalf("round %d: %s has two sets", round, org)
				}
				m[org] = set{sets[i], expires[i]}
			}
			return m
		}
		got, want := collect(toldSetsOf(keys, sets)), collect(toldSetsByOrg(all))
		if len(got) != len(want) {
			t.Fatalf("round %d: %d sets, want %d", round, len(got), len(want))
		}
		for org, w := range want {
			if g := got[org]; !bytes.Equal(g.b, w.b) || !g.expires.Equal(w.expires) {
				t.Fatalf("round %d: the set of %s is %x until %v, want %x until %v", round, org, g.b, g.expires, w.b, w.expires)
			}
		}
	}
}

// TestToldSetSharedTimes: a pass's keys, which share their times, are
// written 32 bytes a key (version 2); sets in the 48-byte form (version
// 1, written before, or merged) are still read, beside them.
func TestToldSetSharedTimes(t *testing.T) {
	base := time.Date(2026, 11, 20, 6, 30, 0, 0, time.UTC)
	first, expires := base, base.Add(24*time.Hour)
	var keys []Key
	for _, b := range []byte{9, 3, 5, 7} {
		keys = append(keys, Key{Org: "uni", Key: event.Hash{b, 0xbb}, FirstSent: first, Expires: expires})
	}
	b, latest := encodeToldSet(keys)
	set := toldSet(b)
	if len(b) != toldHeader+4*toldKey || !set.shared() || !set.Valid() || set.Len() != 4 || !latest.Equal(expires) {
		t.Fatalf("%d bytes (shared %v, valid %v), %d keys, latest %v; want %d bytes", len(b), set.shared(), set.Valid(), set.Len(), latest, toldHeader+4*toldKey)
	}
	for _, k := range keys {
		got, ok := set.Find("uni", k.Key)
		if !ok || got != k {
			t.Errorf("Find(%x) = %+v, %v; want %+v", k.Key[:2], got, ok, k)
		}
	}
	if _, ok := set.Find("uni", event.Hash{4, 0xbb}); ok {
		t.Error("Find of a missing key found it")
	}
	// The same keys in version 1's form, as an older build wrote them.
	var old []byte
	for _, k := range slices.SortedFunc(slices.Values(keys), func(a, b Key) int { return bytes.Compare(a.Key[:], b.Key[:]) }) {
		old = append(old, k.Key[:]...)
		old = binary.BigEndian.AppendUint64(old, uint64(k.FirstSent.UnixMicro()))
		old = binary.BigEndian.AppendUint64(old, uint64(k.Expires.UnixMicro()))
	}
	if o := toldSet(old); o.shared() || !o.Valid() || !slices.Equal(o.All("uni"), set.All("uni")) {
		t.Errorf("the 48-byte form reads %+v, the 32-byte form %+v", o.All("uni"), set.All("uni"))
	}
	for n := 1; n < len(b); n++ {
		if c := toldSet(b[:n]); c.shared() != (n >= toldHeader && (n-toldHeader)%toldKey == 0) {
			t.Errorf("a set cut to %d bytes: shared %v", n, c.shared())
		}
	}
	// A newer set told again key 3; merged, the newer times count, and a
	// set of keys with times of their own is in the 48-byte form.
	newer, _ := encodeToldSet([]Key{{Org: "uni", Key: event.Hash{3, 0xbb}, FirstSent: base.Add(time.Hour), Expires: expires.Add(time.Hour)}})
	found := findTold([]toldSet{newer, old, b}, "uni", []event.Hash{{3, 0xbb}, {9, 0xbb}}, base)
	if len(found) != 2 || !found[event.Hash{3, 0xbb}].FirstSent.Equal(base.Add(time.Hour)) {
		t.Errorf("findTold = %+v, want key 3 from the newer set", found)
	}
	merged, _ := mergeToldSets("uni", []toldSet{b, newer}, base)
	if m := toldSet(merged); m.shared() || m.Len() != 4 {
		t.Errorf("merged: %d keys, shared %v; want 4 in the 48-byte form", m.Len(), m.shared())
	}
}

// BenchmarkEncodeToldSet encodes the set of an organisation told a
// hundred observations at once, as a morning's digest does.
func BenchmarkEncodeToldSet(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Date(2026, 11, 20, 6, 30, 0, 0, time.UTC)
	keys := make([]Key, 100)
	for i := range keys {
		for j := range keys[i].Key {
			keys[i].Key[j] = byte(rng.IntN(256))
		}
		keys[i].Org, keys[i].FirstSent, keys[i].Expires = "uni", now, now.Add(24*time.Hour)
	}
	for b.Loop() {
		encodeToldSet(keys)
	}
}

// FuzzToldSet: a stored set, damaged or not, is searched and listed
// without a panic; one that is valid lists Len keys, and a set as
// encodeToldSet writes it finds each key it lists.
func FuzzToldSet(f *testing.F) {
	base := time.Date(2026, 11, 20, 6, 30, 0, 0, time.UTC)
	shared, _ := encodeToldSet([]Key{{Key: event.Hash{3}, FirstSent: base, Expires: base.Add(time.Hour)}, {Key: event.Hash{1}, FirstSent: base, Expires: base.Add(time.Hour)}})
	own, _ := encodeToldSet([]Key{{Key: event.Hash{2}, FirstSent: base, Expires: base.Add(time.Hour)}, {Key: event.Hash{1}, FirstSent: base, Expires: base.Add(2 * time.Hour)}})
	f.Add(shared)
	f.Add(own)
	f.Add([]byte{toldSetVersion})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		set := toldSet(b)
		all := set.All("uni")
		if set.Valid() && len(all) != set.Len() {
			t.Fatalf("%d keys listed, Len %d", len(all), set.Len())
		}
		for _, k := range all {
			set.Find("uni", k.Key)
		}
		set.Find("uni", event.Hash{})
		// Encoded again from what it lists, every key is found.
		again, _ := encodeToldSet(all)
		for _, k := range all {
			if _, ok := toldSet(again).Find("uni", k.Key); !ok {
				t.Fatalf("key %x listed, then not found in the set encoded from the list", k.Key[:8])
			}
		}
	})
}
