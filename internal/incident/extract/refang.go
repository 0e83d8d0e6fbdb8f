package extract

import (
	"bytes"
	"strings"
)

// Refang undoes the ways people and analysts defang observables so that
// nobody clicks them by mistake: a dot, colon, "://" or at sign written in
// brackets ("evil[.]com", "evil(dot)com", "evil{.}com", "evil [ . ] com",
// "hxxp[:]//", "hxxp[://]", "evil.com[/]login", "user[@]example.com",
// "user (at) example.com") becomes the character itself, and the schemes hxxp, hxxps, hXXp and fxp
// followed by "://" become http, https and ftp. Refang is idempotent: its
// result holds nothing it would change again.
func Refang(s string) string {
	if !defanged(s) {
		return s
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		// Copy up to the next closing bracket at once.
		k := i
		for k < len(s) && s[k] != ']' && s[k] != ')' && s[k] != '}' {
			k++
		}
		out = append(out, s[i:min(k+1, len(s))]...)
		if i = k; i == len(s) {
			break
		}
		start, repl, ok := bracketTail(out)
		if !ok {
			continue
		}
		out = append(out[:start], repl...)
		// "evil [.] com": the spaces around a bracketed dot or at sign go
		// too when a word stands on either side.
		if (repl == "." || repl == "@") && start >= 2 && out[start-1] == ' ' && isWordByte(out[start-2]) &&
			i+2 < len(s) && s[i+1] == ' ' && isWordByte(s[i+2]) {
			out = append(out[:start-1], repl...)
			i++
		}
	}
	refangSchemes(out)
	return string(out)
}

// defanged reports whether s holds anything Refang changes, without
// allocating: most texts hold nothing.
func defanged(s string) bool {
	for i := 0; i < len(s); {
		k := strings.IndexAny(s[i:], "])}")
		if k < 0 {
			break
		}
		i += k + 1
		if _, _, ok := bracketTail(s[:i]); ok {
			return true
		}
	}
	for i := 0; ; {
		k := strings.Index(s[i:], "://")
		if k < 0 {
			return false
		}
		i += k
		if schemeStart(s, i) >= 0 {
			return true
		}
		i += 3
	}
}

// bracketTail reports whether out ends with a bracketed separator such as
// "[.]", "( dot )" or "{@}", and if so where it starts and what it stands
// for.
func bracketTail[T string | []byte](out T) (int, string, bool) {
	n := len(out)
	var opener byte
	switch out[n-1] {
	case ']':
		opener = '['
	case ')':
		opener = '('
	case '}':
		opener = '{'
	}
	j := n - 2
	for k := 0; k < 2 && j >= 0 && out[j] == ' '; k++ {
		j--
	}
	end := j + 1 // the content is out[?:end]
	for j >= 0 && end-j <= 3 && out[j] != opener && out[j] != ' ' {
		j--
	}
	begin := j + 1
	for k := 0; k < 2 && j >= 0 && out[j] == ' '; k++ {
		j--
	}
	if j < 0 || out[j] != opener || begin >= end {
		return 0, "", false
	}
	var repl string
	switch strings.ToLower(string(out[begin:end])) {
	case ".", "dot":
		repl = "."
	case ":":
		repl = ":"
	case "://":
		repl = "://"
	case "/":
		repl = "/"
	case "@", "at":
		repl = "@"
	default:
		return 0, "", false
	}
	return j, repl, true
}

// refangSchemes rewrites hxxp://, hxxps:// (in any case) and fxp:// in
// place: each replacement has the length of what it replaces.
func refangSchemes(b []byte) {
	for i := 0; ; {
		k := bytes.Index(b[i:], []byte("://"))
		if k < 0 {
			return
		}
		i += k
		if start := schemeStart(b, i); start >= 0 {
			switch i - start {
			case 3:
				copy(b[start:], "ftp")
			case 4:
				copy(b[start:], "http")
			case 5:
				copy(b[start:], "https")
			}
		}
		i += 3
	}
}

// schemeStart returns where the defanged scheme (hxxp, hxxps, fxp, in any
// case) that ends at position end of b, before its "://", starts; or -1.
func schemeStart[T string | []byte](b T, end int) int {
	lower := func(i int) byte { return b[i] | 0x20 }
	start := -1
	switch {
	case end >= 5 && lower(end-5) == 'h' && lower(end-4) == 'x' && lower(end-3) == 'x' && lower(end-2) == 'p' && lower(end-1) == 's':
		start = end - 5
	case end >= 4 && lower(end-4) == 'h' && lower(end-3) == 'x' && lower(end-2) == 'x' && lower(end-1) == 'p':
		start = end - 4
	case end >= 3 && lower(end-3) == 'f' && lower(end-2) == 'x' && lower(end-1) == 'p':
		start = end - 3
	}
	if start > 0 && isWordByte(b[start-1]) {
		return -1
	}
	return start
}

// isWordByte reports whether c is an ASCII letter, digit or underscore.
func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}
