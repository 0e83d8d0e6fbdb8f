package event

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestGetNearIsGet checks GetNear against Get on random events, keys
// present and absent, from every hint (right, wrong, out of range).
func TestGetNearIsGet(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 29))
	keys := []string{"destination.ip", "destination.port", "extra.a", "extra.b", "extra.tag",
		"feed.name", "raw", "source.as_name", "source.asn", "source.geolocation.cc",
		"source.geolocation.city", "source.ip", "source.network", "source.port", "time.source"}
	checked := 0
	for n := range 400 {
		e := New(len(keys))
		for _, k := range keys {
			if rng.IntN(3) > 0 {
				e.SetTrusted(k, fmt.Sprint(k, n))
			}
		}
		if n%4 == 0 {
			e.SetRaw([]byte(fmt.Sprint("line ", n)))
		}
		for _, k := range append(keys, "", "a", "extra.", "zzz", "source.geolocation") {
			want, wantOK := e.Get(k)
			for at := -2; at <= e.Len()+2; at++ {
				hint := at
				got, ok := e.GetNear(k, &hint)
				if got != want || ok != wantOK {
					t.Fatalf("event %d, %q from %d: %q %v, want %q %v", n, k, at, got, ok, want, wantOK)
				}
				if e.HasNear(k, &hint) != wantOK {
					t.Fatalf("event %d, HasNear(%q) from %d != %v", n, k, hint, wantOK)
				}
				// The hint it leaves finds it again at once.
				again := hint
				if _, ok := e.GetNear(k, &again); ok != wantOK || again != hint {
					t.Fatalf("event %d, %q: hint %d moved to %d", n, k, hint, again)
				}
				checked++
			}
		}
	}
	if checked == 0 {
		t.Fatal("nothing checked")
	}
}

// TestDeleteNearIsDelete checks DeleteNear against Delete, and HashNear
// against Hash, on random events (raw held as bytes, sealed or not),
// from every hint.
func TestDeleteNearIsDelete(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 30))
	keys := []string{"destination.ip", "event_hash", "extra.a", "extra.constituency", "feed.name", "raw",
		"source.asn", "source.ip", "time.source"}
	for n := range 300 {
		e := New(len(keys))
		for _, k := range keys {
			if k != "event_hash" && rng.IntN(3) > 0 {
				e.SetTrusted(k, fmt.Sprint(k, n))
			}
		}
		if n%4 == 0 {
			e.SetRaw([]byte(fmt.Sprint("line ", n)))
		}
		switch n % 3 {
		case 0:
			e.Seal()
		case 1:
			e.Seal()
			// Read back: event_hash is a field, not the kept identity.
			d, err := DecodeRecord(AppendRecord(nil, e))
			if err != nil {
				t.Fatal(err)
			}
			e = d
		}
		for at := -2; at <= e.Len()+2; at++ {
			hint := at
			if got, want := e.HashNear(&hint), e.Hash(); got != want {
				t.Fatalf("event %d from %d: HashNear %s, Hash %s", n, at, got, want)
			}
		}
		for _, k := range append(keys, "", "zzz") {
			for at := -2; at <= e.Len()+2; at++ {
				want, got := e.Clone(), e.Clone()
				want.Delete(k)
				hint := at
				got.DeleteNear(k, &hint)
				if !slices.Equal(got.Fields(), want.Fields()) || got.Has("raw") != want.Has("raw") || got.Hash() != want.Hash() || got.Sealed() != want.Sealed() {
					t.Fatalf("event %d, DeleteNear(%q) from %d: %v, want %v", n, k, at, got.Fields(), want.Fields())
				}
			}
		}
	}
}
