package api

import (
	"context"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/feedadmin"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/savedsearch"
	"github.com/vigil-cert/vigil/internal/store"
)

// Store is the part of the store the API uses: it reads, writes the
// organisations, users and outbox retries of the team routes, the audit
// entries of every write and a token's last use. The database (database.DB)
// satisfies it.
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
	ListMessages(ctx context.Context, q outbox.MessageQuery) ([]outbox.Message, error)

	// The team's organisations, its notification log and its accounts.
	ListOrganisations(ctx context.Context, q constituency.OrganisationQuery) ([]constituency.Organisation, error)
	CountOrganisations(ctx context.Context, q constituency.OrganisationQuery) (int64, error)
	CreateOrganisation(ctx context.Context, o *constituency.Organisation) error
	UpdateOrganisation(ctx context.Context, o *constituency.Organisation) error
	DeleteOrganisation(ctx context.Context, id int64) error
	SetOrganisationDisabled(ctx context.Context, id int64, disabled bool) (bool, error)
	GetMessage(ctx context.Context, id int64) (outbox.Message, error)
	RetryMessage(ctx context.Context, id int64, attempts int, next time.Time, lastError string) error
	ListUsers(ctx context.Context) ([]auth.User, error)
	CreateUser(ctx context.Context, u *auth.User) error
	UpdateUser(ctx context.Context, u auth.User) error
	DeleteUser(ctx context.Context, id int64) error
	DeleteUserSessions(ctx context.Context, userID int64) error

	// Notification policies and templates, change requests, imports,
	// the audit log and the team key (a state entry).
	GetNotificationPolicy(ctx context.Context, orgID int64) (notify.Policy, error)
	PutNotificationPolicy(ctx context.Context, p notify.Policy) error
	DeleteNotificationPolicy(ctx context.Context, orgID int64) error
	GetNotificationTemplate(ctx context.Context, language, name string) (notify.TemplateSource, error)
	DeleteNotificationTemplate(ctx context.Context, language, name string) error
	ListNotificationTemplates(ctx context.Context) ([]notify.TemplateSource, error)
	ListChangeRequests(ctx context.Context, orgID int64, includeDone bool) ([]constituency.ChangeRequest, error)
	MarkChangeRequestDone(ctx context.Context, id int64) error
	ConstituencyVersion(ctx context.Context) (int64, error)
	ImportOrganisations(ctx context.Context, orgs []constituency.Organisation, replace bool) (constituency.ImportResult, error)
	ListAudit(ctx context.Context, q auth.AuditQuery) ([]auth.AuditEntry, error)
	GetState(ctx context.Context, key string) ([]byte, error)
	PutState(ctx context.Context, key string, value []byte) error

	// Dead letters, feeds, and the audit entry of a re-run, an edit or a
	// discard.
	ListDeadLetters(ctx context.Context, q store.DeadLetterQuery) ([]store.DeadLetter, error)
	GetDeadLetter(ctx context.Context, id int64) (store.DeadLetter, error)
	EditDeadLetter(ctx context.Context, id int64, input []byte) error
	DiscardDeadLetters(ctx context.Context, ids []int64, by, reason string) (int64, error)
	CountDeadLetters(ctx context.Context) (map[string]int64, error)
	ListFeedStatus(ctx context.Context) ([]store.FeedStatus, error)
	AddAudit(ctx context.Context, e auth.AuditEntry) error

	// The team's saved searches.
	savedsearch.Searches
	// The feeds' recent runs and the runs asked for by hand.
	ListFeedRuns(ctx context.Context, feed string, limit int) ([]feedadmin.Run, error)
	ListFeedRunRequests(ctx context.Context) ([]feedadmin.RunRequest, error)
	// The reports that reached the team and its incidents, and the
	// accounts and organisations their filters and fields name.
	incident.Incidents
	GetUserByName(ctx context.Context, name string) (auth.User, error)
	GetOrganisationByHandle(ctx context.Context, handle string) (constituency.Organisation, error)
	// The observations marked false positives.
	notify.FalsePositives
}

// The full store satisfies Store, so `vigil serve` hands it the store.
var _ Store = (*database.DB)(nil)
