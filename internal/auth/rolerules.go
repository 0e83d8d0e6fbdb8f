package auth

import (
	"errors"
	"fmt"
)

// The rules an account's role and organisation follow, wherever an
// administrator changes them (the console's users page, the API's users
// routes): one place, so that neither allows what the other refuses.

var (
	// ErrUnknownRole is a role that is none of admin, analyst, publisher
	// and constituent.
	ErrUnknownRole = errors.New("unknown role")
	// ErrOrganisationNeeded is a constituent account without an
	// organisation: the portal confines a constituent to its own.
	ErrOrganisationNeeded = errors.New("a constituent account needs its organisation")
	// ErrTeamOrganisation is a team account given an organisation: it
	// would be confined to it for no reason.
	ErrTeamOrganisation = errors.New("only constituent accounts belong to an organisation")
	// ErrOwnAccount is an administrator disabling their own account or
	// changing its role, which would also let the last administrator
	// lock everyone out.
	ErrOwnAccount = errors.New("you cannot disable your own account or change its role; another administrator can")
)

// CheckOrganisationOfRole says whether an account of role may belong to
// the organisation orgID (0: none).
func CheckOrganisationOfRole(role Role, orgID int64) error {
	switch {
	case role == RoleConstituent && orgID == 0:
		return ErrOrganisationNeeded
	case role != RoleConstituent && orgID != 0:
		return ErrTeamOrganisation
	}
	return nil
}

// CheckSelfChange refuses a change an administrator (by) makes to their
// own account (u) that disables it or changes its role.
func CheckSelfChange(by int64, u User, disable bool, role Role) error {
	if u.ID == by && (disable || role != u.Role) {
		return ErrOwnAccount
	}
	return nil
}

// ChangeRole gives u the role: a constituent account is created for its
// organisation, so a team account cannot become one; a constituent made a
// team member leaves its organisation.
func ChangeRole(u *User, role Role) error {
	if !ValidRole(role) {
		return fmt.Errorf("%w %q", ErrUnknownRole, role)
	}
	if role == RoleConstituent && u.OrgID == 0 {
		return ErrOrganisationNeeded
	}
	if role != RoleConstituent {
		u.OrgID = 0
	}
	u.Role = role
	return nil
}
