package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/deadlettersql"
	"github.com/vigil-cert/vigil/internal/store/dedupsql"
	"github.com/vigil-cert/vigil/internal/store/feedsql"
	"github.com/vigil-cert/vigil/internal/store/leasesql"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
	"github.com/vigil-cert/vigil/internal/store/statesql"
)

// AddDeadLetters stores letters in one transaction, skipping those
// stored already.
func (s *Store) AddDeadLetters(ctx context.Context, letters []store.DeadLetter) error {
	_, err := s.RecordDeadLetters(ctx, letters)
	return err
}

// RecordDeadLetters is AddDeadLetters that returns how many were new.
func (s *Store) RecordDeadLetters(ctx context.Context, letters []store.DeadLetter) (int64, error) {
	n, err := deadlettersql.Add(ctx, s.DB(), letters)
	return n, named(err)
}

// ListDeadLetters returns letters newest first.
func (s *Store) ListDeadLetters(ctx context.Context, q store.DeadLetterQuery) ([]store.DeadLetter, error) {
	out, err := deadlettersql.List(ctx, s.DB(), q)
	return out, named(err)
}

// CountDeadLetters returns the number of pending letters per feed.
func (s *Store) CountDeadLetters(ctx context.Context) (map[string]int64, error) {
	out, err := deadlettersql.Count(ctx, s.DB())
	return out, named(err)
}

// MarkDeadLettersRetried flags letters as re-run successfully.
func (s *Store) MarkDeadLettersRetried(ctx context.Context, ids []int64) error {
	return named(deadlettersql.MarkRetried(ctx, s.DB(), ids))
}

// GetDeadLetter returns the letter id or store.ErrNotFound.
func (s *Store) GetDeadLetter(ctx context.Context, id int64) (store.DeadLetter, error) {
	out, err := deadlettersql.Get(ctx, s.DB(), id)
	return out, named(err)
}

// FailDeadLetterRetry records why a re-run of a pending letter failed.
func (s *Store) FailDeadLetterRetry(ctx context.Context, id int64, reason string, problem i18n.Message, when time.Time) error {
	return named(deadlettersql.FailRetry(ctx, s.DB(), id, reason, problem, when))
}

// EditDeadLetter sets the input a re-run of a pending letter reads.
func (s *Store) EditDeadLetter(ctx context.Context, id int64, input []byte) error {
	return named(deadlettersql.Edit(ctx, s.DB(), id, input))
}

// DiscardDeadLetters marks pending letters discarded.
func (s *Store) DiscardDeadLetters(ctx context.Context, ids []int64, by, reason string) (int64, error) {
	n, err := deadlettersql.Discard(ctx, s.DB(), ids, by, reason)
	return n, named(err)
}

// AddFeedCounters adds c to the totals of key. The last run and its
// error are replaced when run is set; the newest event time only moves
// forward.
func (s *Store) AddFeedCounters(ctx context.Context, key store.FeedKey, c store.FeedCounters, run time.Time, lastEvent time.Time, lastError string, lastProblem i18n.Message) error {
	return named(feedsql.AddCounters(ctx, s.DB(), key, c, run, lastEvent, lastError, lastProblem))
}

// ListFeedStatus returns every feed's and report's totals, by feed name
// and then by report.
func (s *Store) ListFeedStatus(ctx context.Context) ([]store.FeedStatus, error) {
	out, err := feedsql.ListStatus(ctx, s.DB())
	return out, named(err)
}

// LoadDedupKeys calls fn for every key that expires after now.
func (s *Store) LoadDedupKeys(ctx context.Context, now time.Time, fn func(store.DedupKey)) error {
	return named(dedupsql.Load(ctx, s.DB(), now, fn))
}

// PruneDedupKeys removes keys expired before now.
func (s *Store) PruneDedupKeys(ctx context.Context, now time.Time) error {
	return named(dedupsql.Prune(ctx, s.DB(), now))
}

// DedupKeysExist reports which of keys have a committed claim: a dedup
// key unexpired at now or an event stored under that hash.
func (s *Store) DedupKeysExist(ctx context.Context, keys []event.Hash, now time.Time) ([]bool, error) {
	found, err := dedupsql.Exist(ctx, s.DB(), s, keys, now)
	return found, named(err)
}

// GetState returns the value under key; ErrNotFound when absent.
func (s *Store) GetState(ctx context.Context, key string) ([]byte, error) {
	v, err := statesql.Get(ctx, s.DB(), key)
	return v, named(err)
}

// PutState sets key to value.
func (s *Store) PutState(ctx context.Context, key string, value []byte) error {
	return named(statesql.Put(ctx, s.DB(), key, value))
}

// DeleteState removes key; removing a missing key is not an error.
func (s *Store) DeleteState(ctx context.Context, key string) error {
	return named(statesql.Delete(ctx, s.DB(), key))
}

// SwapState sets key to value only when it holds old (nil: when absent).
func (s *Store) SwapState(ctx context.Context, key string, old, value []byte) (bool, error) {
	ok, err := statesql.Swap(ctx, s.DB(), key, old, value)
	return ok, named(err)
}

// ListState returns every entry whose key starts with prefix.
func (s *Store) ListState(ctx context.Context, prefix string) (map[string][]byte, error) {
	query, args := `SELECT key, value FROM state WHERE key >= ?`, []any{prefix}
	if end, ok := prefixEnd(prefix); ok {
		query, args = query+` AND key < ?`, append(args, end)
	}
	out := map[string][]byte{}
	err := sqlkit.Each(ctx, s.read, query, args, func(rows *sql.Rows) error {
		var (
			k string
			v []byte
		)
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		if v == nil {
			v = []byte{}
		}
		out[k] = v
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list state %s*: %w", prefix, err)
	}
	return out, nil
}

// TakeLease gives holder the lease name until now+ttl when it is free,
// expired or holder's, and returns who holds it.
func (s *Store) TakeLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (string, error) {
	held, err := leasesql.Take(ctx, s.DB(), name, holder, now, ttl)
	return held, named(err)
}

// TakeLeaseFrom gives holder the lease name until now+ttl when from
// holds it, and reports whether it did.
func (s *Store) TakeLeaseFrom(ctx context.Context, name, from, holder string, now time.Time, ttl time.Duration) (bool, error) {
	ok, err := leasesql.TakeFrom(ctx, s.DB(), name, from, holder, now, ttl)
	return ok, named(err)
}

// ReleaseLease ends holder's lease on name.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	return named(leasesql.Release(ctx, s.DB(), name, holder))
}

// prefixEnd returns the least string greater than every string that
// starts with prefix, for a range query; false when there is none (an
// empty prefix, or one of only 0xff bytes).
func prefixEnd(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// BatchRecorded reports whether the batch of identity id is stored: by
// a statement kept prepared, since every batch asks it (parsing it cost
// about 0.2 µs an ingested event).
func (s *Store) BatchRecorded(ctx context.Context, id event.Hash) (bool, error) {
	st, err := s.readStmt(ctx, dedupsql.BatchRecordedSQL)
	if err != nil {
		return false, named(fmt.Errorf("batch recorded: %w", err))
	}
	var n int
	if err := st.QueryRowContext(ctx, id[:]).Scan(&n); err != nil {
		return false, named(fmt.Errorf("batch recorded: %w", err))
	}
	return n > 0, nil
}
