package constituency

import (
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/auth"
)

// AccessStore is what SetDisabled reads and writes: the organisation's
// flag, and the accounts whose sessions a disable ends.
type AccessStore interface {
	SetOrganisationDisabled(ctx context.Context, id int64, disabled bool) (bool, error)
	ListUsers(ctx context.Context) ([]auth.User, error)
	DeleteUserSessions(ctx context.Context, userID int64) error
}

// AccessChange is what SetDisabled did.
type AccessChange struct {
	// Changed is false when the organisation was so already: nothing is
	// audited then.
	Changed bool
	// Action, Target and Detail are the audit entry of the change.
	Action, Target, Detail string
	// SessionsErr is a failure to end the sessions of the organisation's
	// accounts after a disable, which is made all the same (the portal
	// and the API refuse a disabled organisation's accounts anyway); the
	// caller logs it.
	SessionsErr error
}

// SetDisabled disables the organisation o (or enables it again), the
// console's button, the API's route and the command line: a disabled
// organisation keeps its data and is still tagged, but is sent no
// notifications and its accounts cannot sign in. A disable ends the
// sessions of its accounts. Whether anything changed is the store's
// answer, read in the transaction that writes, so that two requests at
// once audit one change. store.ErrNotFound when o is gone.
func SetDisabled(ctx context.Context, s AccessStore, o Organisation, disabled bool) (AccessChange, error) {
	changed, err := s.SetOrganisationDisabled(ctx, o.ID, disabled)
	if err != nil {
		return AccessChange{}, err
	}
	ch := AccessChange{Changed: changed, Action: "organisation.enable", Target: o.Handle, Detail: o.Name}
	if disabled {
		ch.Action = "organisation.disable"
	}
	if changed && disabled {
		ch.SessionsErr = endSessions(ctx, s, o.ID)
	}
	return ch, nil
}

// endSessions ends the sessions of the accounts of the organisation id,
// as disabling an account ends its own.
func endSessions(ctx context.Context, s AccessStore, id int64) error {
	users, err := s.ListUsers(ctx)
	if err != nil {
		return fmt.Errorf("accounts of organisation %d: %w", id, err)
	}
	for _, u := range users {
		if u.OrgID != id {
			continue
		}
		if err := s.DeleteUserSessions(ctx, u.ID); err != nil {
			return fmt.Errorf("end the sessions of %s: %w", u.Name, err)
		}
	}
	return nil
}
