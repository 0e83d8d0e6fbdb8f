package pipeline

import (
	"bytes"
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// RetryDeadLetters runs the given dead letters through their feed's parser
// again (after a parser fix, say). A letter that now yields events without
// a reject is marked retried; one that still fails stays as it was, and no
// new letter is written for it. It returns how many succeeded.
func (r *Runner) RetryDeadLetters(ctx context.Context, ids []int64) (int, error) {
	want := make(map[int64]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	letters, err := r.findDeadLetters(ctx, want)
	if err != nil {
		return 0, err
	}
	var done []int64
	for _, dl := range letters {
		ok, err := r.retryOne(ctx, dl)
		if err != nil {
			return len(done), err
		}
		if ok {
			done = append(done, dl.ID)
		}
	}
	if len(done) > 0 {
		if err := r.env.Store.MarkDeadLettersRetried(ctx, done); err != nil {
			return 0, fmt.Errorf("mark dead letters retried: %w", err)
		}
	}
	return len(done), nil
}

func (r *Runner) findDeadLetters(ctx context.Context, want map[int64]bool) ([]store.DeadLetter, error) {
	var found []store.DeadLetter
	q := store.DeadLetterQuery{Limit: 1000}
	for len(found) < len(want) {
		page, err := r.env.Store.ListDeadLetters(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("list dead letters: %w", err)
		}
		for _, dl := range page {
			if want[dl.ID] {
				found = append(found, dl)
			}
		}
		if len(page) < q.Limit {
			break
		}
		q.BeforeID = page[len(page)-1].ID
	}
	return found, nil
}

func (r *Runner) retryOne(ctx context.Context, dl store.DeadLetter) (bool, error) {
	f, ok := r.feeds[dl.Feed]
	if !ok {
		return false, nil
	}
	s := r.newSink(ctx, f, false)
	if dl.Parser == RefusedParser {
		// The letter stands for the part of an input that was not read:
		// only delivering the input again reads it.
		return false, nil
	}
	if dl.Parser == "output" {
		// A batch an output refused: the letter is the enriched event.
		e := event.New(32)
		if err := e.ParseJSON(dl.Input); err != nil {
			return false, nil
		}
		if err := s.Event(e); err != nil {
			return false, err
		}
		return true, s.finish(nil)
	}
	parseErr := f.Parser.Parse(ctx, Input{Feed: f.Name, Name: dl.Source, Body: bytes.NewReader(dl.Input)}, s)
	err := s.finish(nil)
	if err != nil {
		return false, err
	}
	return parseErr == nil && s.rejected == 0 && s.parsed > 0, nil
}
