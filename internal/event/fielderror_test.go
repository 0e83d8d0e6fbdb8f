package event

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// TestFieldErrorsInEveryLanguage: why Normalize refuses a value is kept
// in English (the log's and the dead letter's, unchanged) and by
// catalogue ID, so that an operator reads it in their language (the csv
// parser's constant_fields at start-up); every reason has a message in
// each language.
func TestFieldErrorsInEveryLanguage(t *testing.T) {
	used := map[string]bool{}
	for _, tt := range []struct {
		field, value string
		rules        InputRules
		en           string
	}{
		{"source.nickname", "x", InputRules{}, "not a harmonized field name"},
		{"source.ip", "192.0.2", InputRules{}, "not an IP address"},
		{"raw", "!!", InputRules{}, "not base64"},
		{"extra.x", "{", InputRules{}, "not a JSON value"},
		{"rtir_id", "x", InputRules{}, "not an integer"},
		{"source.port", "70000", InputRules{}, "not a port number (0-65535)"},
		{"source.asn", "0", InputRules{}, "not an AS number (1-4294967295)"},
		{"source.geolocation.latitude", "north", InputRules{}, "not a number"},
		{"feed.accuracy", "101", InputRules{}, "accuracy must be between 0 and 100"},
		{"source.tor_node", "perhaps", InputRules{}, "not a boolean"},
		{"classification.taxonomy", "x", InputRules{}, "not an RSIT taxonomy"},
		{"classification.type", "x", InputRules{}, "not an RSIT classification type"},
		{"source.geolocation.cc", "BEL", InputRules{}, "not a two-letter country code"},
		{"source.registry", "x", InputRules{}, "not a regional internet registry"},
		{"tlp", "purple", InputRules{}, "not a TLP label (CLEAR, GREEN, AMBER, AMBER+STRICT, RED)"},
		{"source.fqdn", ".", InputRules{}, "empty host name"},
		{"source.fqdn", "xn--a.example\u00e9", InputRules{}, "not a valid internationalised host name"},
		{"source.fqdn", strings.Repeat("a.", 127) + "ab", InputRules{}, "host name longer than 253 characters"},
		{"source.fqdn", "192.0.2.1", InputRules{}, "an IP address is not a host name"},
		{"source.fqdn", "a/b.example", InputRules{}, "character '/' not allowed in a host name"},
		{"source.fqdn", "a..example", InputRules{}, "host name label empty or longer than 63 characters"},
		{"source.network", "192.0.2.0/33", InputRules{}, "not an IP network"},
		{"source.url", " ", InputRules{}, "empty URL"},
		{"source.url", "http://%zz", InputRules{}, "not a URL"},
		{"source.url", "http://", InputRules{}, "URL without scheme or host"},
		{"comment", "a\x00b", InputRules{}, "NUL character at byte offset 1"},
		{"comment", "a\xed\xa0\xbd", InputRules{}, "UTF-16 surrogate (U+D83D) at byte offset 1"},
		{"comment", "caf\xe9", InputRules{}, "invalid UTF-8 (byte 0xE9) at byte offset 3"},
		{"extra.x", `"a\u0000"`, InputRules{}, `NUL character (\u0000) at byte offset 2`},
		{"extra.x", `"\udc00"`, InputRules{}, `lone UTF-16 surrogate (\udc00) at byte offset 1`},
		{"time.source", " ", InputRules{}, "empty date-time"},
		{"time.source", "1900-01-01T00:00:00Z", InputRules{}, "year out of range"},
		{"time.source", "yesterday", InputRules{}, "not a recognised date-time"},
		{"time.source", "1e20", InputRules{EpochSeconds: true}, "not a number of seconds since 1970 (0 to 99999999999)"},
		{"time.source", "1700000000", InputRules{}, "a number, not a date-time (a feed that sends seconds since 1970 needs the parser option epoch_seconds: true)"},
	} {
		t.Run(tt.field+" "+tt.en, func(t *testing.T) {
			_, err := NormalizeWith(tt.rules, tt.field, tt.value)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("%q: err = %v, want a FieldError", tt.value, err)
			}
			if fe.Reason != tt.en || fe.Problem.String() != tt.en {
				t.Errorf("reason %q (message %q), want %q", fe.Reason, fe.Problem.String(), tt.en)
			}
			if got := fe.Message().String(); got != err.Error() {
				t.Errorf("the message in English %q is not the error %q", got, err)
			}
			used[fe.Problem.ID] = true
			for _, lang := range []string{"nl", "fr", "de"} {
				said := fe.Message().In(i18n.Embedded(), lang)
				if strings.Contains(said, tt.en) || strings.Contains(said, "event.") {
					t.Errorf("in %s, English or an ID: %s", lang, said)
				}
			}
		})
	}
	// Every reason Normalize gives is one of those above, but for those
	// no value brings about: an error's text without a message, a kind
	// of field there is not, and a URL host with spaces, which net/url
	// refuses first.
	// CheckText's reason for a field's name is tried with the JSON
	// reader's, below.
	unreachable := map[string]bool{"event.reason.text": true, "event.reason.kind": true, "event.reason.url.spaces": true,
		"event.reason.fieldname": true}
	for _, file := range []string{"normalize.go", "text.go"} {
		for _, id := range sourceIDs(t, file) {
			if !used[id] && !unreachable[id] {
				t.Errorf("%s (%s) is not tried above", id, file)
			}
		}
	}
}

