package notify

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// TestByTypeAsCopied checks byType against grouping every event by type
// (what it did before it kept only the first rows): the same types in the
// same order, each with its count, its identifiers in the order they
// first occur, each once, and its first rows events in their order.
func TestByTypeAsCopied(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 40))
	types := []string{"scanner", "vulnerable-system", "", "infected-system", "ddos-amplifier"}
	for round := range 50 {
		n := rng.IntN(400)
		events := make([]store.StoredEvent, n)
		for i := range events {
			e := event.New(4)
			if typ := types[rng.IntN(len(types))]; typ != "" || rng.IntN(2) == 0 {
				e.Set("classification.type", typ)
			}
			// Up to 40 identifiers a round, so that a type has more than
			// has() keeps in its list; some events have none.
			if k := rng.IntN(41); k > 0 {
				e.Set("classification.identifier", fmt.Sprintf("id-%02d", k))
			}
			e.Set("source.ip", fmt.Sprintf("192.0.2.%d", i%256))
			events[i] = store.StoredEvent{Event: e}
		}
		rows := rng.IntN(12)
		got := byType(events, rows)

		// The grouping it replaced: every event copied into its type's group.
		var want []typeGroup
		var all [][]store.StoredEvent
		for _, se := range events {
			typ := se.Event.Value("classification.type")
			g := slices.IndexFunc(want, func(g typeGroup) bool { return g.typ == typ })
			if g < 0 {
				g = len(want)
				want = append(want, typeGroup{typ: typ})
				all = append(all, nil)
			}
			all[g] = append(all[g], se)
		}
		for g := range want {
			want[g].count = len(all[g])
			want[g].shown = all[g][:min(len(all[g]), rows)]
			seen := map[string]bool{}
			for _, se := range all[g] {
				if id := se.Event.Value("classification.identifier"); id != "" && !seen[id] {
					seen[id] = true
					want[g].identifiers = append(want[g].identifiers, id)
				}
			}
		}
		if len(got) != len(want) {
			t.Fatalf("round %d: %d groups, want %d", round, len(got), len(want))
		}
		for g := range want {
			w, h := want[g], got[g]
			if h.typ != w.typ || h.count != w.count || !slices.Equal(h.identifiers, w.identifiers) || len(h.shown) != len(w.shown) {
				t.Fatalf("round %d group %d: %q %d %v %d shown, want %q %d %v %d shown", round, g,
					h.typ, h.count, h.identifiers, len(h.shown), w.typ, w.count, w.identifiers, len(w.shown))
			}
			for i := range w.shown {
				if h.shown[i].Event != w.shown[i].Event {
					t.Fatalf("round %d group %d: shown event %d differs", round, g, i)
				}
			}
		}
	}
}
