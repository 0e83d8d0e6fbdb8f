package notify

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// reflowReference is reflow as first written, line slices and all: the
// reference the one-pass reflow must match.
func reflowReference(text string, width int) string {
	lines := strings.Split(text, "\n")
	out := make([]string, 0, len(lines))
	var para []string
	words := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' })
	}
	wrapWords := func(words []string, width int) []string {
		var lines []string
		var b strings.Builder
		n := 0
		for _, w := range words {
			wl := utf8.RuneCountInString(w)
			if n > 0 && n+1+wl > width {
				lines = append(lines, b.String())
				b.Reset()
				n = 0
			}
			if n > 0 {
				b.WriteByte(' ')
				n++
			}
			b.WriteString(w)
			n += wl
		}
		if n > 0 {
			lines = append(lines, b.String())
		}
		return lines
	}
	flush := func() {
		long := false
		for _, l := range para {
			if utf8.RuneCountInString(l) > width {
				long = true
				break
			}
		}
		if long {
			out = append(out, wrapWords(words(strings.Join(para, " ")), width)...)
		} else {
			out = append(out, para...)
		}
		para = para[:0]
	}
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		switch {
		case l == "":
			flush()
			if len(out) > 0 && out[len(out)-1] != "" {
				out = append(out, "")
			}
		case strings.HasPrefix(l, "  - ") && utf8.RuneCountInString(l) > width:
			flush()
			wrapped := wrapWords(words(l[4:]), width-4)
			for i, w := range wrapped {
				if i == 0 {
					out = append(out, "  - "+w)
				} else {
					out = append(out, "    "+w)
				}
			}
		case l[0] == ' ' || l[0] == '\t' || (len(l) >= 3 && strings.Trim(l, "-=_*") == ""):
			flush()
			out = append(out, l)
		default:
			para = append(para, l)
		}
	}
	flush()
	return strings.Join(out, "\n")
}

func TestReflowMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	pieces := []string{"word", "mot", "été", "\u00a0:", " ", "  ", "\t", "\n", "\n\n", "\n\n\n", "  - ", "    table  row", "----", "--",
		"=*_", "https://portal.example.org/a/very/long/path/that/does/not/fit/on/any/line/at/all/really", "\xff\xfe",
		strings.Repeat("x", 71), strings.Repeat("é", 73), "a\tb", " \t\n", "\r", "日本語"}
	cases := []string{"", "\n", "a", "a\n", "\n\na", "  - " + strings.Repeat("item ", 20), "  - \t", strings.Repeat("y", 100)}
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(40) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
			if rng.IntN(3) == 0 {
				b.WriteByte(' ')
			}
		}
		cases = append(cases, b.String())
	}
	for _, text := range cases {
		for _, width := range []int{72, 10, 5} {
			if got, want := reflow(text, width), reflowReference(text, width); got != want {
				t.Fatalf("reflow(%q, %d):\n got %q\nwant %q", text, width, got, want)
			}
		}
	}
}
