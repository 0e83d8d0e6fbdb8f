package offheap

import (
	"runtime"
	"slices"
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

// TestFilePut: tables put into a File read back as written, in order,
// each of its length, after the file is closed too; an empty one stays
// empty.
func TestFilePut(t *testing.T) {
	f, err := CreateFile(t.TempDir())
	if !canMapFiles {
		if err == nil {
			t.Fatal("CreateFile succeeded where files cannot be mapped")
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	o := &owner{}
	a := make([]uint64, 1000)
	b := make([]uint64, 3)
	for i := range a {
		a[i] = uint64(i) * 0x9e3779b97f4a7c15
	}
	b[0], b[2] = 7, 9
	var got [][][]uint64
	for range 3 { // later tables start past the earlier ones
		out, err := Put(f, o, a, nil, b)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, out := range got {
		if len(out) != 3 || len(out[1]) != 0 {
			t.Fatalf("%d tables, the empty one of %d", len(out), len(out[1]))
		}
		for i, want := range [][]uint64{a, nil, b} {
			if !slices.Equal(out[i], want) {
				t.Fatalf("table %d reads %v, want %v", i, out[i][:min(len(out[i]), 4)], want[:min(len(want), 4)])
			}
		}
	}
	runtime.KeepAlive(o)
	if _, err := Put(f, o, a); err == nil {
		t.Error("Put into a closed file succeeded")
	}
}
