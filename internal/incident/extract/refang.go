package extract

import "strings"

// Refang undoes the ways people and analysts defang observables so that
// nobody clicks them by mistake: a dot, colon, "://" or at sign written in
// brackets ("evil[.]com", "evil(dot)com", "evil{.}com", "evil [ . ] com",
// "hxxp[:]//", "hxxp[://]", "user[@]example.com", "user (at) example.com")
// becomes the character itself, and the schemes hxxp, hxxps, hXXp and fxp
// followed by "://" become http, https and ftp. Refang is idempotent: its
// result holds nothing it would change again.
func Refang(s string) string {
	if !mayBeDefanged(s) {
		return s
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		out = append(out, c)
		if c != ']' && c != ')' && c != '}' {
			continue
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
	if string(out) == s {
		return s
	}
	return string(out)
}

// mayBeDefanged reports quickly whether s could hold anything Refang
// changes.
func mayBeDefanged(s string) bool {
	return strings.ContainsAny(s, "])}") || strings.Contains(s, "xp") || strings.Contains(s, "Xp") ||
		strings.Contains(s, "XP") || strings.Contains(s, "xP")
}

// bracketTail reports whether out ends with a bracketed separator such as
// "[.]", "( dot )" or "{@}", and if so where it starts and what it stands
// for.
func bracketTail(out []byte) (int, string, bool) {
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
	for i := 0; i+6 <= len(b); i++ {
		c := b[i] | 0x20
		if (c != 'h' && c != 'f') || (i > 0 && isWordByte(b[i-1])) {
			continue
		}
		j := i + 1
		if c == 'h' {
			if b[j]|0x20 != 'x' || b[j+1]|0x20 != 'x' {
				continue
			}
			j += 2
		} else if b[j]|0x20 == 'x' {
			j++
		} else {
			continue
		}
		if b[j]|0x20 != 'p' {
			continue
		}
		j++
		secure := j < len(b) && b[j]|0x20 == 's'
		if secure && c == 'h' {
			j++
		}
		if j+3 > len(b) || string(b[j:j+3]) != "://" {
			continue
		}
		if c == 'h' {
			copy(b[i:], "http")
			if secure {
				b[i+4] = 's'
			}
		} else {
			copy(b[i:], "ftp")
		}
		i = j
	}
}

// isWordByte reports whether c is an ASCII letter, digit or underscore.
func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}
