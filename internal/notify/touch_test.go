package notify

import "testing"

// TestTouchRecords: touchRecords reads a byte of every 64 of each record
// it is given, gone ones left out, so that every cache line of them is
// asked for.
func TestTouchRecords(t *testing.T) {
	page := make([]byte, 300)
	for i := range page {
		page[i] = byte(i * 7)
	}
	pages := []string{string(page), "\x01\x02"}
	at := []recordAt{{page: 0, start: 10, end: 140}, {page: -1}, {page: 1, start: 1, end: 2}, {page: 0, start: 200, end: 201}}
	var want byte
	for _, a := range at {
		if a.page < 0 {
			continue
		}
		for k := a.start; k < a.end; k += 64 {
			want ^= pages[a.page][k]
		}
	}
	if got := touchRecords(pages, at); got != want {
		t.Fatalf("touchRecords = %#x, want %#x", got, want)
	}
	if got := touchRecords(pages, nil); got != 0 {
		t.Fatalf("touchRecords of none = %#x, want 0", got)
	}
}
