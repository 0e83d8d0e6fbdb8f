package event

import (
	"fmt"
	"math/rand/v2"
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
