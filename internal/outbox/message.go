package outbox

import (
	"context"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
)

// Message delivery states.
const (
	MessageQueued = "queued"
	MessageSent   = "sent"
	MessageFailed = "failed"
)

// Message is a notification as it waits for, or went through, delivery.
// Body is the complete RFC 5322 message, signed and encrypted as it will
// be sent, so that a retry sends exactly the same bytes.
type Message struct {
	ID         int64
	OrgID      int64
	Org        string // the organisation's handle
	Kind       string // "digest", "immediate", "test"
	Sender     string
	Recipients []string
	Subject    string
	MessageID  string // the Message-ID header, without angle brackets
	Body       []byte // empty in ListMessages results
	// Packed is Body in the form the database keeps it (PackBody), when
	// the message's maker packed it already: the notifier's workers do,
	// so that the packing is spread over them rather than left to the
	// one goroutine that commits. Queueing packs Body when Packed is
	// nil. Never returned by queries. A maker that packed the body may
	// let Body go (nil), with Size set to its length: the notifier does,
	// and reuses the body's array for the next message.
	Packed    []byte
	Size      int // len(Body)
	Events    int // how many events it reports
	Encrypted bool
	// EventIDs are the event store's ids of the events it reports
	// (store.PendingNotification.Seq), for the per-event log; set when
	// queueing, not returned by queries.
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

// Messages is the outbox as kept in the database (internal/outbox/outboxdb):
// the messages queued by the notifier, delivered by the Sender, and read
// by the console and the API. Messages are queued by the notifier's commit,
// in the transaction that consumes what they report.
type Messages interface {
	Queue
	GetMessage(ctx context.Context, id int64) (Message, error)
	ListMessages(ctx context.Context, q MessageQuery) ([]Message, error)
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

// PrepareMessage fills in what queueing sets on a message: Size (unless
// its maker let Body go once it was packed, and said its Size), and when
// zero, Status (queued), Created (at) and NextAttempt (Created, so that
// it is due at once).
func PrepareMessage(m *Message, at time.Time) {
	if m.Body != nil || m.Packed == nil {
		m.Size = len(m.Body)
	}
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
