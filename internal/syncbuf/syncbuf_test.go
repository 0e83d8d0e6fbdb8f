package syncbuf

import (
	"strings"
	"sync"
	"testing"
)

// TestBufferKeepsEveryWrite: writes from several goroutines, read while
// they go on, all end up in the buffer whole.
func TestBufferKeepsEveryWrite(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				b.Write([]byte("line\n"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := strings.Count(b.String(), "line\n"); got != 800 {
		t.Fatalf("%d lines, want 800", got)
	}
}
