// Package store defines how Vigil keeps its state: harmonized events, dead
// letters, feed statistics, the deduplication window, components' state
// and leases, and the queue of events to notify, which is filled when
// events are stored. Two implementations (sqlitestore, pgstore) pass one
// contract suite (storetest). A capability keeps its own tables on the
// same database through the shared SQL layer (sqlkit): its schema,
// queries and contract tests live with it, as the accounts' do in
// internal/auth/authdb, the constituency's in
// internal/constituency/constituencydb, the notifier's in
// internal/notify/notifydb and the outbox's in internal/outbox/outboxdb;
// internal/database puts them together.
package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// ErrNotFound is returned when a looked-up record does not exist.
var ErrNotFound = errors.New("not found")

// NotFound names the operation what in a query's error, and makes a
// single-row query's "no rows" (database/sql's; pgx's is the same error)
// ErrNotFound. Nil stays nil.
func NotFound(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// ErrConflict is returned when a record with the same unique name exists.
var ErrConflict = errors.New("already exists")

// ErrLeaseLost is returned by a write made under a lease (a notifier
// commit's Lease) when another process holds the lease by then: nothing
// was written.
var ErrLeaseLost = errors.New("the lease passed to another process")

// Store is everything Vigil persists. Implementations are safe for
// concurrent use.
type Store interface {
	Events
	EventLookup
	DeadLetters
	Feeds
	Dedup
	State
	NotifyQueue
	Leases
	// DB is the database as the shared SQL layer uses it. A capability
	// keeps its tables on it, created by its own sqlkit.Schema.
	DB() sqlkit.DB
	// Migrate brings the event store's schema to the current version,
	// then each of the capabilities' schemas given, in that order.
	Migrate(ctx context.Context, schemas ...sqlkit.Schema) error
	// Close releases the database.
	Close() error
}

// StoredEvent is an event as kept: its hash (the key) and when it was stored.
type StoredEvent struct {
	Hash   event.Hash
	Stored time.Time
	Event  *event.Event
	// Seq is the event's place in the order events were stored (its row
	// id), set by EventsAfter only.
	Seq int64
}

// EventQuery selects events. Zero fields do not filter. IP, Prefix, ASN and
// FQDN match the source or the destination side; FQDN matches the domain
// and its subdomains; Hash matches any malware.hash.*.
type EventQuery struct {
	IP       netip.Addr
	Prefix   netip.Prefix
	ASN      uint32
	FQDN     string
	URL      string
	Hash     string
	Taxonomy string
	Type     string
	Feed     string
	TLP      string
	From     time.Time // time.source >= From
	To       time.Time // time.source < To
	// Organisation selects events tagged with this constituent's handle
	// (extra.constituency, indexed when the event is first stored); the
	// handle as it is, which SetFilter("org", …) lower-cases.
	Organisation string
	// Limit is the page size (default 50, at most 10000).
	Limit int
	// After continues a previous page: the Cursor of its last result.
	After string
	// Sort is the column the page is ordered by ("" is SortTime), newest
	// or largest first unless Ascending; ties are newest first. A sort by
	// a column other than time covers the newest SearchWindow matches.
	Sort      SortKey
	Ascending bool
}

// EventBatch is a batch of events as the pipeline stores it.
type EventBatch struct {
	// ID names the batch by its content: BatchID of its events as they
	// left their parser, before any was dropped as a duplicate.
	ID     event.Hash
	Events []*event.Event
	// Dedup are the deduplication keys the batch claimed, stored with it.
	Dedup []DedupKey
	// Count, when not nil, is what the batch adds to its feed's totals,
	// which InsertBatch adds (as AddFeedCounters would) in the batch's own
	// commit where the store can, so that a crash cannot store the
	// events without their count, and after it otherwise; a batch with
	// neither events nor keys (every event dropped before the store) is
	// counted only.
	Count *BatchCount
}

// BatchCount is what a batch adds to its feed's totals (EventBatch.Count):
// EventsOut the events the store inserted; Duplicates the events dropped
// before the store and those stored before (all of a batch recognised
// as stored before); LastEvent.
type BatchCount struct {
	Key FeedKey
	// Dropped is how many of the batch's events the pipeline dropped as
	// duplicates before the store.
	Dropped int64
	// LastEvent is the newest time.source of the batch's events, zero
	// for none; the feed's only moves forward.
	LastEvent time.Time
}

// Counters returns the counters of a batch of events events, inserted of
// them new.
func (c *BatchCount) Counters(events, inserted int) FeedCounters {
	return FeedCounters{EventsOut: int64(inserted), Duplicates: c.Dropped + int64(events-inserted)}
}

// BatchID is the identity of a batch of sealed events: the SHA-256 of
// their hashes in order. A batch is named by what it holds rather than by
// its place in a stream (a JetStream sequence, a line of a file) because
// the same events reach the store again under new places too: an input a
// collector delivers a second time after a crash, a file ingested again,
// a batch published again after its publisher lost the acknowledgement.
// The same events in the same order are the same batch wherever they came
// from, and a different input under the same file name is not.
func BatchID(events []*event.Event) event.Hash {
	h := sha256.New()
	for _, e := range events {
		id := e.Hash()
		h.Write(id[:])
	}
	var id event.Hash
	h.Sum(id[:0])
	return id
}

// EventPage is one page of results, in the order EventQuery.Sort asks
// (newest time.source first by default).
type EventPage struct {
	Events []StoredEvent
	// Next is the cursor for the following page, "" on the last one.
	Next string
}

// Events stores and searches harmonized events.
type Events interface {
	// InsertEvents stores a batch in one transaction, together with the
	// deduplication keys the batch claimed (so both survive or vanish
	// together). Events whose hash is already stored are skipped; inserted
	// is how many were new.
	InsertEvents(ctx context.Context, events []*event.Event, dedup []DedupKey) (inserted int, err error)
	// InsertBatch is InsertEvents for a batch of the pipeline that names
	// itself (EventBatch.ID): the ID is recorded in the same commit as
	// the events, and a batch whose ID is recorded already (a redelivery
	// after a crash, the same input ingested again) is recognised as a
	// whole and stores nothing (inserted 0). A zero ID is InsertEvents.
	// The batch's Count, if any, is added to its feed's totals with it.
	InsertBatch(ctx context.Context, b EventBatch) (inserted int, err error)
	SearchEvents(ctx context.Context, q EventQuery) (EventPage, error)
	GetEvent(ctx context.Context, hash event.Hash) (StoredEvent, error)
	// GetOrganisationEvent returns the event stored under hash only when
	// the index that Organisation searches read lists it under the
	// organisation handle org; ErrNotFound otherwise, so that another
	// organisation's event answers exactly like a missing one. The tag
	// inside the event (extra.constituency) is not what decides: it
	// outlives the organisation it names.
	GetOrganisationEvent(ctx context.Context, org string, hash event.Hash) (StoredEvent, error)
	CountEvents(ctx context.Context) (int64, error)
	// CountMatches counts the events q matches (its Limit, After and
	// Sort aside), reading at most bound+1 of them: the answer is exact
	// up to bound, and bound+1 means "more than bound".
	CountMatches(ctx context.Context, q EventQuery, bound int) (int, error)
	// GroupEvents counts the newest SearchWindow events q matches by the
	// column by and returns the top largest groups (TopGroups' order).
	GroupEvents(ctx context.Context, q EventQuery, by GroupKey, top int) ([]GroupCount, error)
	// EventsAfter returns up to limit events (EventQuery.Limit's bounds)
	// stored after the one of Seq after, in the order they were stored,
	// each with its Seq. It returns none whose Seq an insert still in
	// progress could come below (with PostgreSQL it waits for inserts in
	// progress to end), so a follower that keeps the last Seq it read
	// (the pipeline alerts) reads every event once, none twice.
	EventsAfter(ctx context.Context, after int64, limit int) ([]StoredEvent, error)
}

// DeadLetter is input that could not become an event: a line a parser could
// not read, or an event that failed validation. The same input at the same
// line of the same source of a feed is one letter: adding it again (a file
// ingested twice) adds nothing.
type DeadLetter struct {
	ID     int64
	Feed   string
	Parser string
	// Source names the input the letter came from (a file name, a URL),
	// so that a re-run reads it as it was read the first time.
	Source string
	// Line is the line of Source the input was read from, counted from
	// 1; 0 when the parser did not say.
	Line int64
	// Input is the offending line or message, as received.
	Input []byte
	// Edited is the input as a person corrected it; a re-run reads it
	// instead of Input. Nil until edited.
	Edited []byte
	// Error says why, in English: for programs, and for a letter stored
	// before its reason had a message.
	Error string
	// Problem is Error as a message in the catalogue, said in the
	// reader's language (Reason); zero when the reason has none.
	Problem i18n.Message
	Time    time.Time
	// Retried is set once the letter was re-run successfully.
	Retried bool
	// RetryError says why the last re-run failed, at RetryTime, in
	// English; empty when no re-run failed since the letter was added or
	// last edited. RetryProblem says it as a message (RetryReason).
	RetryError   string
	RetryProblem i18n.Message
	RetryTime    time.Time
	// Discarded is set once a person decided the letter needs no re-run:
	// DiscardedBy says who and DiscardReason why.
	Discarded     bool
	DiscardedBy   string
	DiscardReason string
}

// DeadLetterState is where a dead letter stands; its text is the word
// the API and the command line show.
type DeadLetterState string

// The states of a dead letter.
const (
	// DeadLetterPending waits for a re-run or a decision.
	DeadLetterPending DeadLetterState = "pending"
	// DeadLetterRetried was re-run successfully.
	DeadLetterRetried DeadLetterState = "retried"
	// DeadLetterDiscarded was set aside by a person.
	DeadLetterDiscarded DeadLetterState = "discarded"
)

// State returns where the letter stands. A person's decision to discard
// it comes first.
func (l DeadLetter) State() DeadLetterState {
	switch {
	case l.Discarded:
		return DeadLetterDiscarded
	case l.Retried:
		return DeadLetterRetried
	}
	return DeadLetterPending
}

// Reason says why the letter was refused, for a reader of lang: its
// Problem in lang when it has one that c knows, its Error otherwise.
func (l DeadLetter) Reason(c *i18n.Catalog, lang string) string {
	return l.Problem.InOr(c, lang, l.Error)
}

// RetryReason says why the last re-run failed, for a reader of lang, as
// Reason says why the letter was refused.
func (l DeadLetter) RetryReason(c *i18n.Catalog, lang string) string {
	return l.RetryProblem.InOr(c, lang, l.RetryError)
}

// Pending reports whether the letter still waits for a re-run or a
// decision: neither re-run successfully nor discarded.
func (l DeadLetter) Pending() bool { return l.State() == DeadLetterPending }

// MaxEditedDeadLetter is the longest input a person may give a dead letter
// when editing it: far more than any line of a report, far less than what
// would let a form fill the database.
const MaxEditedDeadLetter = 64 << 10

// ErrInputTooLong is returned when an edited dead letter is longer than
// MaxEditedDeadLetter.
var ErrInputTooLong = errors.New("edited input too long")

// DeadLetterQuery selects dead letters; zero fields do not filter. Only
// pending letters are listed unless IncludeRetried or IncludeDiscarded
// says otherwise.
type DeadLetterQuery struct {
	Feed string
	// IncludeRetried lists letters already re-run successfully too.
	IncludeRetried bool
	// IncludeDiscarded lists discarded letters too.
	IncludeDiscarded bool
	Limit            int
	BeforeID         int64
}

// DeadLetters keeps input that failed, so nothing is lost silently.
type DeadLetters interface {
	// AddDeadLetters stores letters, skipping those already stored (the
	// same feed, source, line and input).
	AddDeadLetters(ctx context.Context, letters []DeadLetter) error
	// RecordDeadLetters is AddDeadLetters that returns how many of the
	// letters were new, so that a file ingested again counts none.
	RecordDeadLetters(ctx context.Context, letters []DeadLetter) (int64, error)
	ListDeadLetters(ctx context.Context, q DeadLetterQuery) ([]DeadLetter, error)
	// GetDeadLetter returns the letter id, whatever its state, or
	// ErrNotFound.
	GetDeadLetter(ctx context.Context, id int64) (DeadLetter, error)
	// CountDeadLetters returns the number of pending letters per feed.
	CountDeadLetters(ctx context.Context) (map[string]int64, error)
	MarkDeadLettersRetried(ctx context.Context, ids []int64) error
	// FailDeadLetterRetry records why a re-run of the pending letter id
	// failed, in English and as a message (zero when it has none); the
	// letter stays pending.
	FailDeadLetterRetry(ctx context.Context, id int64, reason string, problem i18n.Message, when time.Time) error
	// EditDeadLetter sets the input a re-run of the pending letter id
	// reads (ErrNotFound when no such letter is pending, ErrInputTooLong
	// past MaxEditedDeadLetter) and clears its last re-run error.
	EditDeadLetter(ctx context.Context, id int64, input []byte) error
	// DiscardDeadLetters marks the pending letters among ids discarded by
	// a person for a reason and returns how many it marked.
	DiscardDeadLetters(ctx context.Context, ids []int64, by, reason string) (int64, error)
}

// FeedCounters are what a pipeline stage adds to a feed's running totals.
type FeedCounters struct {
	LinesRead   int64
	EventsOut   int64
	DeadLetters int64
	Duplicates  int64
	// Warnings counts rows read with something odd about them that cost
	// nothing (a row short of its trailing empty cells).
	Warnings int64
}

// FeedKey names one row of feed statistics: a configured feed, and within
// it a report type. One feed (the inbox, a Shadowserver Reports API
// collector) may bring many report types; Report is Shadowserver's
// feed_name of one ("Accessible-RDP"), or empty for what the feed itself
// counts (inputs whose report type is unknown, failed downloads).
type FeedKey struct {
	Feed   string
	Report string
}

// FeedStatus is the totals and the last run of one feed or of one report
// type within it, for the feeds page.
type FeedStatus struct {
	// Name is the configured feed's name.
	Name string
	// Report is the report type within the feed, empty for the feed's
	// own row.
	Report string
	FeedCounters
	LastRun time.Time
	// LastError is why the last run failed, in English: for programs,
	// and for a run recorded before its reason had a message.
	LastError string
	// LastProblem is LastError as a message in the catalogue, said in
	// the reader's language (LastReason); zero when it has none.
	LastProblem i18n.Message
	// LastEvent is the newest time.source seen, for lag.
	LastEvent time.Time
}

// LastReason says why the last run failed, for a reader of lang: its
// LastProblem in lang when it has one that c knows, its LastError
// otherwise.
func (f FeedStatus) LastReason(c *i18n.Catalog, lang string) string {
	return f.LastProblem.InOr(c, lang, f.LastError)
}

// Feeds keeps per-feed statistics, per report type within a feed.
type Feeds interface {
	// AddFeedCounters adds c to the totals of key. The last run and its
	// error, in English (lastError) and as a message (lastProblem, zero
	// when it has none), are replaced when run is set; the newest event
	// time only moves forward.
	AddFeedCounters(ctx context.Context, key FeedKey, c FeedCounters, run time.Time, lastEvent time.Time, lastError string, lastProblem i18n.Message) error
	// ListFeedStatus returns every row, ordered by feed name and then by
	// report, the feed's own row (Report "") first.
	ListFeedStatus(ctx context.Context) ([]FeedStatus, error)
}

// DedupKey is a deduplication key claimed until Expires.
type DedupKey struct {
	Key     event.Hash
	Expires time.Time
}

// Dedup persists the deduplicator's window so it survives a restart.
type Dedup interface {
	// LoadDedupKeys calls fn for every key that expires after now.
	LoadDedupKeys(ctx context.Context, now time.Time, fn func(DedupKey)) error
	// PruneDedupKeys removes keys expired before now.
	PruneDedupKeys(ctx context.Context, now time.Time) error
	// DedupKeysExist reports, for each of keys, whether a claim of it is
	// committed: a dedup key stored that expires after now, or an event
	// stored under that hash (the store output does not write the keys
	// that are its events' own identities, the stored event stands for
	// them, without an expiry). The deduplicator asks it about the keys
	// its memory may have seen, one batch at a time.
	DedupKeysExist(ctx context.Context, keys []event.Hash, now time.Time) ([]bool, error)
	// BatchRecorded reports whether a batch of identity id (BatchID) is
	// stored: the keys the store holds are then the batch's own, and the
	// deduplicator does not count its events as duplicates of them (the
	// store output recognises the batch and stores nothing).
	BatchRecorded(ctx context.Context, id event.Hash) (bool, error)
}

// State is a small key-value store for components' bookkeeping (HTTP
// collectors' ETags, setup tokens, inbox checkpoints).
type State interface {
	GetState(ctx context.Context, key string) ([]byte, error) // ErrNotFound when absent
	PutState(ctx context.Context, key string, value []byte) error
	DeleteState(ctx context.Context, key string) error
	// ListState returns every entry whose key starts with prefix.
	ListState(ctx context.Context, prefix string) (map[string][]byte, error)
	// SwapState sets key to value only when it holds old (nil old: only
	// when key is absent), atomically, and reports whether it did.
	SwapState(ctx context.Context, key string, old, value []byte) (bool, error)
}

// Leases let one process of several on a database do a job at a time (the
// notifier, the outbox sender). A lease is held until it expires unless
// its holder renews it; holders compare their clocks through it, so the
// processes' clocks must agree to well within the lease's time.
type Leases interface {
	// TakeLease gives holder the lease name until now+ttl when it is
	// free, expired at now, or held by holder already (a renewal), and
	// returns who holds it: holder when it took it, else the other
	// holder, or "" when the lease was released in between.
	TakeLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (string, error)
	// TakeLeaseFrom gives holder the lease name until now+ttl only when
	// from holds it, expired or not, and reports whether it did: a
	// compare-and-swap, so that of several processes taking a lease
	// over from a holder that died, one wins.
	TakeLeaseFrom(ctx context.Context, name, from, holder string, now time.Time, ttl time.Duration) (bool, error)
	// ReleaseLease ends holder's lease on name; it does nothing when
	// another holds it.
	ReleaseLease(ctx context.Context, name, holder string) error
}

// RecordTime is the time the stores write for Created and Updated, in
// microseconds, which both keep exactly.
func RecordTime() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