// sourceIDs are the reason IDs file names.
func sourceIDs(t *testing.T, file string) []string {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range regexp.MustCompile(`"(event\.reason\.[a-z.]+)"`).FindAllStringSubmatch(string(src), -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// TestJSONReasonsInEveryLanguage: why the JSON reader refuses a line is
// said in each language too, in the same English as before, and so is
// CheckText's reason for a field name that is not text. Every reason ID
// json.go names is tried.
func TestJSONReasonsInEveryLanguage(t *testing.T) {
	used := map[string]bool{}
	check := func(t *testing.T, err error, en string) {
		t.Helper()
		m, ok := i18n.Said(err)
		if !ok {
			t.Fatalf("%v: no message", err)
		}
		if err.Error() != en || m.String() != en {
			t.Errorf("error %q (message %q), want %q", err, m.String(), en)
		}
		used[m.ID] = true
		if fe := (*FieldError)(nil); errors.As(err, &fe) {
			used[fe.Problem.ID] = true
		}
		for _, lang := range []string{"nl", "fr", "de"} {
			said := m.In(i18n.Embedded(), lang)
			if said == en || strings.Contains(said, "event.") || strings.Contains(said, "%!") {
				t.Errorf("in %s, English, an ID or a bad verb: %s", lang, said)
			}
		}
	}
	epoch := ", not a date-time string (a feed that sends seconds since 1970 needs the parser option epoch_seconds: true)"
	for _, tt := range []struct{ line, en string }{
		{`{"a":`, "not a JSON object: unexpected end of JSON input"},
		{`{"extra.a\u0000":"x"}`, `field (a field name): NUL character (\u0000) at byte offset 9 of the line (value "{\"extra.a\\u0000\":\"x\"}")`},
		{`{"comment":"\u0000"}`, `field comment: NUL character (\u0000) at byte offset 1 (value "\"\\u0000\"")`},
		{`{"extra":{"":1}}`, `field extra.: extra field without a name (value "1")`},
		{`{"comment":[1]}`, `field comment: a list is not allowed here (value "[1]")`},
		{`{"time.source":true}`, `field time.source: a JSON boolean` + epoch + ` (value "true")`},
		{`{"time.source":5}`, `field time.source: a JSON number` + epoch + ` (value "5")`},
	} {
		t.Run(tt.line, func(t *testing.T) {
			err := New(4).ParseJSON([]byte(tt.line))
			if err == nil {
				t.Fatal("no error")
			}
			check(t, err, tt.en)
		})
	}
	t.Run("field name", func(t *testing.T) {
		e := New(2)
		e.SetTrusted("comm\xffent", "x")
		check(t, e.CheckText(), "field comm\xffent: field name: invalid UTF-8 (byte 0xFF) at byte offset 4 (value \"x\")")
	})
	// The whole line was decoded once already, so a member's value is
	// valid JSON when it is looked at again: these reasons guard against
	// a decoder that would not say so.
	unreachable := map[string]bool{"event.reason.object": true, "event.reason.json.string": true}
	for _, id := range sourceIDs(t, "json.go") {
		if !used[id] && !unreachable[id] {
			t.Errorf("%s (json.go) is not tried above", id)
		}
	}
	if !used["event.reason.fieldname"] {
		t.Error("CheckText's field name is not tried")
	}
}
