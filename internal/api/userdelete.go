package api

// Deleting an account.

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/i18n"
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
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	u, detail, err := auth.DeleteAccount(ctx, h.store, c.user, id)
	switch {
	case errors.Is(err, auth.ErrDeleteOwnAccount):
		return nil, errorText(http.StatusConflict, "own_account", "", i18n.M("api.error.user.delete.self"))
	case errors.Is(err, auth.ErrLastAdmin):
		return nil, errorText(http.StatusConflict, "last_admin", "", i18n.M("api.error.user.delete.lastadmin"))
	case errors.Is(err, store.ErrNotFound):
		return nil, errorText(http.StatusNotFound, "not_found", "", i18n.M("api.error.user.notfound"))
	case err != nil:
		return nil, fmt.Errorf("delete user %d: %w", id, err)
	}
	h.audit(ctx, c, "user.delete", u.Name, detail)
	return noContent{}, nil
}
