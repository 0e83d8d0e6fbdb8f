package eventsql

import (
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// idsChunk is how many hashes one statement of IDs asks about: SQLite
// binds each as a parameter, and a statement takes at most 32766.
const idsChunk = 1000

// IDs returns the id of each of hashes that is stored in the events
// table (store.EventLookup.EventIDs), a statement a chunk of hashes, each
// going by the table's unique index on hash.
func IDs(ctx context.Context, db sqlkit.DB, hashes []event.Hash) (map[event.Hash]int64, error) {
	out := make(map[event.Hash]int64, len(hashes))
	var (
		id   int64
		hash []byte
	)
	for start := 0; start < len(hashes); start += idsChunk {
		chunk := hashes[start:min(start+idsChunk, len(hashes))]
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
