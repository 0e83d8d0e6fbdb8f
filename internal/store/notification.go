package store

import (
	"context"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
)

// PendingNotification is a stored event tagged with an organisation and not
// yet handled by the notifier. The store queues one for every organisation
// in an event's extra.constituency when it stores the event. Event is the
// stored event without raw and extra.constituency, which notifications
// never send; an entry whose event is gone (removed by retention while
// queued) comes with a nil Event, and the notifier consumes it.
type PendingNotification struct {
	// Seq is the event's id in the store: the queue's order, and what an
	// OutboxMessage's EventIDs and a NotificationCommit's Done name.
	Seq    int64
	Org    string
	Hash   event.Hash
	Stored time.Time
	Event  *event.Event
}

// PendingRecord is one pending event with every organisation it waits
// for, its event left encoded, as ScanPendingNotifications reads them.
type PendingRecord struct {
	Seq    int64 // as PendingNotification.Seq
	Hash   event.Hash
	Stored time.Time
	Orgs   []string
	// Record is the stored event as event.DecodeRecord reads it (raw and
	// extra.constituency included); nil when the event is gone.
	Record []byte
}

// PendingCount is how much waits for one organisation.
type PendingCount struct {
	Org    string
	Count  int64
	Oldest time.Time // when the oldest pending event was stored
	// First and Last are the lowest and highest Seq pending.
	First, Last int64
}

// NotifiedKey remembers that an observation (an event's notification key:
// what was seen where, without when) was told to an organisation, so that
// it is not told again before Expires.
type NotifiedKey struct {
	Org       string
	Key       event.Hash
	FirstSent time.Time
	Expires   time.Time
	// Repeats counts sightings since the last message that reported them;
	// the next digest says "seen again N times" and resets it. Summary
	// describes the observation in one line for that report. Both are
	// kept in the organisation's tally (NotificationCommit.Repeats), not
	// with the observations told (NotificationCommit.Told).
	Repeats int
	Summary string
}

// Message delivery states.
const (
	MessageQueued = "queued"
	MessageSent   = "sent"
	MessageFailed = "failed"
)

// OutboxMessage is a notification as it waits for, or went through,
// delivery. Body is the complete RFC 5322 message, signed and encrypted as
// it will be sent, so that a retry sends exactly the same bytes.
type OutboxMessage struct {
	ID         int64
	OrgID      int64
	Org        string // the organisation's handle
	Kind       string // "digest", "immediate", "test"
	Sender     string
	Recipients []string
	Subject    string
	MessageID  string // the Message-ID header, without angle brackets
	Body       []byte // empty in ListMessages results
	Size       int    // len(Body)
	Events     int    // how many events it reports
	Encrypted  bool
	// EventIDs are the store ids (PendingNotification.Seq) of the events
	// it reports, for the per-event log; set when committing, not returned
	// by queries.
	EventIDs    []int64
	Status      string // MessageQueued, MessageSent or MessageFailed
	Attempts    int
	NextAttempt time.Time
	// LastError is the last delivery failure; Reply the server's answer to
	// the accepted message.
	LastError string
	Reply     string
	Created   time.Time
	Sent      time.Time
}

// MessageQuery selects outbox messages, newest first. Zero fields do not
// filter.
type MessageQuery struct {
	OrgID     int64
	EventHash event.Hash // messages that reported this event
	Status    string
	Limit     int // default 50, at most 1000
	BeforeID  int64
}

// NotificationCommit is one pass of the notifier for some organisations,
// stored in one transaction: the messages it queued (with the events they
// report), the observations it told and the "seen again" tallies it
// counted, the state it wrote, and the pending notifications it consumed.
// A crash before the commit leaves everything pending, after it everything
// is queued: nothing lost, nothing told twice.
type NotificationCommit struct {
	Messages []OutboxMessage // IDs are set on commit
	// Told are observations told for the first time within the window
	// (Org, Key, FirstSent, Expires); a key told again replaces the
	// earlier record.
	Told []NotifiedKey
	// Repeats replaces the "seen again" tally of every organisation it
	// names (Key, FirstSent, Expires, Repeats, Summary of each entry); an
	// empty list clears it.
	Repeats map[string][]NotifiedKey
	// State is written in the same transaction, as by PutState, e.g. the
	// organisations' last-digest times.
	State map[string][]byte
	// Done lists, by organisation, the Seq of its consumed pending
	// notifications.
	Done map[string][]int64
}

