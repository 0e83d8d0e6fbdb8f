package hashset

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vigil-cert/vigil/internal/cputime"
)

// key is the i-th of a sequence of random-looking keys.
func key(i uint64) uint64 {
	z := i*0x9e3779b97f4a7c15 + 0x632be59bd9b4e019
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// names reports whether Admit names part for key.
func names(s *Set, key uint64, part int64) bool {
	found := false
	s.Admit(key, func(ps []int64) bool {
		found = slices.Contains(ps, part)
		return !found
	})
	return found
}

// TestFalsePositives fills a set's first layer to its capacity and asks
// it as many keys not added: every key added is found, its partition
// named, and the layer's blocks admit at most 0.25 % of the others (about
// 0.18 % at bitsPerKey; its tags then name a partition for few of those,
// TestTags).
func TestFalsePositives(t *testing.T) {
	s := New(0)
	l := (*s.layers.Load())[0]
	n := l.capacity
	keys := make([]uint64, n)
	for i := range keys {
		keys[i] = key(uint64(i))
	}
	s.Add(keys, 1)
	if l := len(*s.layers.Load()); l != 1 {
		t.Fatalf("%d layers after %d keys, want 1", l, n)
	}
	if got := s.Len(); got != n {
		t.Fatalf("Len = %d after %d keys", got, n)
	}
	false_ := 0
	for i := range n {
		if !names(s, keys[i], 1) {
			t.Fatalf("key %d added, not found", i)
		}
		if l.has(key(uint64(n + i))) {
			false_++
		}
	}
	if limit := n * 25 / 10000; int64(false_) > limit {
		t.Errorf("%d false positives of %d, want at most %d", false_, n, limit)
	}
	t.Logf("%d false positives of %d (%.3f %%)", false_, n, 100*float64(false_)/float64(n))
}

// TestNewCapacity: a set made for some keys holds them and a quarter
// more in its first layer, at least minKeys.
func TestNewCapacity(t *testing.T) {
	for _, c := range []struct{ keys, want int64 }{{0, minKeys}, {minKeys / 2, minKeys}, {4 * minKeys, 5 * minKeys}} {
		if got := (*New(c.keys).layers.Load())[0].capacity; got != c.want {
			t.Errorf("New(%d): first layer of %d keys, want %d", c.keys, got, c.want)
		}
	}
}

// TestLayers adds four times a first layer's capacity and one key more,
// as partitions of half a first layer's capacity: the set grows by layers
// of half its capacity (at least a first layer's), finds every key added,
// and each layer lists the partitions whose keys it holds. Of as many
// keys not added, each is admitted by the blocks of layers listing at
// most 0.25 % of the partitions on average, however many layers there
// are, while the set's blocks as a whole admit more (about 0.18 % a full
// layer); the tags then name fewer (TestTags).
func TestLayers(t *testing.T) {
	s := New(0)
	first := (*s.layers.Load())[0].capacity
	n := 4*first + 1
	keys := make([]uint64, n)
	part := func(i int64) int64 { return 1 + i/(first/2) }
	for i := range keys {
		keys[i] = key(uint64(i))
	}
	for start := int64(0); start < n; {
		end := min(start+first/2, n)
		for c := start; c < end; c += 100_000 {
			s.Add(keys[c:min(c+100_000, end)], part(start))
		}
		start = end
	}
	layers := *s.layers.Load()
	var capacity int64
	for i, l := range layers {
		want := first
		if i > 0 {
			want = max(capacity/growth, minKeys)
		}
		if l.capacity != want {
			t.Errorf("layer %d: capacity %d, want %d", i, l.capacity, want)
		}
		capacity += l.capacity
	}
	if capacity < n || capacity-layers[len(layers)-1].capacity >= n {
		t.Errorf("capacity %d for %d keys: a layer too many or too few", capacity, n)
	}
	if len(layers) != 4 {
		t.Errorf("%d layers, want 4", len(layers))
	}
	parts := part(n - 1)
	held := map[int64]bool{}
	for i, l := range layers {
		for _, p := range *l.parts.Load() {
			held[p] = true
			if p < 1 || p > parts {
				t.Errorf("layer %d lists partition %d", i, p)
			}
		}
	}
	if len(held) != int(parts) {
		t.Errorf("the layers list %d partitions, want %d", len(held), parts)
	}
	var admitted, asked int64
	for i := range n {
		if !names(s, keys[i], part(i)) {
			t.Fatalf("key %d added, its partition %d not named", i, part(i))
		}
		seen := map[int64]bool{}
		for _, l := range layers {
			if l.has(key(uint64(n + i))) {
				for _, p := range *l.parts.Load() {
					seen[p] = true
				}
			}
		}
		if len(seen) > 0 {
			admitted++
		}
		asked += int64(len(seen))
	}
	if limit := n * parts * 25 / 10000; asked > limit {
		t.Errorf("%d partitions asked for %d absent keys of %d partitions, want at most %d", asked, n, parts, limit)
	}
	t.Logf("%d of %d absent keys admitted (%.3f %%), asking %.3f %% of the partitions on average",
		admitted, n, 100*float64(admitted)/float64(n), 100*float64(asked)/float64(n*parts))
}

// TestAskWhileAdding asks keys added before while another goroutine adds
// keys of partitions after, across the growth of a layer: no lookup waits
// for the adds, and each names its key's partition (a lookup that sees a
// key's bits sees its partition listed and its tag).
func TestAskWhileAdding(t *testing.T) {
	s := New(0)
	const chunk = 1 << 16
	first := (*s.layers.Load())[0].capacity
	total := 2*first + chunk
	keys := make([]uint64, total)
	for i := range keys {
		keys[i] = key(uint64(i))
	}
	s.Add(keys[:chunk], 0)
	var wg sync.WaitGroup
	wg.Go(func() {
		for at := int64(chunk); at < total; at += chunk {
			s.Add(keys[at:at+chunk], at/chunk)
		}
	})
	for range 2 {
		wg.Go(func() {
			for i := range 4 * chunk {
				if !names(s, keys[i%chunk], 0) {
					t.Errorf("key %d of partition 0 not found while adding", i%chunk)
					return
				}
			}
		})
	}
	wg.Wait()
	if l := len(*s.layers.Load()); l < 2 {
		t.Errorf("%d layers after %d keys, want the set grown", l, total)
	}
	for i := range total {
		if !names(s, keys[i], i/chunk) {
			t.Fatalf("key %d added, its partition %d not named", i, i/chunk)
		}
	}
}

// TestAskTheKeyBeingAdded asks each key while another goroutine adds it:
// the moment a lookup finds the key's bits, its layer names the key's
// partition (its tag is set before its bits), not none or only others.
// The asker waits for each key's bits, so that it asks
// within the few nanoseconds after they are set.
func TestAskTheKeyBeingAdded(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs the adder and the asker running at once")
	}
	s := New(0)
	l := (*s.layers.Load())[0]
	const n, parts = 5000, 16
	var (
		next  atomic.Int64 // the key the adder is about to add, once the asker waits for it
		asked atomic.Int64 // the key the asker waits for
	)
	asked.Store(-1)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range int64(n) {
			next.Store(i)
			for asked.Load() != i {
			}
			s.Add([]uint64{key(uint64(i))}, i%parts)
		}
	})
	missed := 0
	for i := range int64(n) {
		for next.Load() != i {
		}
		k := key(uint64(i))
		if l.has(k) {
			// Admitted before it is added (a false positive): its
			// partition may not be named yet.
			asked.Store(i)
			continue
		}
		asked.Store(i)
		for !l.has(k) {
		}
		if !names(s, k, i%parts) {
			missed++
		}
	}
	wg.Wait()
	if missed > 0 {
		t.Errorf("%d of %d keys admitted while being added without their partition named", missed, n)
	}
}

