package offheap

import (
	"runtime"
	"testing"
)

type owner struct{ rows []pair }

type pair struct {
	a int64
	b uint32
}

// TestMake: the values are zeroed and writable, as many as asked, and the
// heap does not grow by their size.
func TestMake(t *testing.T) {
	const n = 1 << 20 // 16 MiB
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	o := &owner{}
	o.rows = Make[pair](n, o)
	runtime.ReadMemStats(&after)
	if len(o.rows) != n {
		t.Fatalf("%d values, want %d", len(o.rows), n)
	}
	for i := range o.rows {
		if o.rows[i] != (pair{}) {
			t.Fatalf("value %d is %+v, not zero", i, o.rows[i])
		}
		o.rows[i] = pair{int64(i), uint32(i)}
	}
	if o.rows[n-1].a != n-1 {
		t.Fatal("the last value was not kept")
	}
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > n*16/2 {
		t.Errorf("the heap grew by %d bytes for %d bytes off it", grew, n*16)
	}
	runtime.KeepAlive(o)
	if Make[pair](0, o) != nil {
		t.Error("Make(0) is not nil")
	}
}
