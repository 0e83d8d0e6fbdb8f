package event

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkStoredText holds an event to the promise every stored event keeps:
// names and values are valid UTF-8 without NUL characters or surrogates,
// and extra.* JSON carries no \u0000 and no lone surrogate escape. It is
// written without TextProblem, so it does not share that function's
// mistakes.
func checkStoredText(t testing.TB, e *Event) {
	t.Helper()
	for _, f := range e.Fields() {
		for _, s := range []string{f.Key, f.Value} {
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				t.Fatalf("field %q holds invalid text: %q", f.Key, s)
			}
		}
		if kind, _ := KindOf(f.Key); kind != KindJSON {
			continue
		}
		if strings.Contains(strings.ToLower(f.Value), `\u0000`) {
			t.Fatalf("field %s holds an escaped NUL: %s", f.Key, f.Value)
		}
		for _, m := range surrogateEscape.FindAllStringIndex(f.Value, -1) {
			if !pairedSurrogate(f.Value, m[0]) {
				t.Fatalf("field %s holds a lone surrogate escape: %s", f.Key, f.Value)
			}
		}
		var v any
		if err := json.Unmarshal([]byte(f.Value), &v); err != nil {
			t.Fatalf("field %s is not JSON: %v", f.Key, err)
		}
	}
}

var surrogateEscape = regexp.MustCompile(`\\u[dD][89a-fA-F][0-9a-fA-F]{2}`)

// pairedSurrogate reports whether the escape at i is half of a high-low
// pair (and not itself an escaped backslash followed by "u…").
func pairedSurrogate(s string, i int) bool {
	backslashes := 0
	for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
		backslashes++
	}
	if backslashes%2 == 1 {
		return true // "\\ud800" is a backslash and text, not an escape
	}
	high := func(at int) bool { return at >= 0 && at+6 <= len(s) && strings.ContainsAny(s[at+2:at+3], "89abAB") }
	low := func(at int) bool { return at >= 0 && at+6 <= len(s) && strings.ContainsAny(s[at+2:at+3], "cdefCDEF") }
	if high(i) {
		return i+12 <= len(s) && surrogateEscape.MatchString(s[i+6:i+12]) && low(i+6)
	}
	return i >= 6 && surrogateEscape.MatchString(s[i-6:i]) && high(i-6)
}

