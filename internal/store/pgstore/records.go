package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/auditsql"
	"github.com/vigil-cert/vigil/internal/store/authsql"
	"github.com/vigil-cert/vigil/internal/store/deadlettersql"
	"github.com/vigil-cert/vigil/internal/store/dedupsql"
	"github.com/vigil-cert/vigil/internal/store/feedsql"
	"github.com/vigil-cert/vigil/internal/store/leasesql"
	"github.com/vigil-cert/vigil/internal/store/statesql"
)

// AddDeadLetters stores letters in one statement, skipping those stored
// already. It stays here rather
// than in deadlettersql, whose statement per letter would cost PostgreSQL
// a round trip per letter: unnest inserts the whole batch at once.
func (s *Store) AddDeadLetters(ctx context.Context, letters []store.DeadLetter) error {
	_, err := s.RecordDeadLetters(ctx, letters)
	return err
}

// RecordDeadLetters is AddDeadLetters that returns how many were new.
func (s *Store) RecordDeadLetters(ctx context.Context, letters []store.DeadLetter) (int64, error) {
	if len(letters) == 0 {
		return 0, nil
	}
	n := len(letters)
	feeds, parsers, sources, errs := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	lines := make([]int64, n)
	inputs, keys := make([][]byte, n), make([][]byte, n)
	times := make([]time.Time, n)
	retried := make([]bool, n)
	for i, l := range deadlettersql.Stored(letters) {
		feeds[i], parsers[i], sources[i], errs[i], retried[i] = l.Feed, l.Parser, l.Source, l.Error, l.Retried
		lines[i], keys[i], inputs[i], times[i] = l.Line, deadlettersql.Key(l), l.Input, l.Time
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO dead_letters (feed, parser, source, line, letter_key, input, error, time, retried)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bytea[], $6::bytea[], $7::text[], $8::timestamptz[], $9::boolean[])
		ON CONFLICT DO NOTHING`,
		feeds, parsers, sources, lines, keys, inputs, errs, times, retried)
	if err != nil {
		return 0, fmt.Errorf("pgstore: add dead letters: %w", err)
	}
	return tag.RowsAffected(), nil
}

// ListDeadLetters returns letters newest first.
func (s *Store) ListDeadLetters(ctx context.Context, q store.DeadLetterQuery) ([]store.DeadLetter, error) {
	out, err := deadlettersql.List(ctx, s.db(), q)
	return out, named(err)
}

// CountDeadLetters returns the number of pending letters per feed.
func (s *Store) CountDeadLetters(ctx context.Context) (map[string]int64, error) {
	out, err := deadlettersql.Count(ctx, s.db())
	return out, named(err)
}

// MarkDeadLettersRetried flags letters as re-run successfully.
func (s *Store) MarkDeadLettersRetried(ctx context.Context, ids []int64) error {
	return named(deadlettersql.MarkRetried(ctx, s.db(), ids))
}

// GetDeadLetter returns the letter id or store.ErrNotFound.
func (s *Store) GetDeadLetter(ctx context.Context, id int64) (store.DeadLetter, error) {
	out, err := deadlettersql.Get(ctx, s.db(), id)
	return out, named(err)
}

// FailDeadLetterRetry records why a re-run of a pending letter failed.
func (s *Store) FailDeadLetterRetry(ctx context.Context, id int64, reason string, when time.Time) error {
	return named(deadlettersql.FailRetry(ctx, s.db(), id, reason, when))
}

// EditDeadLetter sets the input a re-run of a pending letter reads.
func (s *Store) EditDeadLetter(ctx context.Context, id int64, input []byte) error {
	return named(deadlettersql.Edit(ctx, s.db(), id, input))
}

// DiscardDeadLetters marks pending letters discarded.
func (s *Store) DiscardDeadLetters(ctx context.Context, ids []int64, by, reason string) (int64, error) {
	n, err := deadlettersql.Discard(ctx, s.db(), ids, by, reason)
	return n, named(err)
}

// AddFeedCounters adds c to the totals of key. The last run and its
// error are replaced when run is set; the newest event time only moves
// forward.
func (s *Store) AddFeedCounters(ctx context.Context, key store.FeedKey, c store.FeedCounters, run time.Time, lastEvent time.Time, lastError string) error {
	return named(feedsql.AddCounters(ctx, s.db(), key, c, run, lastEvent, lastError))
}

// ListFeedStatus returns every feed's and report's totals, by feed name
// and then by report.
func (s *Store) ListFeedStatus(ctx context.Context) ([]store.FeedStatus, error) {
	out, err := feedsql.ListStatus(ctx, s.db())
	return out, named(err)
}

// LoadDedupKeys calls fn for every key that expires after now.
func (s *Store) LoadDedupKeys(ctx context.Context, now time.Time, fn func(store.DedupKey)) error {
	return named(dedupsql.Load(ctx, s.db(), now, fn))
}

// PruneDedupKeys removes keys expired before now.
func (s *Store) PruneDedupKeys(ctx context.Context, now time.Time) error {
	return named(dedupsql.Prune(ctx, s.db(), now))
}

// CreateUser adds an account; ErrConflict when the name is taken,
// ErrNotFound when u.OrgID names no organisation.
func (s *Store) CreateUser(ctx context.Context, u *store.User) error {
	return named(authsql.CreateUser(ctx, s.db(), u))
}

// GetUser returns the account with id.
func (s *Store) GetUser(ctx context.Context, id int64) (store.User, error) {
	u, err := authsql.GetUser(ctx, s.db(), id)
	return u, named(err)
}

// GetUserByName returns the account with the login name.
func (s *Store) GetUserByName(ctx context.Context, name string) (store.User, error) {
	u, err := authsql.GetUserByName(ctx, s.db(), name)
	return u, named(err)
}

// ListUsers returns every account by name.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	out, err := authsql.ListUsers(ctx, s.db())
	return out, named(err)
}

// UpdateUser replaces the account with u.ID (its creation time is kept).
// ErrNotFound when there is no such account or u.OrgID names no
// organisation.
func (s *Store) UpdateUser(ctx context.Context, u store.User) error {
	return named(authsql.UpdateUser(ctx, s.db(), u))
}

// CountUsers returns the number of accounts.
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	n, err := authsql.CountUsers(ctx, s.db())
	return n, named(err)
}

// CreateSession stores a session.
func (s *Store) CreateSession(ctx context.Context, sess store.Session) error {
	return named(authsql.CreateSession(ctx, s.db(), sess))
}

// GetSession returns the session as stored; callers check Expires.
func (s *Store) GetSession(ctx context.Context, idHash []byte) (store.Session, error) {
	sess, err := authsql.GetSession(ctx, s.db(), idHash)
	return sess, named(err)
}

// DeleteSession removes one session; deleting a missing one is not an error.
func (s *Store) DeleteSession(ctx context.Context, idHash []byte) error {
	return named(authsql.DeleteSession(ctx, s.db(), idHash))
}

// DeleteUserSessions logs a user out everywhere.
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64) error {
	return named(authsql.DeleteUserSessions(ctx, s.db(), userID))
}

// DeleteExpiredSessions removes sessions that expired before now.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) error {
	return named(authsql.DeleteExpiredSessions(ctx, s.db(), now))
}

// CreateAPIToken stores a token; it sets t.ID and t.Created.
func (s *Store) CreateAPIToken(ctx context.Context, t *store.APIToken) error {
	return named(authsql.CreateToken(ctx, s.db(), t))
}

// GetAPITokenByHash finds a token by the hash of its value.
func (s *Store) GetAPITokenByHash(ctx context.Context, hash []byte) (store.APIToken, error) {
	t, err := authsql.GetTokenByHash(ctx, s.db(), hash)
	return t, named(err)
}

// ListAPITokens returns a user's tokens, oldest first.
func (s *Store) ListAPITokens(ctx context.Context, userID int64) ([]store.APIToken, error) {
	out, err := authsql.ListTokens(ctx, s.db(), userID)
	return out, named(err)
}

// DeleteAPIToken removes one of a user's tokens; ErrNotFound when the user
// has no such token.
func (s *Store) DeleteAPIToken(ctx context.Context, userID, id int64) error {
	return named(authsql.DeleteToken(ctx, s.db(), userID, id))
}

// TouchAPIToken records when a token was last used.
func (s *Store) TouchAPIToken(ctx context.Context, id int64, when time.Time) error {
	return named(authsql.TouchToken(ctx, s.db(), id, when))
}

// AddAudit appends an entry; a zero Time is now.
func (s *Store) AddAudit(ctx context.Context, e store.AuditEntry) error {
	return named(auditsql.Add(ctx, s.db(), e))
}

// ListAudit returns entries newest first.
func (s *Store) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	out, err := auditsql.List(ctx, s.db(), q)
	return out, named(err)
}

// GetState returns the value under key; ErrNotFound when absent.
func (s *Store) GetState(ctx context.Context, key string) ([]byte, error) {
	v, err := statesql.Get(ctx, s.db(), key)
	return v, named(err)
}

// PutState sets key to value.
func (s *Store) PutState(ctx context.Context, key string, value []byte) error {
	return named(statesql.Put(ctx, s.db(), key, value))
}

// DeleteState removes key; removing a missing key is not an error.
func (s *Store) DeleteState(ctx context.Context, key string) error {
	return named(statesql.Delete(ctx, s.db(), key))
}

// ListState returns every entry whose key starts with prefix.
func (s *Store) ListState(ctx context.Context, prefix string) (map[string][]byte, error) {
	// starts_with rather than a range: the column's collation need not
	// order keys byte by byte.
	rows, err := s.pool.Query(ctx, `SELECT key, value FROM state WHERE starts_with(key, $1)`, prefix)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list state %s*: %w", prefix, err)
	}
	out := map[string][]byte{}
	var (
		k string
		v []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&k, &v}, func() error {
		if v == nil {
			out[k] = []byte{}
		} else {
			out[k] = v
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: list state %s*: %w", prefix, err)
	}
	return out, nil
}

// TakeLease gives holder the lease name until now+ttl when it is free,
// expired or holder's, and reports whether holder holds it.
func (s *Store) TakeLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	ok, err := leasesql.Take(ctx, s.db(), name, holder, now, ttl)
	return ok, named(err)
}

// ReleaseLease ends holder's lease on name.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	return named(leasesql.Release(ctx, s.db(), name, holder))
}
