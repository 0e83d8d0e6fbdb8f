package console

// Deleting an account.

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/store"
)

// deleteUser deletes an account with its sessions, API tokens and
// recovery codes; the audit log keeps what it did. An administrator
// cannot delete their own account, and the store refuses the last enabled
// administrator.
func (c *Console) deleteUser(w http.ResponseWriter, r *http.Request, v *visit) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		c.notFound(w, r, v)
		return
	}
	ctx := r.Context()
	u, detail, err := auth.DeleteAccount(ctx, c.store, v.user, id)
	problem := ""
	switch {
	case errors.Is(err, auth.ErrDeleteOwnAccount):
		problem = msgUserDeleteSelf
	case errors.Is(err, auth.ErrLastAdmin):
		problem = msgUserDeleteLastAdmin
	case errors.Is(err, store.ErrNotFound):
		c.notFound(w, r, v)
		return
	case err != nil:
		c.fail(w, r, v, err)
		return
	}
	if problem != "" {
		if p, ok := c.usersPage(w, r, v); ok {
			c.render(w, r, v, http.StatusBadRequest, "users", msgTitleUsers, p, "", problem)
		}
		return
	}
	c.audit(ctx, v, "user.delete", u.Name, detail)
	redirectDone(w, r, "/users", "user-deleted")
}