func TestTextProblem(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain text", "école.example", ""},
		{"emoji", "😀", ""},
		{"Latin-1 byte", "\xe9cole", "invalid UTF-8 (byte 0xE9) at byte offset 0"},
		{"truncated sequence", "ab\xc3", "invalid UTF-8 (byte 0xC3) at byte offset 2"},
		{"NUL", "abc\x00", "NUL character at byte offset 3"},
		{"CESU-8 surrogate", "x\xed\xb0\x80", "UTF-16 surrogate (U+DC00) at byte offset 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TextProblem(tt.in); got != tt.want {
				t.Fatalf("TextProblem(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestJSONTextProblem(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"clean", `{"a": "b\"c\\u0000"}`, ""},
		{"surrogate pair", `"\ud83d\ude00"`, ""},
		{"escaped NUL", `"a\u0000"`, `NUL character (\u0000) at byte offset 2`},
		{"lone high surrogate", `"ab\uD800"`, `lone UTF-16 surrogate (\ud800) at byte offset 3`},
		{"high surrogate then text", `"\ud800\u0041"`, `lone UTF-16 surrogate (\ud800) at byte offset 1`},
		{"lone low surrogate", `"\udc00"`, `lone UTF-16 surrogate (\udc00) at byte offset 1`},
		{"Latin-1 byte", "\"caf\xe9\"", "invalid UTF-8 (byte 0xE9) at byte offset 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := JSONTextProblem([]byte(tt.in)); got != tt.want {
				t.Fatalf("JSONTextProblem(%s) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestReplaceInvalidUTF8(t *testing.T) {
	got, n := ReplaceInvalidUTF8([]byte("caf\xe9 \xff\xfe ok"))
	if string(got) != "caf\uFFFD \uFFFD\uFFFD ok" || n != 3 {
		t.Fatalf("got %q, %d replaced; want three replacements", got, n)
	}
	clean := []byte("café")
	if got, n := ReplaceInvalidUTF8(clean); &got[0] != &clean[0] || n != 0 {
		t.Fatalf("valid input copied or counted: %q, %d", got, n)
	}
}

// TestParseJSONRefusesWhatTheDecoderWouldRepair covers the text and time
// values of an IntelMQ line that encoding/json accepts silently.
func TestParseJSONRefusesWhatTheDecoderWouldRepair(t *testing.T) {
	tests := []struct {
		name, line   string
		field, error string
	}{
		{"invalid UTF-8 in a host name", "{\"source.fqdn\": \"\xe9cole.example\"}", "source.fqdn", "invalid UTF-8 (byte 0xE9) at byte offset 1"},
		{"invalid UTF-8 in an extra", "{\"extra.note\": \"caf\xe9\"}", "extra.note", "invalid UTF-8 (byte 0xE9) at byte offset 4"},
		{"NUL escape", `{"event_description.text": "a\u0000b"}`, "event_description.text", `NUL character (\u0000) at byte offset 2`},
		{"NUL escape in a nested extra", `{"extra": {"x": ["\u0000"]}}`, "extra", `NUL character (\u0000)`},
		{"lone surrogate", `{"event_description.text": "a\ud800b"}`, "event_description.text", `lone UTF-16 surrogate (\ud800) at byte offset 2`},
		{"lone surrogate in an extra", `{"extra.x": "\udfff"}`, "extra.x", `lone UTF-16 surrogate (\udfff)`},
		{"lone surrogate in a field name", `{"extra.\ud800": 1}`, "(a field name)", `lone UTF-16 surrogate (\ud800) at byte offset 8 of the line`},
		{"number as time.source", `{"time.source": 5}`, "time.source", "a JSON number, not a date-time string"},
		{"number as time.observation", `{"time.observation": 1763632800.5}`, "time.observation", "epoch_seconds: true"},
		{"digits as time.source", `{"time.source": "5"}`, "time.source", "a number, not a date-time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New(0)
			err := e.ParseJSON([]byte(tt.line))
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !strings.Contains(fe.Reason, tt.error) {
				t.Fatalf("ParseJSON(%s) = %v, want a FieldError on %s saying %q", tt.line, err, tt.field, tt.error)
			}
			checkStoredText(t, e)
		})
	}
	t.Run("surrogate pair is text", func(t *testing.T) {
		e := New(0)
		if err := e.ParseJSON([]byte(`{"event_description.text": "\ud83d\ude00", "extra.x": "\ud83d\ude00"}`)); err != nil {
			t.Fatal(err)
		}
		if got := e.Value("event_description.text"); got != "😀" {
			t.Fatalf("got %q", got)
		}
	})
}

func TestEpochSecondsOnlyWhenTheFeedSaysSo(t *testing.T) {
	rules := InputRules{EpochSeconds: true}
	t.Run("JSON number read as seconds", func(t *testing.T) {
		e := New(0)
		if err := e.ParseJSONWith(rules, []byte(`{"time.source": 5, "time.observation": 1763632800.25}`)); err != nil {
			t.Fatal(err)
		}
		if got := e.Value("time.source"); got != "1970-01-01T00:00:05+00:00" {
			t.Errorf("time.source = %q", got)
		}
		if got := e.Value("time.observation"); got != "2025-11-20T10:00:00.25+00:00" {
			t.Errorf("time.observation = %q", got)
		}
	})
	t.Run("digit string read as seconds", func(t *testing.T) {
		got, err := NormalizeWith(rules, "time.source", " 1763632800 ")
		if err != nil || got != "2025-11-20T10:00:00+00:00" {
			t.Fatalf("got %q, %v", got, err)
		}
	})
	t.Run("written date-time still read", func(t *testing.T) {
		got, err := NormalizeWith(rules, "time.source", "2026-11-20 10:00:00")
		if err != nil || got != "2026-11-20T10:00:00+00:00" {
			t.Fatalf("got %q, %v", got, err)
		}
	})
	t.Run("negative refused", func(t *testing.T) {
		if _, err := NormalizeWith(rules, "time.source", "-5"); err == nil {
			t.Fatal("-5 accepted as a time")
		}
	})
	t.Run("boolean refused", func(t *testing.T) {
		if err := New(0).ParseJSONWith(rules, []byte(`{"time.source": true}`)); err == nil {
			t.Fatal("true accepted as a time")
		}
	})
}

func TestSetExtraRefusesBadText(t *testing.T) {
	for _, v := range []string{"a\x00b", "caf\xe9", "\xed\xa0\x80"} {
		e := New(0)
		var fe *FieldError
		if err := e.SetExtra("note", v); !errors.As(err, &fe) || fe.Field != "extra.note" || e.Has("extra.note") {
			t.Errorf("SetExtra(%q) = %v, stored %v; want a FieldError and nothing stored", v, err, e.Has("extra.note"))
		}
	}
}

func TestCheckTextFindsEscapedDamageInExtras(t *testing.T) {
	e := New(0)
	e.SetTrusted("extra.note", `"a\u0000b"`) // a path that skipped validation
	err := e.CheckText()
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "extra.note" || !strings.Contains(fe.Reason, "NUL") {
		t.Fatalf("CheckText = %v, want a NUL in extra.note", err)
	}
}
