package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

// MaxRetryFeed bounds how many pending letters of a feed one "re-run the
// feed" reads (the newest), so that one request stays bounded.
const MaxRetryFeed = 10000

// RetryResult is what became of one re-run letter: OK, or why not, in
// English (Error) and as a message (Problem, zero when it has none).
type RetryResult struct {
	ID      int64
	OK      bool
	Error   string
	Problem i18n.Message
}

// Reason says why the letter still fails, for a reader of lang: its
// Problem in lang when it has one, its Error otherwise.
func (r RetryResult) Reason(c *i18n.Catalog, lang string) string {
	return r.Problem.InOr(c, lang, r.Error)
}

// RetryDeadLetters runs the given dead letters through their feed's parser
// again (after a parser fix, say). A letter that now yields events without
// a reject is marked retried; one that still fails stays pending with the
// reason recorded, and no new letter is written for it. Letters that are
// not pending (retried, discarded, missing) are skipped. It returns how
// many succeeded.
func (r *Runner) RetryDeadLetters(ctx context.Context, ids []int64) (int, error) {
	results, err := r.RetryDeadLettersReport(ctx, ids)
	n := 0
	for _, res := range results {
		if res.OK {
			n++
		}
	}
	return n, err
}

// RetryDeadLettersReport is RetryDeadLetters that tells what became of each
// pending letter among ids, in the order given.
func (r *Runner) RetryDeadLettersReport(ctx context.Context, ids []int64) ([]RetryResult, error) {
	var (
		results []RetryResult
		done    []int64
	)
	for _, id := range ids {
		dl, err := r.env.Store.GetDeadLetter(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return results, fmt.Errorf("get dead letter: %w", err)
		}
		if !dl.Pending() {
			continue
		}
		why, problem, err := r.retryOne(ctx, dl)
		if err != nil {
			return results, err
		}
		results = append(results, RetryResult{ID: id, OK: why == "", Error: why, Problem: problem})
		if why == "" {
			done = append(done, id)
			continue
		}
		if err := r.env.Store.FailDeadLetterRetry(ctx, id, why, problem, r.env.Now()); err != nil && !errors.Is(err, store.ErrNotFound) {
			return results, fmt.Errorf("record failed retry: %w", err)
		}
	}
	if len(done) > 0 {
		if err := r.env.Store.MarkDeadLettersRetried(ctx, done); err != nil {
			return results, fmt.Errorf("mark dead letters retried: %w", err)
		}
	}
	return results, nil
}

// DeadLetterLister is the part of the store PendingDeadLetterIDs reads.
type DeadLetterLister interface {
	ListDeadLetters(ctx context.Context, q store.DeadLetterQuery) ([]store.DeadLetter, error)
}

// PendingDeadLetterIDs returns the ids of the newest limit pending letters
// of feed, oldest first: what "re-run the feed" re-runs.
func PendingDeadLetterIDs(ctx context.Context, s DeadLetterLister, feed string, limit int) ([]int64, error) {
	var ids []int64
	q := store.DeadLetterQuery{Feed: feed, Limit: 1000}
	for len(ids) < limit {
		page, err := s.ListDeadLetters(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("list dead letters of %s: %w", feed, err)
		}
		for _, dl := range page {
			ids = append(ids, dl.ID)
		}
		if len(page) < q.Limit {
			break
		}
		q.BeforeID = page[len(page)-1].ID
	}
	ids = ids[:min(len(ids), limit)]
	// Newest first from the store; re-run in the order they came.
	for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
		ids[i], ids[j] = ids[j], ids[i]
	}
	return ids, nil
}

// retryOne re-runs one letter and returns why it still fails, in English
// and as a message (zero when the reason has none), or "" when it became
// events. The reasons are for the person who asked.
func (r *Runner) retryOne(ctx context.Context, dl store.DeadLetter) (string, i18n.Message, error) {
	said := func(m i18n.Message) (string, i18n.Message, error) { return m.String(), m, nil }
	f, ok := r.Feed(dl.Feed)
	if !ok {
		return said(i18n.M("pipeline.retry.nofeed", dl.Feed))
	}
	if dl.Parser == RefusedParser {
		// The letter stands for the part of an input that was not read:
		// only delivering the input again reads it.
		return said(i18n.M("pipeline.retry.refused"))
	}
	input := dl.Input
	if dl.Edited != nil {
		input = dl.Edited
	}
	s := r.newSink(ctx, f, false)
	if dl.Parser == "output" {
		// A batch an output refused: the letter is the enriched event.
		e := event.New(32)
		if err := e.ParseJSON(input); err != nil {
			return said(i18n.M("pipeline.retry.notevent", i18n.Reason(err)))
		}
		if err := s.Event(e); err != nil {
			return "", i18n.Message{}, err
		}
		return "", i18n.Message{}, s.finish(nil)
	}
	parseErr := f.Parser.Parse(ctx, Input{Feed: f.Name, Name: dl.Source, Body: bytes.NewReader(input), DeadLetter: true}, s)
	if err := s.finish(nil); err != nil {
		return "", i18n.Message{}, err
	}
	switch {
	case parseErr != nil:
		problem, _ := i18n.Said(parseErr)
		return parseErr.Error(), problem, nil
	case s.rejected > 0:
		return s.firstReject, s.firstProblem, nil
	case s.parsed == 0:
		return said(i18n.M("pipeline.retry.noevent"))
	}
	return "", i18n.Message{}, nil
}
