package api

import (
	"context"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// Store is the part of the store the API uses: it reads, and writes only
// the audit entry of a dead-letter re-run and a token's last use. The
// full store.Store satisfies it.
type Store interface {
	// Tokens and their users, for authentication.
	GetAPITokenByHash(ctx context.Context, hash []byte) (store.APIToken, error)
	TouchAPIToken(ctx context.Context, id int64, when time.Time) error
	GetUser(ctx context.Context, id int64) (store.User, error)

	// Events, all of them for analysts; one organisation's through
	// store.EventsOf for constituents.
	GetEvent(ctx context.Context, hash event.Hash) (store.StoredEvent, error)
	store.OrganisationEventReader

	// A constituent's organisation and the notifications it was sent.
	GetOrganisation(ctx context.Context, id int64) (store.Organisation, error)
	ListMessages(ctx context.Context, q store.MessageQuery) ([]store.OutboxMessage, error)

	// Dead letters, feeds, and the audit entry of a re-run, an edit or a
	// discard.
	ListDeadLetters(ctx context.Context, q store.DeadLetterQuery) ([]store.DeadLetter, error)
	GetDeadLetter(ctx context.Context, id int64) (store.DeadLetter, error)
	EditDeadLetter(ctx context.Context, id int64, input []byte) error
	DiscardDeadLetters(ctx context.Context, ids []int64, by, reason string) (int64, error)
	CountDeadLetters(ctx context.Context) (map[string]int64, error)
	ListFeedStatus(ctx context.Context) ([]store.FeedStatus, error)
	AddAudit(ctx context.Context, e store.AuditEntry) error
}

// The full store satisfies Store, so `vigil serve` hands it the store.
var _ Store = store.Store(nil)
