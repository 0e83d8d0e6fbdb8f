package event

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// Text a feed sends must be UTF-8 without NUL characters or UTF-16
// surrogates. Go would carry such text along silently (encoding/json turns
// "\ud800" into U+FFFD, SQLite and PostgreSQL disagree on NUL, a browser
// shows a replacement character), so the value is refused where it enters,
// with a reason that says where the damage is. A feed that is known to send
// some Latin-1 may be read with its bad bytes replaced instead; that is the
// parser's invalid_utf8 option, and it is counted, never silent.

// TextProblem returns why s cannot be stored as text, naming the byte
// offset of the first bad byte, or "" when s is fine.
func TextProblem(s string) string {
	if p := textProblem(s); p != nil {
		return p.String()
	}
	return ""
}

// TextDamage is TextProblem as a message, zero when s is fine.
func TextDamage(s string) i18n.Message {
	if p := textProblem(s); p != nil {
		return *p
	}
	return i18n.Message{}
}

// JSONTextDamage is JSONTextProblem as a message, zero when raw is fine.
func JSONTextDamage(raw []byte) i18n.Message {
	if p := jsonTextProblem(raw); p != nil {
		return *p
	}
	return i18n.Message{}
}

// textProblem is TextProblem as a message, nil when s is fine.
func textProblem(s string) *i18n.Message {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return nil // the common case, in two fast scans
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c == 0 {
			return refuse("event.reason.nul", i)
		}
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return badByteReason(s[i:min(i+3, len(s))], i)
		}
		i += size
	}
	return nil
}

// badByteReason tells a UTF-16 surrogate written as UTF-8 bytes (CESU-8,
// what some Java and Windows tools produce) from other invalid UTF-8: the
// first is a broken emoji, the second usually Latin-1. next holds the bad
// byte and up to two after it; offset is where the bad byte is.
func badByteReason(next string, offset int) *i18n.Message {
	if len(next) == 3 && next[0] == 0xED && next[1] >= 0xA0 && next[1] <= 0xBF && next[2]&0xC0 == 0x80 {
		return refuse("event.reason.surrogate", int(0xD000|rune(next[1]&0x3F)<<6|rune(next[2]&0x3F)), offset)
	}
	return refuse("event.reason.utf8", int(next[0]), offset)
}

// ReplaceInvalidUTF8 returns b with every byte that is not part of valid
// UTF-8 replaced by U+FFFD, and how many bytes were replaced. When b is
// valid it is returned as it is, without copying.
func ReplaceInvalidUTF8(b []byte) ([]byte, int) {
	if utf8.Valid(b) {
		return b, 0
	}
	out := make([]byte, 0, len(b)+8)
	n := 0
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, "\uFFFD"...)
			n++
			i++
			continue
		}
		out = append(out, b[i:i+size]...)
		i += size
	}
	return out, n
}

// JSONTextProblem is TextProblem for JSON text as written in the input:
// besides bad bytes it refuses the escapes "\u0000" and a "\uD800"-"\uDFFF"
// that is not half of a surrogate pair, which encoding/json would decode
// to NUL and to U+FFFD without a word. The offset is into raw.
func JSONTextProblem(raw []byte) string {
	if p := jsonTextProblem(raw); p != nil {
		return p.String()
	}
	return ""
}

// jsonTextProblem is JSONTextProblem as a message, nil when raw is fine.
func jsonTextProblem(raw []byte) *i18n.Message {
	if utf8.Valid(raw) && bytes.IndexByte(raw, 0) < 0 && !bytes.Contains(raw, []byte(`\u`)) {
		return nil
	}
	inString := false
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == 0:
			return refuse("event.reason.nul", i)
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size == 1 {
				return badByteReason(string(raw[i:min(i+3, len(raw))]), i)
			}
			i += size
			continue
		case c == '"':
			inString = !inString
		case c == '\\' && inString:
			if i+1 < len(raw) && raw[i+1] == 'u' {
				r, ok := hexRune(raw, i+2)
				if !ok {
					i += 2
					continue
				}
				switch {
				case r == 0:
					return refuse("event.reason.json.nul", i)
				case r >= 0xDC00 && r <= 0xDFFF:
					return refuse("event.reason.json.surrogate", int(r), i)
				case r >= 0xD800 && r <= 0xDBFF:
					low, ok := rune(0), false
					if i+7 < len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
						low, ok = hexRune(raw, i+8)
					}
					if !ok || low < 0xDC00 || low > 0xDFFF {
						return refuse("event.reason.json.surrogate", int(r), i)
					}
					i += 12
					continue
				}
				i += 6
				continue
			}
			i += 2
			continue
		}
		i++
	}
	return nil
}

// hexRune reads the four hex digits of a \u escape starting at raw[i].
func hexRune(raw []byte, i int) (rune, bool) {
	if i+4 > len(raw) {
		return 0, false
	}
	var r rune
	for _, c := range raw[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// CheckText returns a *FieldError for the first field whose name or value
// is not storable text (see TextProblem; extra.* values are checked as the
// JSON they are kept as), or nil. Parsers run it on every event they make,
// so a value that reached the event by a path that skipped validation is
// still refused.
func (e *Event) CheckText() error {
	for _, f := range e.fields {
		if p := textProblem(f.Key); p != nil {
			return problem(f.Key, f.Value, "event.reason.fieldname", *p)
		}
		var p *i18n.Message
		if kind, _ := KindOf(f.Key); kind == KindJSON {
			p = jsonTextProblem([]byte(f.Value))
		} else {
			p = textProblem(f.Value)
		}
		if p != nil {
			return newFieldError(f.Key, f.Value, p)
		}
	}
	return nil
}
