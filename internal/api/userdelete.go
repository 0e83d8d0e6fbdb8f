package api

// Deleting an account.

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/store"
)

// deleteUser deletes an account with its sessions, API tokens and
// recovery codes, as the console's users page does; the audit log keeps
// what it did. Nobody deletes their own account, and the store refuses
// the last enabled administrator.
func (h *handler) deleteUser(r *http.Request, c *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	u, err := h.pathUser(r)
	if err != nil {
		return nil, err
	}
	if u.ID == c.user.ID {
		return nil, &Error{Status: http.StatusConflict, Code: "own_account",
			Message: "you cannot delete your own account; another administrator can"}
	}
	ctx := r.Context()
	err = h.store.DeleteUser(ctx, u.ID)
	switch {
	case errors.Is(err, auth.ErrLastAdmin):
		return nil, &Error{Status: http.StatusConflict, Code: "last_admin",
			Message: "this is the last enabled administrator: make another account an administrator first"}
	case errors.Is(err, store.ErrNotFound):
		return nil, errNotFound("no account with this id")
	case err != nil:
		return nil, fmt.Errorf("delete user %s: %w", u.Name, err)
	}
	detail := "role " + string(u.Role)
	if u.OrgID != 0 {
		detail += ", organisation " + strconv.FormatInt(u.OrgID, 10)
	}
	h.audit(ctx, c, "user.delete", u.Name, detail)
	return noContent{}, nil
}
