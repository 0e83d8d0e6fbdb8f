package event

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// AppendJSON appends the event as one IntelMQ JSON object with flat,
// sorted keys (no trailing newline).
func (e *Event) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	// raw held as bytes is written, base64-encoded, in its place; rawAt is
	// past the end when there is none.
	rawAt := len(e.fields) + 1
	if e.hasRaw() {
		rawAt, _ = e.index("raw")
	}
	for i, f := range e.fields {
		if i == rawAt {
			b = e.appendRawJSON(b, i > 0)
		}
		if i > 0 || rawAt == 0 {
			b = append(b, ',', ' ')
		}
		b = AppendJSONString(b, f.Key)
		b = append(b, ':', ' ')
		kind, _ := KindOf(f.Key)
		switch {
		case kind.numeric(), kind == KindBoolean, kind == KindJSON:
			b = append(b, f.Value...)
		default:
			b = AppendJSONString(b, f.Value)
		}
	}
	if rawAt == len(e.fields) {
		b = e.appendRawJSON(b, rawAt > 0)
	}
	return append(b, '}')
}

// appendRawJSON appends raw held as bytes as a JSON member, after a
// separator when it is not the first. Base64 text needs no escaping.
func (e *Event) appendRawJSON(b []byte, separator bool) []byte {
	if separator {
		b = append(b, ',', ' ')
	}
	b = append(b, `"raw": "`...)
	b = e.appendRawBase64(b)
	return append(b, '"')
}

// MarshalJSON writes the IntelMQ form.
func (e *Event) MarshalJSON() ([]byte, error) { return e.AppendJSON(nil), nil }

// UnmarshalJSON reads the IntelMQ form; see ParseJSON.
func (e *Event) UnmarshalJSON(b []byte) error {
	e.Reset()
	return e.ParseJSON(b)
}

// Map returns the event as a map of typed JSON values, for templates and APIs.
func (e *Event) Map() map[string]any {
	m := make(map[string]any, e.Len())
	if e.hasRaw() {
		m["raw"] = e.rawText()
	}
	for _, f := range e.fields {
		kind, _ := KindOf(f.Key)
		switch {
		case kind.numeric(), kind == KindBoolean, kind == KindJSON:
			var v any
			if err := json.Unmarshal([]byte(f.Value), &v); err == nil {
				m[f.Key] = v
				continue
			}
			m[f.Key] = f.Value
		default:
			m[f.Key] = f.Value
		}
	}
	return m
}

// ParseJSON adds the fields of one IntelMQ JSON object to the event. It reads
// both the flat form ("source.ip") and the hierarchical one ({"source":
// {"ip": …}}), an "extra" object as well as "extra.*" keys, and ignores
// IntelMQ's "__type". Every value is validated; the first bad one is returned
// as a *FieldError after the rest were applied.
func (e *Event) ParseJSON(line []byte) error { return e.ParseJSONWith(InputRules{}, line) }

// ParseJSONWith is ParseJSON under a feed's rules. Text the JSON decoder
// would repair silently is refused: bytes that are not UTF-8, "\u0000" and
// lone surrogates such as "\ud800". A date-time given as a JSON number is
// refused unless rules.EpochSeconds.
func (e *Event) ParseJSONWith(rules InputRules, line []byte) error {
	line = bytes.TrimSpace(line)
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		return i18n.Wrap(err, "event.reason.notobject")
	}
	// Nearly every line is clean; only a damaged one is looked at value by
	// value, to name the field the damage is in.
	damage := jsonTextProblem(line)
	var first error
	e.addObject(rules, damage != nil, "", obj, &first)
	if first == nil && damage != nil {
		// Not in any value, so in a member's name.
		first = problem("(a field name)", string(line), "event.reason.linedamage", *damage)
	}
	return first
}

func (e *Event) addObject(rules InputRules, damaged bool, prefix string, obj map[string]json.RawMessage, first *error) {
	keep := func(err error) {
		if err != nil && *first == nil {
			*first = err
		}
	}
	for k, raw := range obj {
		key := prefix + k
		if key == "__type" {
			continue
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
			continue
		}
		if damaged {
			if p := jsonTextProblem(raw); p != nil {
				keep(newFieldError(key, string(raw), p))
				continue
			}
		}
		if IsExtra(key) {
			e.SetTrusted(key, compactJSON(raw))
			continue
		}
		if key == "extra" && raw[0] == '{' {
			var sub map[string]json.RawMessage
			if err := json.Unmarshal(raw, &sub); err != nil {
				keep(problem(key, string(raw), "event.reason.object"))
				continue
			}
			for sk, sv := range sub {
				if sk == "" {
					keep(problem("extra.", string(sv), "event.reason.extra.noname"))
					continue
				}
				if len(bytes.TrimSpace(sv)) > 0 {
					e.SetTrusted("extra."+sk, compactJSON(sv))
				}
			}
			continue
		}
		if raw[0] == '{' {
			var sub map[string]json.RawMessage
			if err := json.Unmarshal(raw, &sub); err != nil {
				keep(problem(key, string(raw), "event.reason.object"))
				continue
			}
			e.addObject(rules, damaged, key+".", sub, first)
			continue
		}
		var value string
		switch raw[0] {
		case '"':
			if err := json.Unmarshal(raw, &value); err != nil {
				keep(problem(key, string(raw), "event.reason.json.string"))
				continue
			}
		case '[':
			keep(problem(key, string(raw), "event.reason.list"))
			continue
		default:
			value = string(raw)
			if kind, _ := KindOf(key); kind == KindDateTime && !rules.EpochSeconds {
				// IntelMQ writes date-times as strings; a number here is
				// a different program's epoch or a mistake.
				keep(problem(key, value, jsonType(raw[0])))
				continue
			}
		}
		keep(e.SetWith(rules, key, value))
	}
}

// jsonType is the reason for a date-time given as the JSON type a value
// starting with c has: a boolean or a number.
func jsonType(c byte) string {
	switch c {
	case 't', 'f':
		return "event.reason.time.jsonboolean"
	}
	return "event.reason.time.jsonnumber"
}

func compactJSON(raw json.RawMessage) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return strconv.Quote(string(raw))
	}
	return buf.String()
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD,
// so the result is always valid JSON.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
