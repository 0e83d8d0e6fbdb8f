package eventsql

import (
	"context"
	"fmt"
	"slices"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// IDs returns the id of each of hashes that is stored in the events
// table (store.EventLookup.EventIDs), a statement a chunk of hashes, each
// going by the table's unique index on hash.
func IDs(ctx context.Context, db sqlkit.DB, hashes []event.Hash) (map[event.Hash]int64, error) {
	out := make(map[event.Hash]int64, len(hashes))
	var (
		id   int64
		hash []byte
	)
	for chunk := range slices.Chunk(hashes, sqlkit.ParametersPerStatement) {
		list := make([][]byte, len(chunk))
		for i := range chunk {
			list[i] = chunk[i][:]
		}
		a := db.Dialect().Args()
		err := db.Each(ctx, `SELECT id, hash FROM events WHERE `+sqlkit.In(a, "hash", list), a.List(), func(row sqlkit.Row) error {
			if err := row.Scan(&id, &hash); err != nil {
				return err
			}
			out[event.Hash(hash)] = id
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("event ids: %w", err)
		}
	}
	return out, nil
}
