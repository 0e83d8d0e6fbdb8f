package auth

import (
	"context"
	"errors"
	"strconv"
)

// ErrDeleteOwnAccount refuses to delete the account of the person asking:
// another administrator can.
var ErrDeleteOwnAccount = errors.New("you cannot delete your own account; another administrator can")

// AccountDeleter is what DeleteAccount reads and writes.
type AccountDeleter interface {
	GetUser(ctx context.Context, id int64) (User, error)
	DeleteUser(ctx context.Context, id int64) error
}

// DeleteAccount deletes the account id for actor (the console's users
// page and the API's route), with its sessions, API tokens and recovery
// codes, and returns it with the audit entry's detail; the audit log
// keeps what it did. ErrDeleteOwnAccount when it is actor's own, ErrLastAdmin
// for the last enabled administrator, store.ErrNotFound when there is no
// such account.
func DeleteAccount(ctx context.Context, s AccountDeleter, actor User, id int64) (u User, detail string, err error) {
	u, err = s.GetUser(ctx, id)
	if err != nil {
		return u, "", err
	}
	if u.ID == actor.ID {
		return u, "", ErrDeleteOwnAccount
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		return u, "", err
	}
	detail = "role " + string(u.Role)
	if u.OrgID != 0 {
		detail += ", organisation " + strconv.FormatInt(u.OrgID, 10)
	}
	return u, detail, nil
}
