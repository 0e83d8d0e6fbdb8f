// Package store defines how Vigil keeps its state: harmonized events, dead
// letters, feed statistics, accounts, sessions, API tokens, the audit log,
// the constituency and its notifications.
// Two implementations (sqlitestore, pgstore) pass one contract suite
// (storetest).
package store

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
)

// ErrNotFound is returned when a looked-up record does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a record with the same unique name exists.
var ErrConflict = errors.New("already exists")

// Store is everything Vigil persists. Implementations are safe for
// concurrent use.
type Store interface {
	Events
	DeadLetters
	Feeds
	Dedup
	Users
	SecondFactors
	Sessions
	Tokens
	Audit
	State
	Constituency
	Notifications
	Leases
	// Migrate brings the schema to the current version.
	Migrate(ctx context.Context) error
	// Close releases the database.
	Close() error
}

// StoredEvent is an event as kept: its hash (the key) and when it was stored.
type StoredEvent struct {
	Hash   event.Hash
	Stored time.Time
	Event  *event.Event
}

// EventQuery selects events. Zero fields do not filter. IP, Prefix, ASN and
// FQDN match the source or the destination side; FQDN matches the domain
// and its subdomains; Hash matches any malware.hash.*.
type EventQuery struct {
	IP       netip.Addr
	Prefix   netip.Prefix
	ASN      uint32
	FQDN     string
	URL      string
	Hash     string
	Taxonomy string
	Type     string
	Feed     string
	TLP      string
	From     time.Time // time.source >= From
	To       time.Time // time.source < To
	// Organisation selects events tagged with this constituent's handle
	// (extra.constituency, indexed when the event is first stored); the
	// handle as it is, which SetFilter("org", …) lower-cases.
	Organisation string
	// Limit is the page size (default 50, at most 10000).
	Limit int
	// After continues a previous page: the Cursor of its last result.
	After string
	// Sort is the column the page is ordered by ("" is SortTime), newest
	// or largest first unless Ascending; ties are newest first. A sort by
	// a column other than time covers the newest SearchWindow matches.
	Sort      SortKey
	Ascending bool
}

// EventPage is one page of results, in the order EventQuery.Sort asks
// (newest time.source first by default).
type EventPage struct {
	Events []StoredEvent
	// Next is the cursor for the following page, "" on the last one.
	Next string
}

// Events stores and searches harmonized events.
type Events interface {
	// InsertEvents stores a batch in one transaction, together with the
	// deduplication keys the batch claimed (so both survive or vanish
	// together). Events whose hash is already stored are skipped; inserted
	// is how many were new.
	InsertEvents(ctx context.Context, events []*event.Event, dedup []DedupKey) (inserted int, err error)
	SearchEvents(ctx context.Context, q EventQuery) (EventPage, error)
	GetEvent(ctx context.Context, hash event.Hash) (StoredEvent, error)
	// GetOrganisationEvent returns the event stored under hash only when
	// the index that Organisation searches read lists it under the
	// organisation handle org; ErrNotFound otherwise, so that another
	// organisation's event answers exactly like a missing one. The tag
	// inside the event (extra.constituency) is not what decides: it
	// outlives the organisation it names.
	GetOrganisationEvent(ctx context.Context, org string, hash event.Hash) (StoredEvent, error)
	CountEvents(ctx context.Context) (int64, error)
	// CountMatches counts the events q matches (its Limit, After and
	// Sort aside), reading at most bound+1 of them: the answer is exact
	// up to bound, and bound+1 means "more than bound".
	CountMatches(ctx context.Context, q EventQuery, bound int) (int, error)
	// GroupEvents counts the newest SearchWindow events q matches by the
	// column by and returns the top largest groups (TopGroups' order).
	GroupEvents(ctx context.Context, q EventQuery, by GroupKey, top int) ([]GroupCount, error)
}

// DeadLetter is input that could not become an event: a line a parser could
// not read, or an event that failed validation.
type DeadLetter struct {
	ID     int64
	Feed   string
	Parser string
	// Source names the input the letter came from (a file name, a URL),
	// so that a re-run reads it as it was read the first time.
	Source string
	// Input is the offending line or message, as received.
	Input []byte
	// Error says why, for a person.
	Error string
	Time  time.Time
	// Retried is set once the letter was re-run successfully.
	Retried bool
}

