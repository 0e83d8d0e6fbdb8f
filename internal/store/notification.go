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
	// outbox message's EventIDs and a notifier commit's Done name.
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

// NotifyQueue is the queue of events to notify, filled when events are
// stored (in their transaction) and read by the notifier. What was told to
// whom, the notifier's commit (which consumes the queue, through
// queuesql.ConsumePending, in its transaction) and the settings are
// internal/notify/notifydb's; the outbox is internal/outbox/outboxdb's.
type NotifyQueue interface {
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
}
