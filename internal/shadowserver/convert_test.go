package shadowserver

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/event"
)

func TestConverters(t *testing.T) {
	r := &row{index: map[string]int{"http_host": 0, "url": 1, "application": 2, "detail": 3},
		cells: []string{"www.example.org", "GET /a/b.php?x=1 HTTP/1.1", "https", "defaced"}}
	tests := []struct {
		conv, in string
		want     string
		kind     valueKind
		err      bool
	}{
		{"add_UTC_to_timestamp", "2026-11-20 00:01:02", "2026-11-20T00:01:02+00:00", valueTime, false},
		{"add_UTC_to_timestamp", "2026-11-20T00:01:02Z", "2026-11-20T00:01:02+00:00", valueTime, false},
		{"add_UTC_to_timestamp", "2026-11-20 02:01:02+02:00", "2026-11-20T00:01:02+00:00", valueTime, false},
		{"add_UTC_to_timestamp", "2026-02-30 00:00:00", "", valueNone, true},
		{"add_UTC_to_timestamp", "yesterday", "", valueNone, true},
		{"convert_date", "Fri, 20 Nov 2026 10:00:00 GMT", "2026-11-20T10:00:00+00:00", valueTime, false},
		{"convert_bool", "Y", "true", valueBool, false},
		{"convert_bool", "disabled", "false", valueBool, false},
		{"convert_bool", "maybe", "", valueNone, true},
		{"convert_int", "0042", "42", valueNumber, false},
		{"convert_int", "-7", "-7", valueNumber, false},
		{"convert_int", "4.5", "", valueNone, true},
		{"convert_float", "2.50", "2.5", valueNumber, false},
		{"convert_float", "NaN", "", valueNone, true},
		{"invalidate_zero", "0", "", valueNone, false},
		{"invalidate_zero", "64500", "64500", valueNumber, false},
		{"validate_to_none", "unknown", "", valueNone, false},
		{"validate_to_none", "x", "x", valueString, false},
		{"set_tor_node", "1", "true", valueBool, false},
		{"validate_ip", "0.0.0.0", "", valueNone, false},
		{"validate_ip", "192.0.2.0/24", "", valueNone, false},
		{"validate_ip", "::ffff:192.0.2.1", "192.0.2.1", valueString, false},
		{"validate_ip", "2001:DB8::1", "2001:db8::1", valueString, false},
		{"validate_ip", "192.0.2.300", "", valueNone, true},
		{"validate_network", "192.0.2.0/24", "192.0.2.0/24", valueString, false},
		{"validate_network", "192.0.2.1", "", valueNone, false},
		{"validate_network", "192.0.2.0/33", "", valueNone, true},
		{"validate_fqdn", "WWW.Example.org.", "www.example.org", valueString, false},
		{"validate_fqdn", "not a host", "", valueNone, true},
		{"force_base64", "aGVsbG8=", "aGVsbG8=", valueString, false},
		{"force_base64", "hello!", "aGVsbG8h", valueString, false},
		{"convert_http_host_and_url", "ignored", "https://www.example.org/a/b.php?x=1", valueString, false},
		{"category_or_detail", "", "defaced", valueString, false},
		{"category_or_detail", "skimmer", "skimmer", valueString, false},
		{"scan_exchange_type", "exchange;webshell", "system-compromise", valueString, false},
	}
	for _, tt := range tests {
		c := converters[tt.conv]
		r.text = r.text[:0]
		got, kind, err := c.fn(tt.in, r)
		if kind == valueTime {
			got = string(r.text)
		}
		if (err != nil) != tt.err || got != tt.want || kind != tt.kind {
			t.Errorf("%s(%q) = %q, %v, %v; want %q, %v, error %v", tt.conv, tt.in, got, kind, err, tt.want, tt.kind, tt.err)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\"back\\slash", "ctl\x00\x1f\n\t", "\xff\xfe", "ümlaut €", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := event.AppendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q encodes to invalid JSON %s: %v", s, b, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("%q round trips to %q", s, back)
		}
	})
}

// TestConvertIntAgreesWithStrconv holds convertInt's shortcuts (canonical
// integers kept as they are, text that is no number refused without
// strconv) to strconv.ParseInt's answer and the reason it always gave.
func TestConvertIntAgreesWithStrconv(t *testing.T) {
	for _, in := range []string{"0", "42", "-7", "+7", "0042", "-0", "+", "-", "", " 12 ", "1_000", "0x10",
		"TLSv1.2", "4.5", "9223372036854775807", "9223372036854775808", "-9223372036854775809", "١٢", "12a"} {
		got, kind, err := convertInt(in, nil)
		trimmed := strings.TrimSpace(in)
		if trimmed == "" {
			if err != nil || kind != valueNone {
				t.Errorf("convertInt(%q) = %q, %v, %v; want nothing", in, got, kind, err)
			}
			continue
		}
		n, perr := strconv.ParseInt(trimmed, 10, 64)
		switch {
		case perr != nil:
			if want := fmt.Sprintf("%q is not an integer", trimmed); err == nil || err.Error() != want {
				t.Errorf("convertInt(%q) error %v, want %q", in, err, want)
			}
		case err != nil || got != strconv.FormatInt(n, 10) || kind != valueNumber:
			t.Errorf("convertInt(%q) = %q, %v, %v; want %d", in, got, kind, err, n)
		}
	}
}
