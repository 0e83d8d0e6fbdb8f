package sqlkit

import (
	"database/sql"
	"errors"
	"slices"
	"testing"

	_ "modernc.org/sqlite"
)

func memoryDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (3), (1), (2)`); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestQueryCollectsInOrder(t *testing.T) {
	db := memoryDB(t)
	got, err := Query(t.Context(), db, `SELECT n FROM t WHERE n > ? ORDER BY n`, []any{1}, RowTo[int64])
	if err != nil || !slices.Equal(got, []int64{2, 3}) {
		t.Errorf("got %v, %v; want [2 3]", got, err)
	}
	none, err := Query(t.Context(), db, `SELECT n FROM t WHERE n > 5`, nil, RowTo[int64])
	if err != nil || none != nil {
		t.Errorf("no rows: got %#v, %v; want nil", none, err)
	}
}

func TestCollectStopsAtScanError(t *testing.T) {
	db := memoryDB(t)
	boom := errors.New("boom")
	calls := 0
	_, err := Query(t.Context(), db, `SELECT n FROM t ORDER BY n`, nil, func(rows *sql.Rows) (int64, error) {
		calls++
		return 0, boom
	})
	if !errors.Is(err, boom) || calls != 1 {
		t.Errorf("err %v after %d calls, want boom after 1", err, calls)
	}
	// The connection was given back: the next query runs.
	if _, err := Query(t.Context(), db, `SELECT n FROM t`, nil, RowTo[int64]); err != nil {
		t.Errorf("after a scan error: %v", err)
	}
}

func TestEachVisitsEveryRow(t *testing.T) {
	db := memoryDB(t)
	sum := int64(0)
	err := Each(t.Context(), db, `SELECT n FROM t`, nil, func(rows *sql.Rows) error {
		var n int64
		err := rows.Scan(&n)
		sum += n
		return err
	})
	if err != nil || sum != 6 {
		t.Errorf("sum %d, %v; want 6", sum, err)
	}
}
