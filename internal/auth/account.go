package auth

// The records of accounts: users and their roles, browser sessions, API
// tokens and the audit log. internal/auth/authdb keeps them.

import (
	"errors"
	"time"
)

// ErrLastAdmin refuses to delete the last enabled administrator: nobody
// could manage the accounts after it.
var ErrLastAdmin = errors.New("the last enabled administrator cannot be deleted")

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

// SecondFactors keeps what makes a second-factor code good only once: the
// last accepted TOTP time step of each user and the hashes of the user's
// unused recovery codes. Each check-and-record is one atomic statement,
// Session is a logged-in browser.
type Session struct {
	// IDHash is the SHA-256 of the cookie value; the value itself is never stored.
	IDHash    []byte
	UserID    int64
	CSRFToken string
	Created   time.Time
	Expires   time.Time
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
