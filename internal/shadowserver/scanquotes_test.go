package shadowserver

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// scanQuotesByByte is scanQuotes as it was, walking every byte: the
// reference the quote-to-quote scanQuotes is checked against.
// (scanQuotes advances the state over b. Only a quote at the start of a
// cell opens a quoted cell, exactly as splitRecord reads it, so a stray
// quote in a plain cell (a 5" monitor) does not swallow the next line.
func scanQuotesByByte(b []byte, st quoteState) quoteState {
	if st != inQuoted && st != quoteSeen && bytes.IndexByte(b, '"') < 0 {
		// The common case: no quotes at all.
		if len(b) == 0 {
			return st
		}
		if last := b[len(b)-1]; last == '\n' || last == ',' {
			return cellStart
		}
		return inPlain
	}
	for _, c := range b {
		switch st {
		case cellStart:
			switch c {
			case '"':
				st = inQuoted
			case ',', '\n':
			default:
				st = inPlain
			}
		case inPlain:
			if c == ',' || c == '\n' {
				st = cellStart
			}
		case inQuoted:
			if c == '"' {
				st = quoteSeen
			}
		case quoteSeen:
			switch c {
			case '"':
				st = inQuoted
			case ',', '\n':
				st = cellStart
			default:
				st = inPlain // broken quoting; splitRecord rejects the row
			}
		}
	}
	return st
}

// TestScanQuotesAsByByte: scanQuotes ends in the state walking every
// byte ends in, from every state, for random lines of commas, quotes,
// line breaks and letters, and for a few written by hand.
func TestScanQuotesAsByByte(t *testing.T) {
	check := func(b []byte) {
		t.Helper()
		for st := cellStart; st <= quoteSeen; st++ {
			if got, want := scanQuotes(b, st), scanQuotesByByte(b, st); got != want {
				t.Fatalf("scanQuotes(%q, %d) = %d, walking every byte %d", b, st, got, want)
			}
		}
	}
	for _, s := range []string{"", "\"", "\"\"", ",", "\n", "a", "a\"b", "\"a,b\",c\n", "\"a\"\"b\",\"", "x,\"a\nb", "5\" monitor,\"x\"\n", "\"a\"b,\"c", ",\"", "\n\"x"} {
		check([]byte(s))
	}
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte(",\"\na\r")
	b := make([]byte, 0, 40)
	for range 200000 {
		b = b[:0]
		for range rng.IntN(40) {
			b = append(b, alphabet[rng.IntN(len(alphabet))])
		}
		check(b)
	}
}

// FuzzScanQuotes: scanQuotes agrees with walking every byte.
func FuzzScanQuotes(f *testing.F) {
	f.Add([]byte("a,\"b,\"\"c\"\",d\n"), uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, st uint8) {
		s := quoteState(st % 4)
		if got, want := scanQuotes(b, s), scanQuotesByByte(b, s); got != want {
			t.Fatalf("scanQuotes(%q, %d) = %d, walking every byte %d", b, s, got, want)
		}
	})
}