// DeadLetterQuery selects dead letters; zero fields do not filter.
type DeadLetterQuery struct {
	Feed string
	// IncludeRetried lists letters already re-run successfully too.
	IncludeRetried bool
	Limit          int
	BeforeID       int64
}

// DeadLetters keeps input that failed, so nothing is lost silently.
type DeadLetters interface {
	AddDeadLetters(ctx context.Context, letters []DeadLetter) error
	ListDeadLetters(ctx context.Context, q DeadLetterQuery) ([]DeadLetter, error)
	// CountDeadLetters returns the number of pending letters per feed.
	CountDeadLetters(ctx context.Context) (map[string]int64, error)
	MarkDeadLettersRetried(ctx context.Context, ids []int64) error
}

// FeedCounters are what a pipeline stage adds to a feed's running totals.
type FeedCounters struct {
	LinesRead   int64
	EventsOut   int64
	DeadLetters int64
	Duplicates  int64
	// Warnings counts rows read with something odd about them that cost
	// nothing (a row short of its trailing empty cells).
	Warnings int64
}

// FeedKey names one row of feed statistics: a configured feed, and within
// it a report type. One feed (the inbox, a Shadowserver Reports API
// collector) may bring many report types; Report is Shadowserver's
// feed_name of one ("Accessible-RDP"), or empty for what the feed itself
// counts (inputs whose report type is unknown, failed downloads).
type FeedKey struct {
	Feed   string
	Report string
}

// FeedStatus is the totals and the last run of one feed or of one report
// type within it, for the feeds page.
type FeedStatus struct {
	// Name is the configured feed's name.
	Name string
	// Report is the report type within the feed, empty for the feed's
	// own row.
	Report string
	FeedCounters
	LastRun   time.Time
	LastError string
	// LastEvent is the newest time.source seen, for lag.
	LastEvent time.Time
}

// Feeds keeps per-feed statistics, per report type within a feed.
type Feeds interface {
	// AddFeedCounters adds c to the totals of key. The last run and its
	// error are replaced when run is set; the newest event time only moves
	// forward.
	AddFeedCounters(ctx context.Context, key FeedKey, c FeedCounters, run time.Time, lastEvent time.Time, lastError string) error
	// ListFeedStatus returns every row, ordered by feed name and then by
	// report, the feed's own row (Report "") first.
	ListFeedStatus(ctx context.Context) ([]FeedStatus, error)
}

// DedupKey is a deduplication key claimed until Expires.
type DedupKey struct {
	Key     event.Hash
	Expires time.Time
}

// Dedup persists the deduplicator's window so it survives a restart.
type Dedup interface {
	// LoadDedupKeys calls fn for every key that expires after now.
	LoadDedupKeys(ctx context.Context, now time.Time, fn func(DedupKey)) error
	// PruneDedupKeys removes keys expired before now.
	PruneDedupKeys(ctx context.Context, now time.Time) error
}

// Role is what a user may do.
type Role string

// The roles of this release.
const (
	RoleAdmin     Role = "admin"
	RoleAnalyst   Role = "analyst"
	RolePublisher Role = "publisher"
	// RoleConstituent is a constituent organisation's user: it sees only
	// its own organisation (User.OrgID), in the portal.
	RoleConstituent Role = "constituent"
)

// ValidRole reports whether r is known.
func ValidRole(r Role) bool {
	switch r {
	case RoleAdmin, RoleAnalyst, RolePublisher, RoleConstituent:
		return true
	}
	return false
}

// User is an account of the console and API.
type User struct {
	ID           int64
	Name         string // login name, unique
	Email        string
	Role         Role
	PasswordHash string // argon2id, PHC string form
	TOTPSecret   string // "" when no second factor
	Language     string // en, nl, fr
	Disabled     bool
	Created      time.Time
	// OrgID is the organisation of a constituent user; 0 for the team.
	OrgID int64
}

