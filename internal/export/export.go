// Package export writes a set of events as CSV, IntelMQ JSON lines or an
// aligned text table, for the API, the console and the command line, and
// walks a whole store search page by page so that a large export streams
// instead of being held in memory.
package export

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// Events is a sequence of events to export. A sequence stops at its first
// error: writers return that error after what came before it was written.
type Events = iter.Seq2[store.StoredEvent, error]

// Slice exports events already in memory.
func Slice(events []store.StoredEvent) Events {
	return func(yield func(store.StoredEvent, error) bool) {
		for _, e := range events {
			if !yield(e, nil) {
				return
			}
		}
	}
}

// Harmonized exports events that were never stored (a parser's output on the
// command line); their hash is computed, their stored time is zero.
func Harmonized(events []*event.Event) Events {
	return func(yield func(store.StoredEvent, error) bool) {
		for _, e := range events {
			if !yield(store.StoredEvent{Hash: e.Hash(), Event: e}, nil) {
				return
			}
		}
	}
}

// EventSearcher is the part of store.Store a search export needs.
type EventSearcher interface {
	SearchEvents(ctx context.Context, q store.EventQuery) (store.EventPage, error)
}

// DefaultPageSize is how many events Search asks the store for at a time
// when the query sets no Limit: large enough to amortise a query, small
// enough that one page never weighs much.
const DefaultPageSize = 1000

// ErrCursorLoop is returned when a store hands back the cursor it was given,
// which would otherwise make an export run forever.
var ErrCursorLoop = errors.New("store returned the same page cursor twice")

// Search walks every page of q, from q.After (or the start) to the last page,
// asking for q.Limit events at a time (DefaultPageSize when zero). Only one
// page is held at a time. Iterating the sequence again runs the search again.
func Search(ctx context.Context, s EventSearcher, q store.EventQuery) Events {
	if q.Limit <= 0 {
		q.Limit = DefaultPageSize
	}
	return func(yield func(store.StoredEvent, error) bool) {
		q := q // each iteration starts from the original cursor
		for {
			if err := ctx.Err(); err != nil {
				yield(store.StoredEvent{}, err)
				return
			}
			page, err := s.SearchEvents(ctx, q)
			if err != nil {
				yield(store.StoredEvent{}, fmt.Errorf("search events: %w", err))
				return
			}
			for _, e := range page.Events {
				if !yield(e, nil) {
					return
				}
			}
			if page.Next == "" || len(page.Events) == 0 {
				return
			}
			if page.Next == q.After {
				yield(store.StoredEvent{}, ErrCursorLoop)
				return
			}
			q.After = page.Next
		}
	}
}

// Limit stops events after n of them; n <= 0 means no limit.
func Limit(events Events, n int) Events {
	if n <= 0 {
		return events
	}
	return func(yield func(store.StoredEvent, error) bool) {
		count := 0
		for e, err := range events {
			if !yield(e, err) || err != nil {
				return
			}
			count++
			if count >= n {
				return
			}
		}
	}
}

// hashOf returns the stored hash, computing it for an event built in memory.
func hashOf(e store.StoredEvent) event.Hash {
	if e.Hash == (event.Hash{}) && e.Event != nil {
		return e.Event.Hash()
	}
	return e.Hash
}
