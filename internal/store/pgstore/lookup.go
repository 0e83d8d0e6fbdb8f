package pgstore

import (
	"context"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

var _ store.EventLookup = (*Store)(nil)

// EventIDs returns the id of each of hashes that is stored; a hash not
// stored is left out (store.EventLookup). The hot partition, which has no
// index on hash, is read by the ids the hot set names (candidates), the
// others by their index on hash.
func (s *Store) EventIDs(ctx context.Context, hashes []event.Hash) (map[event.Hash]int64, error) {
	out := make(map[event.Hash]int64, len(hashes))
	if len(hashes) == 0 {
		return out, nil
	}
	list := make([][]byte, len(hashes))
	for i := range hashes {
		list[i] = hashes[i][:]
	}
	part, ids, scan, err := s.candidates(ctx, list)
	if err != nil {
		return nil, named(err)
	}
	below := partitionStart(part)
	if scan {
		below = math.MaxInt64
	}
	var (
		id   int64
		hash []byte
	)
	collect := func(sql string, bound any) error {
		rows, err := s.pool.Query(ctx, sql, list, bound)
		if err != nil {
			return err
		}
		_, err = pgx.ForEachRow(rows, []any{&id, &hash}, func() error {
			out[event.Hash(hash)] = id
			return nil
		})
		return err
	}
	if len(ids) > 0 && !scan {
		if err := collect(`SELECT id, hash FROM `+hotTable(part)+` WHERE hash = ANY($1) AND id = ANY($2)`, ids); err != nil {
			return nil, named(fmt.Errorf("event ids: %w", err))
		}
	}
	if err := collect(`SELECT id, hash FROM events WHERE hash = ANY($1) AND id < $2`, below); err != nil {
		return nil, named(fmt.Errorf("event ids: %w", err))
	}
	return out, nil
}