// BenchmarkHas asks a set of four layers keys it does not hold: the cost
// of an absent hash's lookup, a cache line a layer; and keys it holds
// (added=true), in partitions of half a first layer's keys: a stored
// hash's lookup, a line more for its layer's tags.
func BenchmarkHas(b *testing.B) {
	for _, added := range []bool{false, true} {
		b.Run(fmt.Sprintf("added=%v", added), func(b *testing.B) {
			s := New(0)
			first := (*s.layers.Load())[0].capacity
			keys := make([]uint64, 4*first)
			for i := range keys {
				keys[i] = key(uint64(i))
			}
			for at := int64(0); at < int64(len(keys)); at += first / 2 {
				s.Add(keys[at:at+first/2], at/(first/2))
			}
			ask := func(i int) uint64 { return key(uint64(len(keys) + i)) }
			if added {
				ask = func(i int) uint64 { return keys[i%len(keys)] }
			}
			n, i := 0, 0
			for b.Loop() {
				s.Admit(ask(i), func(ps []int64) bool {
					n += len(ps)
					return true
				})
				i++
			}
		})
	}
}

// BenchmarkStoreSet times a set of a store of 10 million events in
// partitions of 524,288 as a writer uses it: "fill" adds the keys, a
// partition at a time, "lookup" asks the full set keys it does not hold,
// as the duplicate check asks of every new event. Two shapes: "grown",
// from New(0) as a store that started empty grows it (layers of 1, 1, 1,
// 1.5, 2.25 and 3.375 × 2^20 keys: 1.75–5.9 MiB of blocks), and
// "opened", New(10 million) as a store opened over them makes it (one
// layer: 20.9 MiB of blocks, 11.9 MiB of tags). Both report the process's CPU a key,
// which counts the kernel's page faults.
func BenchmarkStoreSet(b *testing.B) {
	const keys, partKeys = 10_000_000, 524_288
	fill := func(s *Set) *Set {
		batch := make([]uint64, partKeys)
		for at := 0; at < keys; at += partKeys {
			batch = batch[:min(partKeys, keys-at)]
			for i := range batch {
				batch[i] = key(uint64(at + i))
			}
			s.Add(batch, int64(at/partKeys))
		}
		return s
	}
	for _, shape := range []struct {
		name  string
		start int64
	}{{"grown", 0}, {"opened", keys}} {
		b.Run(shape.name+"/fill", func(b *testing.B) {
			added, cpu := 0, cputime.Process()
			for b.Loop() {
				runtime.KeepAlive(fill(New(shape.start)))
				added += keys
			}
			b.ReportMetric(float64((cputime.Process()-cpu).Nanoseconds())/float64(added), "cpu-ns/key")
		})
		b.Run(shape.name+"/lookup", func(b *testing.B) {
			s := fill(New(shape.start))
			named, asked, cpu := 0, 0, cputime.Process()
			for b.Loop() {
				s.Admit(key(uint64(keys+asked)), func(ps []int64) bool {
					named += len(ps)
					return true
				})
				asked++
			}
			b.ReportMetric(float64((cputime.Process()-cpu).Nanoseconds())/float64(asked), "cpu-ns/lookup")
		})
	}
}

