package shadowserver

import (
	"bytes"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
)

// FuzzQuickJSONString holds the quick path to event.AppendJSONString's
// bytes, and plainJSONText to never accept text that needs an escape.
func FuzzQuickJSONString(f *testing.F) {
	for _, s := range []string{"", "plain text of some length", "TLSv1.2", "a\"b", "back\\slash", "tab\there",
		"\x00", "\x1f1234567", "1234567\x7f", "caf\xc3\xa9 12345678", "\xff", "\u2028 separator", "12345678\"", "12345678\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := event.AppendJSONString([]byte("x"), s)
		if got := appendJSONString([]byte("x"), s); !bytes.Equal(got, want) {
			t.Fatalf("appendJSONString(%q) = %q, want %q", s, got, want)
		}
		if plainJSONText(s) && !bytes.Equal(want[1:], []byte(`"`+s+`"`)) {
			t.Fatalf("plainJSONText(%q) is true, but the text needs escaping: %s", s, want[1:])
		}
	})
}

func BenchmarkAppendJSONString(b *testing.B) {
	cells := []string{"srv783.example.org", "sha256WithRSAEncryption", "069d64f4fbb7eefd8bdd6c7fa8882b85f704a6c8f1023f5d156067a44360ec90", "TLSv1.2", "Healthcare"}
	var buf []byte
	b.Run("event", func(b *testing.B) {
		for b.Loop() {
			buf = buf[:0]
			for _, c := range cells {
				buf = event.AppendJSONString(buf, c)
			}
		}
	})
	b.Run("shadowserver", func(b *testing.B) {
		for b.Loop() {
			buf = buf[:0]
			for _, c := range cells {
				buf = appendJSONString(buf, c)
			}
		}
	})
}