// Users keeps accounts.
type Users interface {
	// CreateUser sets u.ID and u.Created (when zero); ErrConflict on a
	// taken name, ErrNotFound when u.OrgID is neither 0 nor an
	// organisation.
	CreateUser(ctx context.Context, u *User) error
	GetUser(ctx context.Context, id int64) (User, error)
	GetUserByName(ctx context.Context, name string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	// UpdateUser replaces the account u.ID but its creation time;
	// ErrNotFound when there is no such account or u.OrgID is neither 0
	// nor an organisation, ErrConflict on a taken name.
	UpdateUser(ctx context.Context, u User) error
	CountUsers(ctx context.Context) (int64, error)
}

// SecondFactors keeps what makes a second-factor code good only once: the
// last accepted TOTP time step of each user and the hashes of the user's
// unused recovery codes. Each check-and-record is one atomic statement,
// so two processes on one database cannot both accept the same code.
type SecondFactors interface {
	// ClaimTOTPStep records step as the user's last accepted TOTP time
	// step and reports true when it is later than the one recorded
	// before; false (a replayed or older code, or no such user) leaves
	// the record as it was.
	ClaimTOTPStep(ctx context.Context, userID, step int64) (bool, error)
	// ReplaceRecoveryCodes drops the user's recovery codes and keeps the
	// given hashes instead (none: the user has no recovery codes).
	ReplaceRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte) error
	// UseRecoveryCode removes the user's code with hash and reports
	// whether there was one: a recovery code works once.
	UseRecoveryCode(ctx context.Context, userID int64, hash []byte) (bool, error)
	// CountRecoveryCodes returns how many unused codes the user has.
	CountRecoveryCodes(ctx context.Context, userID int64) (int, error)
}

// Session is a logged-in browser.
type Session struct {
	// IDHash is the SHA-256 of the cookie value; the value itself is never stored.
	IDHash    []byte
	UserID    int64
	CSRFToken string
	Created   time.Time
	Expires   time.Time
}

// Sessions keeps browser sessions.
type Sessions interface {
	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, idHash []byte) (Session, error)
	DeleteSession(ctx context.Context, idHash []byte) error
	DeleteUserSessions(ctx context.Context, userID int64) error
	DeleteExpiredSessions(ctx context.Context, now time.Time) error
}

// APIToken is a per-user API credential; only its hash is stored.
type APIToken struct {
	ID       int64
	UserID   int64
	Name     string
	Hash     []byte // SHA-256 of the token
	Created  time.Time
	LastUsed time.Time
}

// Tokens keeps API tokens.
type Tokens interface {
	CreateAPIToken(ctx context.Context, t *APIToken) error
	GetAPITokenByHash(ctx context.Context, hash []byte) (APIToken, error)
	ListAPITokens(ctx context.Context, userID int64) ([]APIToken, error)
	DeleteAPIToken(ctx context.Context, userID, id int64) error
	TouchAPIToken(ctx context.Context, id int64, when time.Time) error
}

// AuditEntry records one write: who, when, what.
type AuditEntry struct {
	ID     int64
	Time   time.Time
	UserID int64 // 0 for the system or the command line
	Actor  string
	Action string // e.g. "user.create", "deadletter.retry"
	Target string
	Detail string
}

// AuditQuery selects audit entries, newest first.
type AuditQuery struct {
	Limit    int
	BeforeID int64
	Actor    string
}

// Audit keeps the audit log; it is append-only.
type Audit interface {
	AddAudit(ctx context.Context, e AuditEntry) error
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
}

// State is a small key-value store for components' bookkeeping (HTTP
// collectors' ETags, setup tokens, inbox checkpoints).
type State interface {
	GetState(ctx context.Context, key string) ([]byte, error) // ErrNotFound when absent
	PutState(ctx context.Context, key string, value []byte) error
	DeleteState(ctx context.Context, key string) error
	// ListState returns every entry whose key starts with prefix.
	ListState(ctx context.Context, prefix string) (map[string][]byte, error)
}

// Leases let one process of several on a database do a job at a time (the
// notifier, the outbox sender). A lease is held until it expires unless
// its holder renews it; holders compare their clocks through it, so the
// processes' clocks must agree to well within the lease's time.
type Leases interface {
	// TakeLease gives holder the lease name until now+ttl when it is
	// free, expired at now, or held by holder already (a renewal), and
	// reports whether holder holds it.
	TakeLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
	// ReleaseLease ends holder's lease on name; it does nothing when
	// another holds it.
	ReleaseLease(ctx context.Context, name, holder string) error
}

// RecordTime is the time the stores write for Created and Updated, in
// microseconds, which both keep exactly.
func RecordTime() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
