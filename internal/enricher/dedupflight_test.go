package enricher

import (
	"math/rand/v2"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// TestFlightTableMatchesMap holds flightTable to the map it replaced
// through random puts, look-ups, removals (by ID, at a found slot, of
// expired claims) and growth, with IDs from a small set so that the same
// ones come back, differing in one byte or in many, so that runs of
// claims form, wrap around the table's end and are cut in their middle.
func TestFlightTableMatchesMap(t *testing.T) {
	owners := []*pipeline.Batch{{}, {}, {}}
	for _, seed := range []uint64{1, 2, 3, 4} {
		rng := rand.New(rand.NewPCG(seed, 9))
		ids := make([]dedupID, 300)
		for i := range ids {
			if seed%2 == 0 {
				ids[i][15] = byte(i) // IDs a byte apart
				ids[i][0] = byte(i >> 8)
			} else {
				for j := range ids[i] {
					ids[i][j] = byte(rng.Uint32())
				}
			}
		}
		var table flightTable
		want := map[dedupID]flightClaim{}
		for step := range 40000 {
			id := &ids[rng.IntN(len(ids))]
			switch op := rng.IntN(10); {
			case op < 4:
				c := flightClaim{owner: owners[rng.IntN(len(owners))], expires: uint32(rng.IntN(100))}
				table.put(id, c)
				want[*id] = c
			case op < 7:
				table.remove(id)
				delete(want, *id)
			case op < 9:
				// endFlight's way: remove at the slot found.
				if i, ok := table.find(id); ok {
					table.removeAt(i)
				}
				delete(want, *id)
			default:
				now := uint32(rng.IntN(100))
				if step%50 == 0 {
					table.removeExpired(now)
					for k, c := range want {
						if c.expires <= now {
							delete(want, k)
						}
					}
				}
			}
			// Reading ahead reads, and changes nothing.
			keys := []event.Hash{{}, {}}
			copy(keys[1][:], id[:])
			table.touch(keys, []int32{0, 1})
			if table.n != len(want) {
				t.Fatalf("seed %d step %d: %d claims, want %d", seed, step, table.n, len(want))
			}
			for i := range ids {
				got, ok := table.get(&ids[i])
				w, wok := want[ids[i]]
				if ok != wok || got != w {
					t.Fatalf("seed %d step %d: claim of %x is %v %v, want %v %v", seed, step, ids[i], got, ok, w, wok)
				}
			}
		}
		if len(table.slots) > 4*len(ids) {
			t.Errorf("seed %d: %d slots for at most %d claims", seed, len(table.slots), len(ids))
		}
	}
}
