package output

import (
	"context"
	"errors"
	"fmt"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
)

func init() {
	pipeline.RegisterOutput("store", "stores events in Vigil's database, idempotently by event hash", newStoreFromOptions)
}

// Store writes batches into the event store, together with the
// deduplication keys they claimed and the batch's identity: a batch
// stored before (replayed after a crash, or an input ingested again) is
// recognised as a whole and stores nothing.
type Store struct {
	store EventWriter
}

// EventWriter is what the store output needs of the database: a
// store.Store or a pipeline.Store satisfies it.
type EventWriter interface {
	InsertBatch(ctx context.Context, b store.EventBatch) (inserted int, err error)
}

// NewStore returns the store output.
func NewStore(s EventWriter) (*Store, error) {
	if s == nil {
		return nil, errors.New("store output: no store")
	}
	return &Store{store: s}, nil
}

func newStoreFromOptions(env pipeline.Env, opts pipeline.Options) (pipeline.Output, error) {
	if err := opts.Decode(&struct{}{}); err != nil {
		return nil, fmt.Errorf("store output: %w", err)
	}
	return NewStore(env.Store)
}

// Write stores the batch.
func (s *Store) Write(ctx context.Context, b *pipeline.Batch) error {
	_, err := s.WriteCount(ctx, b)
	return err
}

// WriteCount stores the batch and returns how many of its events were new;
// the rest were stored before (len(b.Events) - inserted replays). The
// batch's Count is added to its feed's totals with it.
func (s *Store) WriteCount(ctx context.Context, b *pipeline.Batch) (inserted int, err error) {
	if len(b.Events) == 0 && len(b.Dedup) == 0 && b.Count == nil {
		return 0, nil
	}
	inserted, err = s.store.InsertBatch(ctx, store.EventBatch{ID: b.ID, Events: b.Events, Dedup: persistentKeys(b), Count: b.Count})
	if err != nil {
		return inserted, fmt.Errorf("store %d events of %s: %w", len(b.Events), b.Feed, err)
	}
	return inserted, nil
}

// persistentKeys leaves out the dedup keys that are the identity of an event
// of the batch (a deduplicator without filter keys claims exactly those):
// the stored event already remembers them, forever rather than for a window,
// and writing each twice would cost a second random index insert per event.
func persistentKeys(b *pipeline.Batch) []store.DedupKey {
	if len(b.Dedup) == 0 {
		return nil
	}
	own := make(map[event.Hash]struct{}, len(b.Events))
	for _, e := range b.Events {
		own[e.Hash()] = struct{}{}
	}
	keys := make([]store.DedupKey, 0, len(b.Dedup))
	for _, k := range b.Dedup {
		if _, ok := own[k.Key]; !ok {
			keys = append(keys, k)
		}
	}
	return keys
}

var _ pipeline.Output = (*Store)(nil)
