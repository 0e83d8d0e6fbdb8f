package mailin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Envelope is what the SMTP session said about a message, apart from the
// message itself: who the sending client claimed to be and where it sent
// the message. It is kept beside the raw message, which Vigil never
// changes (no Received header is added, so the SHA-256 is of the bytes
// as they arrived).
type Envelope struct {
	// From is the address of MAIL FROM (empty for a bounce).
	From string
	// To are the addresses of RCPT TO the listener accepted.
	To []string
	// Client is the client's address and port.
	Client string
	// Helo is the name the client gave in HELO or EHLO.
	Helo string
	// TLS says whether the message came over a TLS connection.
	TLS bool
}

// State is where a spooled message is in its handling.
type State string

// The states of a spooled message.
const (
	// Pending messages wait for the step that turns them into reports.
	Pending State = "pending"
	// Done messages were handled; they are purged after a retention.
	Done State = "done"
	// Failed messages could not be handled; Reason says why. They stay
	// until a person looks at them.
	Failed State = "failed"
)

// Mail is one message in the spool: its raw bytes as received, its
// envelope and its state.
type Mail struct {
	ID int64
	Envelope
	// Received is when the listener had read the whole message.
	Received time.Time
	// Size is len(Raw) and SHA256 its hash (hex), kept so that a list
	// need not read the raw message.
	Size   int64
	SHA256 string
	Raw    []byte
	State  State
	// Reason says why a message failed.
	Reason string
	// Finished is when the message was marked done or failed.
	Finished time.Time
}

// NewMail returns a pending message of raw received at received, its size
// and hash set.
func NewMail(env Envelope, raw []byte, received time.Time) *Mail {
	sum := sha256.Sum256(raw)
	return &Mail{Envelope: env, Received: received.UTC().Truncate(time.Microsecond), Size: int64(len(raw)),
		SHA256: hex.EncodeToString(sum[:]), Raw: raw, State: Pending}
}

// Spool is what the listener needs of the spool: writing the messages of a
// group commit in one transaction, which sets their IDs, or none of them.
type Spool interface {
	PutMail(ctx context.Context, mails []*Mail) error
}

// Mails is the spool as the step that handles its messages uses it
// (internal/mailin/mailindb keeps it). Marking messages done in the same
// transaction as what they became is mailindb.MarkDone.
type Mails interface {
	Spool
	// PendingMail returns up to limit pending messages, oldest first,
	// raw bytes included.
	PendingMail(ctx context.Context, limit int) ([]Mail, error)
	// EachMail calls fn with every message in state, oldest first, one
	// at a time.
	EachMail(ctx context.Context, state State, fn func(Mail) error) error
	// GetMail returns one message; store.ErrNotFound when there is none.
	GetMail(ctx context.Context, id int64) (Mail, error)
	// MarkMailDone marks pending messages done at now.
	MarkMailDone(ctx context.Context, now time.Time, ids ...int64) error
	// MarkMailFailed marks a pending message failed at now, with reason.
	MarkMailFailed(ctx context.Context, now time.Time, id int64, reason string) error
	// PurgeMail deletes the messages marked done before before and returns
	// how many it deleted; failed and pending messages stay.
	PurgeMail(ctx context.Context, before time.Time) (int64, error)
	// CountMail counts the messages in each state.
	CountMail(ctx context.Context) (map[State]int64, error)
}
