package statesql_test

import (
	"fmt"
	"testing"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
	"github.com/vigil-cert/vigil/internal/store/statesql"
)

// TestPutAllOutsideTransaction writes more keys than one statement of
// sqlkit.MultiRow carries on the store's DB itself, not in a transaction:
// the full chunk's prepared statement must run on the writer (SQLite's
// read pool is query_only).
func TestPutAllOutsideTransaction(t *testing.T) {
	dbtest.Each(t, nil, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		n := sqlkit.RowsPerStatement + 7
		entries := make(map[string][]byte, n)
		for i := range n {
			entries[fmt.Sprintf("bulk.%04d", i)] = []byte(fmt.Sprint(i))
		}
		if err := statesql.PutAll(ctx, st.DB(), entries); err != nil {
			t.Fatalf("PutAll(%d keys) outside a transaction: %v", n, err)
		}
		got, err := st.ListState(ctx, "bulk.")
		if err != nil {
			t.Fatalf("ListState: %v", err)
		}
		if len(got) != n {
			t.Fatalf("ListState = %d keys, want %d", len(got), n)
		}
		for k, v := range entries {
			if string(got[k]) != string(v) {
				t.Errorf("state %s = %q, want %q", k, got[k], v)
			}
		}
	})
}
