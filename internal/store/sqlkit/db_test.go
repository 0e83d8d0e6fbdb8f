package sqlkit

import (
	"errors"
	"strconv"
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

func TestPrepareInAndOutOfATransaction(t *testing.T) {
	mem := memoryDB(t)
	db := SQLDB{Write: mem, Read: mem, Dial: SQLite, ForeignKey: func(error) bool { return false }, Unique: func(error) bool { return false }}
	ctx := t.Context()
	boom := errors.New("boom")
	err := db.Tx(ctx, func(tx DB) error {
		ins, err := Prepare(ctx, tx, `INSERT INTO t (n) VALUES (?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		for n := 10; n < 13; n++ {
			if _, err := ins.Insert(ctx, n); err != nil {
				return err
			}
		}
		var count int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM t`).Scan(&count); err != nil || count != 6 {
			t.Errorf("in the transaction: %d rows, %v; want 6", count, err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx: %v", err)
	}
	cache := NewStmts(db)
	for range 2 {
		st, err := cache.Get(ctx, `SELECT count(*) FROM t WHERE n < ?`)
		if err != nil {
			t.Fatal(err)
		}
		var count int
		if err := st.QueryRow(ctx, 100).Scan(&count); err != nil || count != 3 {
			t.Errorf("after the rolled back inserts: %d rows, %v; want 3", count, err)
		}
	}
	if a, _ := cache.Get(ctx, `SELECT n FROM t`); a == nil || a.st == nil {
		t.Error("SQLDB did not prepare")
	} else if b, _ := cache.Get(ctx, `SELECT n FROM t`); a != b {
		t.Error("Stmts prepared a query twice")
	}
}

func TestMultiRow(t *testing.T) {
	mem := memoryDB(t)
	db := SQLDB{Write: mem, Read: mem, Dial: SQLite, ForeignKey: func(error) bool { return false }, Unique: func(error) bool { return false }}
	ctx := t.Context()
	if got := ValueRows(2, 3); got != "(?, ?), (?, ?), (?, ?)" {
		t.Errorf("ValueRows(2, 3) = %s", got)
	}
	// Two full chunks of 500 and a short one of 3.
	const n = 1003
	var sizes []int
	err := db.Tx(ctx, func(tx DB) error {
		return MultiRow(ctx, tx, n, 1, func(rows int) string {
			sizes = append(sizes, rows)
			return `INSERT INTO t (n) VALUES ` + ValueRows(1, rows)
		}, func(dst []any, i int) []any { return append(dst, 100+i) })
	})
	if err != nil {
		t.Fatal(err)
	}
	var count, sum int
	if err := db.QueryRow(ctx, `SELECT count(*), sum(n) FROM t WHERE n >= 100`).Scan(&count, &sum); err != nil {
		t.Fatal(err)
	}
	if count != n || sum != n*100+n*(n-1)/2 {
		t.Errorf("%d rows summing to %d, want %d rows", count, sum, n)
	}
	if len(sizes) != 2 || sizes[0] != 500 || sizes[1] != 3 {
		t.Errorf("statements built for %v rows, want one full chunk prepared once and the short last one", sizes)
	}
}

// A transaction prepares each statement once and runs it again from
// there; past maxTxStatements a statement runs unprepared. Either way
// Exec, Insert, QueryRow and Each give what they gave unprepared, and a
// statement that cannot be prepared fails when it runs, with its error.
func TestTransactionStatements(t *testing.T) {
	mem := memoryDB(t)
	db := SQLDB{Write: mem, Read: mem, Dial: SQLite, ForeignKey: func(error) bool { return false }, Unique: func(error) bool { return false }}
	ctx := t.Context()
	err := db.Tx(ctx, func(tx DB) error {
		for i := range 2*maxTxStatements + 10 {
			// The same insert again and again, and as many distinct
			// queries as to fill the transaction's statements twice over.
			if _, err := tx.Insert(ctx, `INSERT INTO t (n) VALUES (?)`, 100+i); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM t WHERE n >= 100 AND n <= `+strconv.Itoa(100+i)).Scan(&n); err != nil || n != i+1 {
				t.Fatalf("query %d: %d, %v; want %d", i, n, err, i+1)
			}
			// Each, and the same query run again inside its rows (a
			// statement prepared once would be busy).
			rows := 0
			err := tx.Each(ctx, `SELECT n FROM t WHERE n = ?`, []any{100 + i}, func(Row) error {
				rows++
				return tx.Each(ctx, `SELECT n FROM t WHERE n = ?`, []any{100 + i}, func(Row) error { rows++; return nil })
			})
			if err != nil || rows != 2 {
				t.Fatalf("each %d: %d rows, %v; want 2 (one, and one inside it)", i, rows, err)
			}
		}
		if got := len(tx.(sqlTx).stmts); got != maxTxStatements {
			t.Errorf("%d statements kept prepared, want the bound %d", got, maxTxStatements)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO no_such_table VALUES (?)`, 1); err == nil {
			t.Error("a statement on a missing table ran")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM t WHERE n >= 100`).Scan(&n); err != nil || n != 2*maxTxStatements+10 {
		t.Errorf("after the commit: %d rows, %v; want %d", n, err, 2*maxTxStatements+10)
	}
}
