package sqlitestore

import (
	"cmp"
	"slices"
)

// topHits keeps the first k hits in the order of the search: a heap whose
// root is the last of them, so that a hit is taken or refused in O(log k)
// whatever order the hits come in (a hot partition offers its entries in
// id order, the reverse of a newest-first search's), and one sort at the
// end.
type topHits struct {
	k    int
	asc  bool
	heap []partHit      // the root, heap[0], is the last in the order
	ids  map[int64]bool // the ids in heap: both sides of a partition offer a hit
	// moves counts the hits written into the heap (tests: the cost stays
	// O(log k) an offer).
	moves int
}

// compare orders hits as the search does: newest first, or oldest first
// with asc; ties by id.
func (t *topHits) compare(a, b partHit) int {
	c := cmp.Or(cmp.Compare(b.ts, a.ts), cmp.Compare(b.id, a.id))
	if t.asc {
		return -c
	}
	return c
}

func (t *topHits) full() bool { return len(t.heap) >= t.k }

// worst is the last hit kept; top must not be empty.
func (t *topHits) worst() partHit { return t.heap[0] }

// offer keeps h if it is among the first k so far. again says h may have
// been offered before (a sealed partition asked by both sides); a hot
// partition's entries are offered once each, and skip the map.
func (t *topHits) offer(h partHit, again bool) {
	if t.k <= 0 || (t.full() && t.compare(h, t.heap[0]) >= 0) {
		return
	}
	if again && t.ids == nil {
		t.ids = make(map[int64]bool, len(t.heap)+1)
		for _, k := range t.heap {
			t.ids[k.id] = true
		}
	}
	if t.ids != nil {
		if t.ids[h.id] {
			return
		}
		t.ids[h.id] = true
	}
	if t.full() {
		if t.ids != nil {
			delete(t.ids, t.heap[0].id)
		}
		t.heap[0] = h
		t.moves++
		t.down(0)
		return
	}
	t.heap = append(t.heap, h)
	t.moves++
	t.up(len(t.heap) - 1)
}

// up and down restore the heap: a parent comes later in the order than
// its children.
func (t *topHits) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if t.compare(t.heap[parent], t.heap[i]) >= 0 {
			return
		}
		t.heap[parent], t.heap[i] = t.heap[i], t.heap[parent]
		t.moves += 2
		i = parent
	}
}

func (t *topHits) down(i int) {
	n := len(t.heap)
	for {
		last := i
		if l := 2*i + 1; l < n && t.compare(t.heap[l], t.heap[last]) > 0 {
			last = l
		}
		if r := 2*i + 2; r < n && t.compare(t.heap[r], t.heap[last]) > 0 {
			last = r
		}
		if last == i {
			return
		}
		t.heap[i], t.heap[last] = t.heap[last], t.heap[i]
		t.moves += 2
		i = last
	}
}

// sorted returns the hits kept, first first.
func (t *topHits) sorted() []partHit {
	out := slices.Clone(t.heap)
	slices.SortFunc(out, t.compare)
	return out
}
