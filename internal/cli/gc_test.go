package cli

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestMakeRoom: room raises the soft limit by as much as asked and its
// release lowers it by as much, once however often it is called; a
// process without a limit keeps none.
func TestMakeRoom(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	const base, more = 240 << 20, 100 << 20
	debug.SetMemoryLimit(base)
	release := makeRoom(more)
	if got := debug.SetMemoryLimit(-1); got != base+more {
		t.Fatalf("limit %d with room, want %d", got, base+more)
	}
	other := makeRoom(more / 2)
	release()
	release()
	if got := debug.SetMemoryLimit(-1); got != base+more/2 {
		t.Fatalf("limit %d after one release (twice), want %d", got, base+more/2)
	}
	other()
	if got := debug.SetMemoryLimit(-1); got != base {
		t.Fatalf("limit %d after both, want %d", got, base)
	}
	debug.SetMemoryLimit(math.MaxInt64)
	makeRoom(more)()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Fatalf("limit %d, want none (math.MaxInt64)", got)
	}
}
