package newsletter

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/publication"
)

// Subscriber states.
const (
	// StatusPending has asked to subscribe and not yet followed the
	// confirmation link.
	StatusPending = "pending"
	// StatusConfirmed receives the newsletter.
	StatusConfirmed = "confirmed"
	// StatusUnsubscribed left (or was removed); kept so that a new
	// subscription needs a new confirmation.
	StatusUnsubscribed = "unsubscribed"
	// StatusBounced is an address the team marked as bouncing.
	StatusBounced = "bounced"
)

// Statuses lists the subscriber states in the order the console shows
// them.
var Statuses = []string{StatusPending, StatusConfirmed, StatusUnsubscribed, StatusBounced}

// MaxAddressBytes bounds a subscriber's address (RFC 5321's path limit).
const MaxAddressBytes = 254

// Subscriber is one address on the list.
type Subscriber struct {
	ID      int64
	Address string // lower case, as ParseAddress returns it
	Lang    string
	// Warnings: the subscriber wants warnings at once, not only the
	// weekly digest.
	Warnings bool
	Status   string
	Created  time.Time
	// Confirmed is when the subscription was confirmed; zero before.
	Confirmed time.Time
	// Changed is the last change of status.
	Changed time.Time
	// ConfirmHash is the SHA-256 of the confirmation token's secret, and
	// ConfirmSent when the last confirmation mail was queued.
	ConfirmHash []byte
	ConfirmSent time.Time
}

// ParseAddress checks an address given on the form: one address without
// a display name, at most MaxAddressBytes, and returns it in lower case.
// The error is an *publication.InputError.
func ParseAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > MaxAddressBytes {
		return "", publication.Refuse("address", msgErrAddress)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || !strings.Contains(a.Address, "@") ||
		strings.ContainsAny(a.Address, " \t\r\n<>\"") {
		return "", publication.Refuse("address", msgErrAddress)
	}
	return strings.ToLower(a.Address), nil
}

// Send states: one mail of an issue to one subscriber.
const (
	SendQueued = "queued"
	// SendSending was handed to the relay; a send left in it by a crash
	// becomes SendUnknown.
	SendSending = "sending"
	SendSent    = "sent"
	SendFailed  = "failed"
	// SendUnknown may or may not have reached the relay; it is never
	// sent again.
	SendUnknown = "unknown"
	// SendSkipped was not sent: the subscriber left before its turn, or
	// the publication was withdrawn, is no longer public or was updated
	// before it.
	SendSkipped = "skipped"
)

// SendStatuses lists them in the order the console shows them.
var SendStatuses = []string{SendQueued, SendSending, SendSent, SendFailed, SendUnknown, SendSkipped}

// Audiences of an issue.
const (
	// AudienceAll is every confirmed subscriber (the digest).
	AudienceAll = "all"
	// AudienceWarnings is the confirmed subscribers who want warnings.
	AudienceWarnings = "warnings"
)

// Issue is one publication's revision sent to the list: a snapshot of
// the publication as it was queued, so that each mail is rendered from
// what was published even when the publication changes later.
type Issue struct {
	ID            int64
	PublicationID int64
	Revision      int
	Audience      string
	Publication   publication.Publication
	// Queued is how many sends the issue made.
	Queued  int
	Created time.Time
}

// Progress is an issue and how many of its sends are in each state.
type Progress struct {
	Issue
	Counts map[string]int
}

// Send is one claimed send: the issue and the subscriber as they are at
// the claim.
type Send struct {
	IssueID      int64
	SubscriberID int64
	Address      string
	Lang         string
	Attempts     int
}

// Count is how many subscribers have one status and language.
type Count struct {
	Status string
	Lang   string
	N      int
}

// Query selects subscribers for the console, newest first. Zero fields do
// not filter.
type Query struct {
	// Text matches part of the address, case-insensitively.
	Text   string
	Status string
	Lang   string
	Limit  int // default 50, at most 1000
	Offset int
}

// Limit applies Query.Limit's default and maximum.
func Limit(n int) int {
	switch {
	case n <= 0:
		return 50
	case n > 1000:
		return 1000
	}
	return n
}

// Request is a subscription asked for on the form.
type Request struct {
	Address  string
	Lang     string
	Warnings bool
	// ConfirmHash is the hash of the new confirmation token's secret.
	ConfirmHash []byte
	At          time.Time
	// Every is the least time between two confirmation mails to one
	// address.
	Every time.Duration
}

// Store keeps the list. Each method is one transaction; store.ErrNotFound
// for a subscriber or issue that does not exist.
type Store interface {
	// RequestSubscription records r and, when a confirmation is to be
	// sent, queues the outbox message mail returns for the subscriber's
	// id in the same transaction, and reports true. Nothing is sent, and
	// nothing changed, for a confirmed subscriber or when the last
	// confirmation to the address was sent less than r.Every ago.
	// Otherwise the subscriber becomes pending with r's language,
	// warnings and confirmation hash.
	RequestSubscription(ctx context.Context, r Request, mail func(id int64) (outbox.Message, error)) (bool, error)
	GetSubscriber(ctx context.Context, id int64) (Subscriber, error)
	// ChangeSubscriber reads the subscriber, lets change set its fields
	// and writes Lang, Warnings, Status, Confirmed, Changed and
	// ConfirmHash; nothing is written when change fails.
	ChangeSubscriber(ctx context.Context, id int64, change func(*Subscriber) error) (Subscriber, error)
	// DeleteSubscriber removes the subscriber and its sends.
	DeleteSubscriber(ctx context.Context, id int64) error
	ListSubscribers(ctx context.Context, q Query) ([]Subscriber, int, error)
	// EachSubscriber calls fn for every subscriber matching q (Limit and
	// Offset ignored), oldest first: the export.
	EachSubscriber(ctx context.Context, q Query, fn func(Subscriber) error) error
	CountSubscribers(ctx context.Context) ([]Count, error)

	// QueueIssue stores is and one queued send per subscriber of its
	// audience (every confirmed one, or those who want warnings), in
	// one statement, and sets is.ID, Queued and Created. An issue of
	// the same publication and revision queued before is returned as it
	// is, with false.
	QueueIssue(ctx context.Context, is *Issue) (bool, error)
	GetIssue(ctx context.Context, id int64) (Issue, error)
	// ListProgress returns the latest issues, newest first, with their
	// sends counted by state.
	ListProgress(ctx context.Context, limit int) ([]Progress, error)
	// ClaimSend marks the oldest due queued send "sending" and returns
	// it, in one commit; false when none is due. A due send whose
	// subscriber is no longer confirmed is marked skipped on the way.
	ClaimSend(ctx context.Context, now time.Time) (Send, bool, error)
	// FinishSend records a claimed send's outcome: its status (queued
	// again with next, sent, failed or unknown), attempts and detail.
	FinishSend(ctx context.Context, s Send, status string, next time.Time, detail string) error
	// AbandonInFlight marks every send still "sending" as unknown and
	// returns how many: run before the mailer starts.
	AbandonInFlight(ctx context.Context, now time.Time) (int, error)
	// SkipQueued marks skipped, with detail, every queued send of the
	// issues of publication publicationID of the revisions before keep
	// (0: of every revision), and returns how many: the publication was
	// withdrawn, is no longer public, or keep replaced the revisions.
	// Sends claimed already are left alone.
	SkipQueued(ctx context.Context, publicationID int64, keep int, detail string) (int, error)
}

// ErrToken is a confirmation or unsubscribe link that is wrong or
// stale.
var ErrToken = errors.New("newsletter: invalid or expired link")
