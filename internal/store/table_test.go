package store

import "testing"

func TestWindowCursorPage(t *testing.T) {
	ids := func(n int) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = int64(i + 1)
		}
		return out
	}
	top := Cursor{TimeSource: 7, ID: 9}
	// A last page: no more rows than asked for.
	if got, next := (WindowCursor{Top: top}).Page(ids(3), 5); len(got) != 3 || next != "" {
		t.Errorf("last page: %d ids, next %q", len(got), next)
	}
	// A full page with more behind it: cut, and the next page's cursor.
	got, next := (WindowCursor{Top: top, Offset: 10}).Page(ids(6), 5)
	if len(got) != 5 {
		t.Errorf("full page: %d ids, want 5", len(got))
	}
	if c, err := ParseWindowCursor(next); err != nil || c.Top != top || c.Offset != 15 {
		t.Errorf("next cursor %+v, %v; want offset 15 under the same top", c, err)
	}
	// The window ends with this page: no cursor past it.
	if _, next := (WindowCursor{Top: top, Offset: SearchWindow - 5}).Page(ids(6), 5); next != "" {
		t.Errorf("page at the end of the window gives next %q", next)
	}
}
