package sqlitestore

import (
	"math/rand/v2"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
)

// TestFirstHashes: the first of each hash of a batch is found, and only
// it, as a map of the hashes finds it: batches of every size to a few
// thousand, with repeats near and far, and hashes whose first 8 bytes
// (the table's key) are the same but not the rest.
func TestFirstHashes(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for _, n := range []int{0, 1, 2, 7, 8, 9, 100, 2000, 5000} {
		hashes := make([]event.Hash, n)
		for i := range hashes {
			switch {
			case i > 0 && r.IntN(4) == 0: // a repeat of an earlier one
				hashes[i] = hashes[r.IntN(i)]
			case i > 0 && r.IntN(4) == 0: // an earlier one's first 8 bytes
				hashes[i] = hashes[r.IntN(i)]
				hashes[i][8+r.IntN(24)] ^= 1 << r.IntN(8)
			default:
				for j := range hashes[i] {
					hashes[i][j] = byte(r.Uint32())
				}
			}
		}
		seen := map[event.Hash]bool{}
		f := newFirstHashes(n)
		for i, h := range hashes {
			want := !seen[h]
			seen[h] = true
			if got := f.first(hashes, i); got != want {
				t.Fatalf("batch of %d, hash %d: first %v, want %v", n, i, got, want)
			}
		}
	}
}
