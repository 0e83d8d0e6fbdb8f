package console

import (
	"context"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/savedsearch"
	"github.com/vigil-cert/vigil/internal/store"
)

// Store is the part of the store the console uses, by the pages that use
// it. The database (database.DB) satisfies it, so `vigil serve` hands the store
// itself; Config.Store is this.
type Store interface {
	AccountStore
	EventStore
	ConstituencyStore
	NotificationStore
	AuditStore
	DeadLetterStore
	savedsearch.Searches
	FeedAdminStore
	incident.Incidents
	notify.FalsePositives
}

// The full store satisfies Store.
var _ Store = (*database.DB)(nil)

// AccountStore serves signing in and out, the first start, each person's
// account page (password, second factor, API tokens) and the users page.
type AccountStore interface {
	auth.LoginStore
	auth.SessionStore
	auth.SetupStore
	auth.TokenStore
	GetUser(ctx context.Context, id int64) (auth.User, error)
	ListUsers(ctx context.Context) ([]auth.User, error)
	UpdateUser(ctx context.Context, u auth.User) error
	DeleteUser(ctx context.Context, id int64) error
	DeleteUserSessions(ctx context.Context, userID int64) error
	ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte) error
	ListAPITokens(ctx context.Context, userID int64) ([]auth.APIToken, error)
	DeleteAPIToken(ctx context.Context, userID, id int64) error
}

// EventStore serves the home page, event search and export, one event,
// the dead letters and the feeds; store.OrganisationEventReader is what a
// constituent's portal reads its own events through.
type EventStore interface {
	CountEvents(ctx context.Context) (int64, error)
	GetEvent(ctx context.Context, hash event.Hash) (store.StoredEvent, error)
	store.OrganisationEventReader
	CountDeadLetters(ctx context.Context) (map[string]int64, error)
	ListDeadLetters(ctx context.Context, q store.DeadLetterQuery) ([]store.DeadLetter, error)
	ListFeedStatus(ctx context.Context) ([]store.FeedStatus, error)
}

// ConstituencyStore serves the organisation pages, the constituency file
// import and export, and the change requests constituents send from the
// portal.
type ConstituencyStore interface {
	CreateOrganisation(ctx context.Context, o *constituency.Organisation) error
	UpdateOrganisation(ctx context.Context, o *constituency.Organisation) error
	DeleteOrganisation(ctx context.Context, id int64) error
	SetOrganisationDisabled(ctx context.Context, id int64, disabled bool) (bool, error)
	GetOrganisation(ctx context.Context, id int64) (constituency.Organisation, error)
	GetOrganisationByHandle(ctx context.Context, handle string) (constituency.Organisation, error)
	ListOrganisations(ctx context.Context, q constituency.OrganisationQuery) ([]constituency.Organisation, error)
	CountOrganisations(ctx context.Context, q constituency.OrganisationQuery) (int64, error)
	ImportOrganisations(ctx context.Context, orgs []constituency.Organisation, replace bool) (constituency.ImportResult, error)
	ConstituencyVersion(ctx context.Context) (int64, error)
	AddChangeRequest(ctx context.Context, r *constituency.ChangeRequest) error
	ListChangeRequests(ctx context.Context, orgID int64, includeDone bool) ([]constituency.ChangeRequest, error)
	MarkChangeRequestDone(ctx context.Context, id int64) error
}

// NotificationStore serves the notification pages: policies, templates,
// the messages sent, and the team's key kept in the state table (saving a
// template goes through the Notifier).
type NotificationStore interface {
	GetNotificationPolicy(ctx context.Context, orgID int64) (notify.Policy, error)
	PutNotificationPolicy(ctx context.Context, p notify.Policy) error
	DeleteNotificationPolicy(ctx context.Context, orgID int64) error
	GetNotificationTemplate(ctx context.Context, language, name string) (notify.TemplateSource, error)
	DeleteNotificationTemplate(ctx context.Context, language, name string) error
	ListNotificationTemplates(ctx context.Context) ([]notify.TemplateSource, error)
	ListMessages(ctx context.Context, q outbox.MessageQuery) ([]outbox.Message, error)
	GetState(ctx context.Context, key string) ([]byte, error)
	PutState(ctx context.Context, key string, value []byte) error
}

// AuditStore serves the audit log page and records what the console does.
type AuditStore interface {
	auth.AuditLog
	ListAudit(ctx context.Context, q auth.AuditQuery) ([]auth.AuditEntry, error)
}
