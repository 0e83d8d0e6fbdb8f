package notify

import (
	"bytes"
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
	return string(appendReflowed(make([]byte, 0, len(text)+len(text)/16), text, width))
}

// appendReflowed appends reflow's text to dst.
func appendReflowed(dst []byte, text string, width int) []byte {
	w := reflowWriter{width: width, b: dst}
	for rest := text; ; {
		l, tail, more := strings.Cut(rest, "\n")
		l = trimRightBlanks(l)
		switch {
		case l == "":
			w.flush()
			if w.lines > 0 && !w.lastEmpty {
				w.line("")
			}
		case strings.HasPrefix(l, "  - ") && longer(l, width):
			w.flush()
			w.wrap([]string{l[4:]}, width-4, "  - ", "    ")
		case l[0] == ' ' || l[0] == '\t' || isRule(l):
			w.flush()
			w.line(l)
		default:
			w.para = append(w.para, l)
		}
		if !more {
			break
		}
		rest = tail
	}
	w.flush()
	return w.b
}

// reflowWriter collects reflow's output lines, joined by "\n".
type reflowWriter struct {
	b         []byte
	width     int
	lines     int  // lines written
	lastEmpty bool // the last line written is empty
	// para is the paragraph being read.
	para []string
}

// start begins a new output line.
func (w *reflowWriter) start() {
	if w.lines > 0 {
		w.b = append(w.b, '\n')
	}
	w.lines++
}

func (w *reflowWriter) line(l string) {
	w.start()
	w.b = append(w.b, l...)
	w.lastEmpty = l == ""
}

// flush writes the paragraph read so far: wrapped if a line of it is too
// long, else as it is.
func (w *reflowWriter) flush() {
	long := false
	for _, l := range w.para {
		if longer(l, w.width) {
			long = true
			break
		}
	}
	if long {
		w.wrap(w.para, w.width, "", "")
	} else {
		for _, l := range w.para {
			w.line(l)
		}
	}
	w.para = w.para[:0]
}

// wrap fills lines of at most width runes (after first or next, the
// prefix of the first line and of the others) with the words of texts;
// a longer word (a URL) gets a line of its own. Words are split at ASCII
// spaces only: a no-break space (French puts one before ":" and ";")
// must keep its neighbours on one line.
func (w *reflowWriter) wrap(texts []string, width int, first, next string) {
	n := 0 // runes on the current line, without its prefix
	prefix := first
	for _, t := range texts {
		for t != "" {
			i := 0
			for i < len(t) && (t[i] == ' ' || t[i] == '\t') {
				i++
			}
			j := i
			for j < len(t) && t[j] != ' ' && t[j] != '\t' {
				j++
			}
			word := t[i:j]
			t = t[j:]
			if word == "" {
				continue
			}
			wl := utf8.RuneCountInString(word)
			if n > 0 && n+1+wl > width {
				n = 0
			}
			if n == 0 {
				w.start()
				w.b = append(w.b, prefix...)
				prefix = next
				w.lastEmpty = false
			} else {
				w.b = append(w.b, ' ')
				n++
			}
			w.b = append(w.b, word...)
			n += wl
		}
	}
}

// longer reports whether l has more than width runes.
func longer(l string, width int) bool {
	return len(l) > width && utf8.RuneCountInString(l) > width
}

// trimRightBlanks cuts the spaces and tabs off the end of l.
func trimRightBlanks(l string) string {
	i := len(l)
	for i > 0 && (l[i-1] == ' ' || l[i-1] == '\t') {
		i--
	}
	return l[:i]
}

// isRule reports whether l is a separator line such as "-----".
func isRule(l string) bool {
	if len(l) < 3 {
		return false
	}
	for i := 0; i < len(l); i++ {
		switch l[i] {
		case '-', '=', '_', '*':
		default:
			return false
		}
	}
	return true
}

// indent prefixes every line of b with prefix.
func indent(b []byte, prefix string) string {
	var out strings.Builder
	out.Grow(len(b) + (bytes.Count(b, []byte{'\n'})+1)*len(prefix))
	for {
		out.WriteString(prefix)
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out.Write(b)
			return out.String()
		}
		out.Write(b[:i+1])
		b = b[i+1:]
	}
}
