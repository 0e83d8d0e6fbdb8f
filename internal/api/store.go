package api

import (
	"context"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// Store is the part of the store the API uses: it reads, and writes only
// the audit entry of a dead-letter re-run and a token's last use. The
// database (database.DB) satisfies it.
type Store interface {
	// Tokens and their users, for authentication.
	GetAPITokenByHash(ctx context.Context, hash []byte) (auth.APIToken, error)
	TouchAPIToken(ctx context.Context, id int64, when time.Time) error
	GetUser(ctx context.Context, id int64) (auth.User, error)

	// Events, all of them for analysts; one organisation's through
	// constituency.EventsOf for constituents.
	GetEvent(ctx context.Context, hash event.Hash) (store.StoredEvent, error)
	store.OrganisationEventReader

	// A constituent's organisation and the notifications it was sent.
	GetOrganisation(ctx context.Context, id int64) (constituency.Organisation, error)
	ListMessages(ctx context.Context, q store.MessageQuery) ([]store.OutboxMessage, error)

	// Dead letters, feeds, and the audit entry of a re-run.
	ListDeadLetters(ctx context.Context, q store.DeadLetterQuery) ([]store.DeadLetter, error)
	CountDeadLetters(ctx context.Context) (map[string]int64, error)
	ListFeedStatus(ctx context.Context) ([]store.FeedStatus, error)
	AddAudit(ctx context.Context, e auth.AuditEntry) error
}

// The full store satisfies Store, so `vigil serve` hands it the store.
var _ Store = (*database.DB)(nil)
