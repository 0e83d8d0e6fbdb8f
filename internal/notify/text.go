package notify

import (
	"strings"
	"unicode/utf8"
)

// textWidth is the width message text is wrapped to: below the 76
// characters at which quoted-printable breaks lines, and readable in any
// mail client.
const textWidth = 72

// reflow wraps the paragraphs of text that have a line longer than width.
// A paragraph is a run of lines between empty lines. Paragraphs whose
// lines all fit keep the template's own line breaks (a signature, an
// address), while a sentence made long by the names and numbers filled in
// is wrapped evenly; templates can therefore write a sentence on one line.
// Lines that start with "  - " are list items, wrapped with a hanging
// indent; other lines that start with a space (tables) and rules ("----")
// are kept as they are. Runs of empty lines become one, so that optional
// template sections leave no holes.
func reflow(text string, width int) string {
	lines := strings.Split(text, "\n")
	out := make([]string, 0, len(lines))
	var para []string
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
		case l[0] == ' ' || l[0] == '\t' || isRule(l):
			flush()
			out = append(out, l)
		default:
			para = append(para, l)
		}
	}
	flush()
	return strings.Join(out, "\n")
}

// words splits at ASCII spaces only: a no-break space (French puts one
// before ":" and ";") must keep its neighbours on one line.
func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' })
}

// isRule reports whether l is a separator line such as "-----".
func isRule(l string) bool {
	return len(l) >= 3 && strings.Trim(l, "-=_*") == ""
}

// wrapWords fills lines of at most width runes; a longer word (a URL)
// gets a line of its own.
func wrapWords(words []string, width int) []string {
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

// indent prefixes every line of s with prefix.
func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
