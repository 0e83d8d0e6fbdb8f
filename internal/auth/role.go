package auth

import "github.com/vigil-cert/vigil/internal/store"

// Permission is something a role may be allowed to do.
type Permission int

// The permissions the console and API check.
const (
	// ReadEvents covers events, dead letters and feed statistics.
	ReadEvents Permission = iota + 1
	// RetryDeadLetters re-runs dead letters through the pipeline.
	RetryDeadLetters
	// ManageUsers creates, disables and resets accounts.
	ManageUsers
	// ReadAudit reads the audit log.
	ReadAudit
)

// Can reports whether role has permission p. Publishers write advisories
// and see no events: events may carry TLP:AMBER data about constituents.
func Can(role store.Role, p Permission) bool {
	switch role {
	case store.RoleAdmin:
		return true
	case store.RoleAnalyst:
		return p == ReadEvents || p == RetryDeadLetters
	}
	return false
}
