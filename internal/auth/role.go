package auth

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
	// ReadConstituency lists the organisations the team serves, their
	// contacts and change requests, and answers "who owns this?".
	ReadConstituency
	// ManageConstituency creates, edits, imports and deletes
	// organisations and handles their change requests.
	ManageConstituency
	// ManageNotifications reads the notification log and sets the
	// notification policies and templates.
	ManageNotifications
	// ManageTeamKey generates or replaces the team's OpenPGP key, which
	// signs every notification: only administrators, like accounts.
	ManageTeamKey
	// ManageFeeds adds, changes, pauses, resumes and runs feeds from the
	// console and the API: only administrators, like the configuration
	// file they override.
	ManageFeeds
	// ReadIncidents reads the reports that reached the team and the
	// incidents they are grouped into: the triage queue and the cases.
	ReadIncidents
	// HandleIncidents logs, triages and closes reports and opens, changes,
	// assigns and closes incidents.
	HandleIncidents
	// ReadPublications reads advisories, warnings, news and digests of
	// every TLP, their history and their deliveries.
	ReadPublications
	// WritePublications writes and edits drafts and sends them to review.
	WritePublications
	// ApprovePublications approves, schedules, publishes and withdraws
	// publications (never one's own: the four-eyes rule).
	ApprovePublications
	// ManageSubscribers lists, exports and removes the newsletter's
	// subscribers.
	ManageSubscribers
)

// Can reports whether role has permission p. Publishers write advisories
// and see no events: events may carry TLP:AMBER data about constituents.
// Constituents get none of these: their portal checks their organisation
// instead.
func Can(role Role, p Permission) bool {
	switch role {
	case RoleAdmin:
		return true
	case RoleAnalyst:
		switch p {
		case ReadEvents, RetryDeadLetters, ReadConstituency, ManageConstituency, ManageNotifications,
			ReadIncidents, HandleIncidents, ReadPublications, WritePublications:
			return true
		}
	case RolePublisher:
		switch p {
		case ReadPublications, WritePublications, ApprovePublications, ManageSubscribers:
			return true
		}
	}
	return false
}