// TestTags fills a set's first layer to its capacity with the keys of 16
// partitions and asks every key added and as many not added: an added
// key's layer names its partition, and each other partition about 2.5 %
// of the time (at most 3.5 %); a key not added is admitted by the layer's
// blocks about 0.18 % of the time (TestFalsePositives), and then names
// each partition about 2.5 % of the time, so that it asks at most 0.01 %
// of the partitions on average.
func TestTags(t *testing.T) {
	s := New(0)
	n := (*s.layers.Load())[0].capacity
	const parts = 16
	part := func(i int64) int64 { return 100 + i*parts/n }
	keys := make([]uint64, n)
	for i := range keys {
		keys[i] = key(uint64(i))
	}
	for p := range int64(parts) {
		s.Add(keys[p*n/parts:(p+1)*n/parts], part(p*n/parts))
	}
	if l := len(*s.layers.Load()); l != 1 {
		t.Fatalf("%d layers after %d keys, want 1", l, n)
	}
	var others, admitted, asked int64
	for i := range n {
		found := false
		s.Admit(keys[i], func(ps []int64) bool {
			for _, p := range ps {
				if p == part(i) {
					found = true
				} else {
					others++
				}
			}
			return true
		})
		if !found {
			t.Fatalf("key %d added, its partition %d not named", i, part(i))
		}
		s.Admit(key(uint64(n+i)), func(ps []int64) bool {
			if len(ps) == 0 {
				t.Fatal("Admit called with no partition")
			}
			admitted++
			asked += int64(len(ps))
			return true
		})
	}
	if limit := n * (parts - 1) * 35 / 1000; others > limit {
		t.Errorf("%d other partitions named for %d keys added, want at most %d", others, n, limit)
	}
	if limit := n * parts / 10000; asked > limit {
		t.Errorf("%d partitions asked for %d absent keys of %d partitions, want at most %d", asked, n, parts, limit)
	}
	t.Logf("keys added name %.3f %% of the other partitions; absent keys: %.4f %% named a partition, asking %.5f %% of the partitions on average",
		100*float64(others)/float64(n*(parts-1)), 100*float64(admitted)/float64(n), 100*float64(asked)/float64(n*parts))
}
