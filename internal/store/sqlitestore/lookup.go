package sqlitestore

import (
	"context"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/eventsql"
)

var _ store.EventLookup = (*Store)(nil)

// EventIDs returns the id of each of hashes that is stored; a hash not
// stored is left out (store.EventLookup).
func (s *Store) EventIDs(ctx context.Context, hashes []event.Hash) (map[event.Hash]int64, error) {
	if s.parts != nil {
		ids, err := s.parts.idsByHash(ctx, hashes)
		return ids, named(err)
	}
	ids, err := eventsql.IDs(ctx, s.DB(), hashes)
	return ids, named(err)
}
