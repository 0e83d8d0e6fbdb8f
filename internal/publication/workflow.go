package publication

import "slices"

// Status is where a publication is in its workflow:
//
//	draft → review → approved → scheduled → published → withdrawn
//	                          ↘─────────────↗
//
// A published publication that is edited goes back to review as the
// draft of its next revision while the published revision stays online
// (Pending); approving and publishing it makes it the current revision.
type Status string

// The statuses.
const (
	StatusDraft     Status = "draft"
	StatusReview    Status = "review"
	StatusApproved  Status = "approved"
	StatusScheduled Status = "scheduled"
	StatusPublished Status = "published"
	StatusWithdrawn Status = "withdrawn"
)

// Statuses lists them in workflow order.
var Statuses = []Status{StatusDraft, StatusReview, StatusApproved, StatusScheduled, StatusPublished, StatusWithdrawn}

// Valid reports whether s is a status.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Actions are what a user does to a publication; each is one
// transition, kept in the publication's history.
const (
	ActionCreate   = "create"   // a new draft
	ActionEdit     = "edit"     // its fields or texts changed
	ActionSubmit   = "submit"   // draft → review
	ActionReject   = "reject"   // review → draft, with a reason
	ActionApprove  = "approve"  // review → approved (four eyes)
	ActionSchedule = "schedule" // approved → scheduled
	ActionPublish  = "publish"  // approved or scheduled → published
	ActionUpdate   = "update"   // published → a new revision published
	ActionWithdraw = "withdraw" // published → withdrawn, with a reason
)

// transitions are the moves each action makes; an action not listed
// from a status is refused.
var transitions = map[string]map[Status]Status{
	ActionSubmit:   {StatusDraft: StatusReview},
	ActionReject:   {StatusReview: StatusDraft, StatusApproved: StatusDraft, StatusScheduled: StatusDraft},
	ActionApprove:  {StatusReview: StatusApproved},
	ActionSchedule: {StatusApproved: StatusScheduled},
	ActionPublish:  {StatusApproved: StatusPublished, StatusScheduled: StatusPublished},
	ActionWithdraw: {StatusPublished: StatusWithdrawn},
}

// CheckTransition returns the status action moves from to, or an
// *InputError when the workflow does not allow it there.
func CheckTransition(from Status, action string) (Status, error) {
	to, ok := transitions[action][from]
	if !ok {
		return from, Refuse("status", "publication.error.transition", action, from)
	}
	return to, nil
}

// CanApprove is the four-eyes rule: nobody approves what they wrote or
// last edited. authorID is the publication's author, editorID the last
// to change its content, userID who would approve.
func CanApprove(authorID, editorID, userID int64) bool {
	return userID != 0 && userID != authorID && userID != editorID
}
