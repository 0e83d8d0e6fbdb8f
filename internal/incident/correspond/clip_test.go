package correspond

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// clip cuts what the audit entry keeps of a long subject or list of
// recipients without leaving half a character, which PostgreSQL refuses.
func TestClipKeepsUTF8(t *testing.T) {
	s := strings.Repeat("é", 10) // two bytes each
	for n := range 21 {
		got := clip(s, n)
		if !utf8.ValidString(got) {
			t.Errorf("clip(%d) = %q, not UTF-8", n, got)
		}
		if n < 20 && !strings.HasSuffix(got, "…") || len(got) > n+len("…") {
			t.Errorf("clip(%d) = %q", n, got)
		}
	}
}
