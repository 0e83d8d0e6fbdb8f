package sqlkit

import (
	"database/sql"
	"slices"
	"testing"
)

// TestListRoundTrip: a list column keeps its values, in order, on SQLite
// (a JSON array, scanned from text or bytes) and is a plain array for
// PostgreSQL; nil is stored as the empty list.
func TestListRoundTrip(t *testing.T) {
	for _, list := range [][]string{nil, {}, {"a"}, {"b", "a", `with "quotes", commas`, "ünïcode"}} {
		v, err := SQLite.List(list)
		if err != nil {
			t.Fatal(err)
		}
		text, ok := v.(string)
		if !ok || (len(list) == 0 && text != "[]") {
			t.Fatalf("SQLite.List(%q) = %#v", list, v)
		}
		for _, src := range []any{text, []byte(text)} {
			var got []string
			if err := SQLite.ListDest(&got).(sql.Scanner).Scan(src); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, list) {
				t.Errorf("%q from %T read back as %q", list, src, got)
			}
		}
		pv, err := Postgres.List(list)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := pv.([]string); !ok || got == nil || !slices.Equal(got, list) {
			t.Errorf("Postgres.List(%q) = %#v", list, pv)
		}
	}
	var got []string
	if err := SQLite.ListDest(&got).(sql.Scanner).Scan(int64(3)); err == nil {
		t.Error("a number read as a list")
	}
	if dest, ok := Postgres.ListDest(&got).(*[]string); !ok || dest != &got {
		t.Error("PostgreSQL's destination is not the list itself")
	}
}