// Notifications keeps the queue of events to notify, what was told to
// whom, and the outbox. (The policies and the templates' overrides are
// notify.Settings, kept by internal/notify/notifydb.)
type Notifications interface {
	// PendingNotificationOrgs lists the organisations with pending events.
	PendingNotificationOrgs(ctx context.Context) ([]PendingCount, error)
	// ListPendingNotifications returns org's pending events after Seq
	// afterSeq, in queue order; limit as EventQuery.Limit (default 50, at
	// most 10000). afterSeq pages within one pass of the notifier only: a
	// seq is never reused, but with PostgreSQL and several writers a lower
	// seq can commit after a higher one was listed, so each pass starts
	// from 0.
	ListPendingNotifications(ctx context.Context, org string, afterSeq int64, limit int) ([]PendingNotification, error)
	// ScanPendingNotifications calls fn for every pending event of every
	// organisation, in Seq order, from one consistent read: one pass over
	// the events in the order they are stored instead of one lookup each,
	// for a notifier pass over most of the queue. An error from fn ends
	// the scan and is returned.
	ScanPendingNotifications(ctx context.Context, fn func(PendingRecord) error) error
	// GetNotifiedKeys returns those of keys told to org that expire after
	// now (Org, Key, FirstSent, Expires).
	GetNotifiedKeys(ctx context.Context, org string, keys []event.Hash, now time.Time) (map[event.Hash]NotifiedKey, error)
	// ListRepeatedKeys returns org's "seen again" tally, the entries that
	// expire after now, by FirstSent then Key; org "" returns every
	// organisation's, by organisation.
	ListRepeatedKeys(ctx context.Context, org string, now time.Time) ([]NotifiedKey, error)
	// NotifiedOrganisations returns the organisations told something that
	// has not expired at now, so that a pass asks only those which keys
	// they were told.
	NotifiedOrganisations(ctx context.Context, now time.Time) (map[string]bool, error)
	// PruneNotifiedKeys removes what expired before now (and may reorganise
	// what is kept).
	PruneNotifiedKeys(ctx context.Context, now time.Time) error
	// CommitNotifications stores c in one transaction. It sets the
	// messages' IDs and Size, and when zero their Status (queued), Created
	// (now) and NextAttempt (Created). A MessageID already stored is an
	// error wrapping ErrConflict; on any error nothing is stored and c is
	// unchanged.
	CommitNotifications(ctx context.Context, c *NotificationCommit) error

	// DueMessages returns queued messages whose NextAttempt is not after
	// now, oldest first, bodies included; limit as MessageQuery.Limit.
	DueMessages(ctx context.Context, now time.Time, limit int) ([]OutboxMessage, error)
	// MarkMessageSent records the delivery and counts it as one more
	// attempt. A sent message never changes again: MarkMessageSent,
	// RetryMessage and FailMessage of it return an error wrapping
	// ErrConflict, so it cannot be sent twice. All three return
	// ErrNotFound for an unknown id.
	MarkMessageSent(ctx context.Context, id int64, when time.Time, reply string) error
	// RetryMessage records a temporary failure and when to try again; it
	// also puts a failed message back in the queue.
	RetryMessage(ctx context.Context, id int64, attempts int, next time.Time, lastError string) error
	// FailMessage records a permanent failure; the message is not retried.
	FailMessage(ctx context.Context, id int64, attempts int, lastError string) error
	GetMessage(ctx context.Context, id int64) (OutboxMessage, error)
	ListMessages(ctx context.Context, q MessageQuery) ([]OutboxMessage, error)
}

// MessageLimit applies MessageQuery.Limit's default (50) and maximum
// (1000); DueMessages takes its limit the same way.
func MessageLimit(n int) int {
	switch {
	case n <= 0:
		return 50
	case n > 1000:
		return 1000
	}
	return n
}

// PrepareMessage fills in what CommitNotifications sets on a message it
// queues: Size, and when zero, Status (queued), Created (at) and
// NextAttempt (Created, so that it is due at once).
func PrepareMessage(m *OutboxMessage, at time.Time) {
	m.Size = len(m.Body)
	if m.Status == "" {
		m.Status = MessageQueued
	}
	if m.Created.IsZero() {
		m.Created = at
	}
	if m.NextAttempt.IsZero() {
		m.NextAttempt = m.Created
	}
}
