package notify

import (
	"context"
	"time"
)

// Digest schedules of a notification policy.
const (
	DigestHourly = "hourly"
	DigestDaily  = "daily"
	DigestOff    = "off" // only the Immediate types are sent
)

// Notification formats.
const (
	FormatSummary = "summary" // a readable summary with a CSV attachment
	FormatJSON    = "json"    // the summary with the events as IntelMQ JSON
	FormatXARF    = "xarf"    // one X-ARF v4 report per event
)

// Policy says what an organisation is told, how often and how. The
// policy of OrgID 0 is the team-wide default for organisations without
// one of their own.
type Policy struct {
	OrgID   int64
	Enabled bool
	// Taxonomies, Types and Feeds select the events notified (RSIT
	// taxonomy, classification.type, feed.name); empty selects all.
	Taxonomies []string
	Types      []string
	Feeds      []string
	// Immediate lists the classification types sent at once, one message
	// per pass of the notifier, rather than in the digest.
	Immediate []string
	Digest    string // DigestHourly, DigestDaily or DigestOff
	Format    string // FormatSummary, FormatJSON or FormatXARF
	// Language overrides the organisation's language; "" keeps it.
	Language string
	Updated  time.Time
}

// TemplateSource is the text of a message template: a built-in one, or
// the team's override of it as stored. Name is "digest", "immediate", or
// "type/<classification.type>" for the explanation of one kind of
// problem.
type TemplateSource struct {
	Language  string
	Name      string
	Subject   string // text/template; empty for type explanations
	Body      string // text/template
	Updated   time.Time
	UpdatedBy string
}

// Settings keeps what the team decided about notifications: the policies
// and the templates' overrides (internal/notify/notifydb keeps them in the
// database). Errors wrap store.ErrNotFound where said.
type Settings interface {
	// GetNotificationPolicy returns ErrNotFound when orgID has no policy.
	GetNotificationPolicy(ctx context.Context, orgID int64) (Policy, error)
	// PutNotificationPolicy creates or replaces p.OrgID's policy; a zero
	// Updated is now. ErrNotFound when p.OrgID is neither 0 nor an
	// organisation.
	PutNotificationPolicy(ctx context.Context, p Policy) error
	// DeleteNotificationPolicy removes orgID's policy; removing a missing
	// one is not an error.
	DeleteNotificationPolicy(ctx context.Context, orgID int64) error
	// ListNotificationPolicies returns every policy by organisation ID,
	// the team default (0) first.
	ListNotificationPolicies(ctx context.Context) ([]Policy, error)

	// GetNotificationTemplate returns ErrNotFound when not overridden.
	GetNotificationTemplate(ctx context.Context, language, name string) (TemplateSource, error)
	// PutNotificationTemplate creates or replaces an override; a zero
	// Updated is now.
	PutNotificationTemplate(ctx context.Context, t TemplateSource) error
	// DeleteNotificationTemplate removes an override; removing a missing
	// one is not an error.
	DeleteNotificationTemplate(ctx context.Context, language, name string) error
	// ListNotificationTemplates returns every override by language, then
	// name.
	ListNotificationTemplates(ctx context.Context) ([]TemplateSource, error)
}
