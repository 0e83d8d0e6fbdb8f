package store

import "testing"

func TestCursorRoundTrip(t *testing.T) {
	for _, c := range []Cursor{{}, {TimeSource: 1714557600000000, ID: 42}, {TimeSource: -5, ID: 1 << 62}} {
		got, err := ParseCursor(c.String())
		if err != nil || got != c {
			t.Errorf("ParseCursor(%v.String()) = %v, %v", c, got, err)
		}
	}
	for _, bad := range []string{"", "x", "AAAA", "not base64!!", "AAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		if _, err := ParseCursor(bad); err == nil {
			t.Errorf("ParseCursor(%q): no error", bad)
		}
	}
}

// FuzzParseCursor: cursors come from API clients.
func FuzzParseCursor(f *testing.F) {
	f.Add(Cursor{TimeSource: 1714557600000000, ID: 42}.String())
	f.Add("")
	f.Add("AAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCursor(s)
		if err != nil {
			return
		}
		if again, err := ParseCursor(c.String()); err != nil || again != c {
			t.Fatalf("cursor %q decodes to %v, which does not round-trip", s, c)
		}
	})
}
