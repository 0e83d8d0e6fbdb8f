package sqlkit

import (
	"errors"
	"testing"
	"time"
)

func TestSQLDBTx(t *testing.T) {
	mem := memoryDB(t)
	db := SQLDB{Write: mem, Read: mem, Dial: SQLite, ForeignKey: func(error) bool { return false }, Unique: func(error) bool { return false }}
	ctx := t.Context()
	count := func() int {
		var n int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	boom := errors.New("boom")
	err := db.Tx(ctx, func(tx DB) error {
		if n, err := tx.Exec(ctx, `DELETE FROM t WHERE n > ?`, 1); err != nil || n != 2 {
			t.Errorf("Exec in a transaction: %d, %v; want 2 rows", n, err)
		}
		if err := tx.Tx(ctx, func(DB) error { return nil }); !errors.Is(err, ErrNestedTx) {
			t.Errorf("nested Tx: %v", err)
		}
		return boom
	})
	if !errors.Is(err, boom) || count() != 3 {
		t.Errorf("a failed transaction: %v, %d rows; want boom and 3 rows kept", err, count())
	}
	if err := db.Tx(ctx, func(tx DB) error { _, err := tx.Exec(ctx, `DELETE FROM t WHERE n = ?`, 3); return err }); err != nil || count() != 2 {
		t.Errorf("a committed transaction: %v, %d rows; want 2", err, count())
	}
}

func TestTimeScansBothRepresentations(t *testing.T) {
	want := time.Date(2026, 12, 3, 1, 0, 0, 7000, time.UTC)
	var got time.Time
	for _, src := range []any{want.UnixMicro(), want.In(time.FixedZone("CET", 3600))} {
		if err := Time(&got).Scan(src); err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("from %T: %v, %v; want %v", src, got, err, want)
		}
	}
	if err := Time(&got).Scan(nil); err != nil || !got.IsZero() {
		t.Errorf("from NULL: %v, %v; want the zero time", got, err)
	}
	if err := Time(&got).Scan("yesterday"); err == nil {
		t.Error("a string scanned as a time")
	}
}

func TestSQLDBSnapshot(t *testing.T) {
	mem := memoryDB(t)
	db := SQLDB{Write: mem, Read: mem, Dial: SQLite, ForeignKey: func(error) bool { return false }, Unique: func(error) bool { return false }}
	ctx := t.Context()
	count := func(d DB) int {
		var n int
		if err := d.QueryRow(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	boom := errors.New("boom")
	var seen int
	if err := db.Snapshot(ctx, func(s DB) error { seen = count(s); return boom }); !errors.Is(err, boom) || seen != 3 {
		t.Errorf("Snapshot: %v after reading %d rows; want boom after 3", err, seen)
	}
	// Inside a transaction the snapshot is the transaction: it sees the
	// transaction's own change (and needs no second connection, which
	// this one-connection database has not got).
	err := db.Tx(ctx, func(tx DB) error {
		if _, err := tx.Exec(ctx, `DELETE FROM t WHERE n = ?`, 3); err != nil {
			return err
		}
		return tx.Snapshot(ctx, func(s DB) error { seen = count(s); return nil })
	})
	if err != nil || seen != 2 {
		t.Errorf("Snapshot in a transaction: %v, %d rows; want the transaction's 2", err, seen)
	}
}
