package console

import (
	"reflect"
	"testing"
)

// TestHeadedRow: a CSV row kept under its header is shown by column name;
// anything that is not exactly a header and one matching row is plain text.
func TestHeadedRow(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
		want []rawColumn
	}{
		{"header and row", "ip,port\n192.0.2.1,22", []rawColumn{{"ip", "192.0.2.1"}, {"port", "22"}}},
		{"quoted values with a delimiter, a quote and a line break", "ip,note\r\n192.0.2.1,\"a, \"\"b\"\"\nc\"\n",
			[]rawColumn{{"ip", "192.0.2.1"}, {"note", "a, \"b\"\nc"}}},
		{"empty cells", "ip,port,tag\n192.0.2.1,,", []rawColumn{{"ip", "192.0.2.1"}, {"port", ""}, {"tag", ""}}},
		{"tab-separated", "ip\tnote\n192.0.2.1\ta, b", []rawColumn{{"ip", "192.0.2.1"}, {"note", "a, b"}}},
		{"semicolons", "ip;port\n192.0.2.1;22", []rawColumn{{"ip", "192.0.2.1"}, {"port", "22"}}},
		{"one line, no header", "192.0.2.1,22,ssh", nil},
		{"a row with a cell too many", "ip,port\n192.0.2.1,22,ssh", nil},
		{"a row with a cell too few", "ip,port,tag\n192.0.2.1,22", nil},
		{"an unclosed quote", "ip,note\n192.0.2.1,\"open", nil},
		{"text after a closing quote", "ip,note\n192.0.2.1,\"a\"b", nil},
		{"more than one row", "ip,port\n192.0.2.1,22\n192.0.2.2,23", nil},
		{"a header of one column", "ip\n192.0.2.1", nil},
		{"two lines of text", "hello there\nsecond line", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := headedRow(tc.raw); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("headedRow(%q) = %q, want %q", tc.raw, got, tc.want)
			}
		})
	}
}

// FuzzHeadedRow: whatever an event's raw holds, reading it as a row under
// its header never panics, and a table it gives names two columns or more.
func FuzzHeadedRow(f *testing.F) {
	f.Add("ip,port\n192.0.2.1,22")
	f.Add("ip,note\n192.0.2.1,\"a\nb\"")
	f.Add("a;b\n\"x;y\";z\n")
	f.Add("\"\n\"\n")
	f.Fuzz(func(t *testing.T, raw string) {
		if cols := headedRow(raw); cols != nil && len(cols) < 2 {
			t.Fatalf("headedRow(%q) = %q: a table of fewer than two columns", raw, cols)
		}
	})
}
