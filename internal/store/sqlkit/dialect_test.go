package sqlkit

import (
	"reflect"
	"testing"
	"time"
)

func TestRebind(t *testing.T) {
	q := `SELECT a FROM t WHERE b = ? AND c <> 'why?' AND d <= ? LIMIT ?`
	if got := SQLite.Rebind(q); got != q {
		t.Errorf("SQLite changed the query: %s", got)
	}
	want := `SELECT a FROM t WHERE b = $1 AND c <> 'why?' AND d <= $2 LIMIT $3`
	if got := Postgres.Rebind(q); got != want {
		t.Errorf("Postgres:\n got %s\nwant %s", got, want)
	}
}

func TestArgsAndIn(t *testing.T) {
	for _, tc := range []struct {
		d     Dialect
		query string
		args  []any
	}{
		{SQLite, "org IN (?, ?) AND id < ?", []any{"a", "b", int64(9)}},
		{Postgres, "org = ANY($1) AND id < $2", []any{[]string{"a", "b"}, int64(9)}},
	} {
		a := tc.d.Args()
		got := In(a, "org", []string{"a", "b"}) + " AND id < " + a.Add(int64(9))
		if got != tc.query || !reflect.DeepEqual(a.List(), tc.args) {
			t.Errorf("%s: got %s %v, want %s %v", tc.d, got, a.List(), tc.query, tc.args)
		}
	}
}

func TestTime(t *testing.T) {
	when := time.Date(2026, 12, 3, 1, 0, 0, 5000, time.UTC)
	if got := SQLite.Time(when); got != when.UnixMicro() {
		t.Errorf("SQLite: %v", got)
	}
	if got := Postgres.Time(when); got != when {
		t.Errorf("Postgres: %v", got)
	}
	if SQLite.NullTime(time.Time{}) != nil || Postgres.NullTime(time.Time{}) != nil || SQLite.NullTime(when) != when.UnixMicro() {
		t.Error("NullTime: the zero time is not NULL, or another is not the time")
	}
}

func TestByteOrder(t *testing.T) {
	if got := SQLite.ByteOrder("name"); got != "name" {
		t.Errorf("SQLite: %s", got)
	}
	if got := Postgres.ByteOrder("name"); got != `name COLLATE "C"` {
		t.Errorf("Postgres: %s", got)
	}
}
