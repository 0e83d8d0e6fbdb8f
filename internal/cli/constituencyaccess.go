package cli

// Disabling an organisation and enabling it again from the command line.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/store"
)

// constituencySetDisabled disables the organisation handle (disabled) or
// enables it again, as the console's organisation page does: a disabled
// organisation keeps its data and is still tagged, but is sent no
// notifications and its accounts cannot sign in to the portal. Disabling
// ends its accounts' sessions. The change is audited as the command line's.
func constituencySetDisabled(ctx context.Context, c *cmdEnv, handle string, disabled bool) error {
	a, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	o, err := a.store.GetOrganisationByHandle(ctx, handle)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no organisation with the handle %q ('vigil constituency list' lists them)", handle)
	}
	if err != nil {
		return err
	}
	word, action := "enabled", "organisation.enable"
	if disabled {
		word, action = "disabled", "organisation.disable"
	}
	if o.Disabled == disabled {
		fmt.Fprintf(c.stdout, "%s (%s) is %s already\n", o.Handle, o.Name, word)
		return nil
	}
	if err := a.store.SetOrganisationDisabled(ctx, o.ID, disabled); err != nil {
		return err
	}
	if disabled {
		users, err := a.store.ListUsers(ctx)
		if err != nil {
			return err
		}
		for _, u := range users {
			if u.OrgID == o.ID {
				if err := a.store.DeleteUserSessions(ctx, u.ID); err != nil {
					return fmt.Errorf("end the sessions of %s: %w", u.Name, err)
				}
			}
		}
	}
	if err := a.store.AddAudit(ctx, auth.AuditEntry{Time: time.Now(), Actor: "cli", Action: action, Target: o.Handle, Detail: o.Name}); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	fmt.Fprintf(c.stdout, "%s (%s) %s; running processes pick the change up within constituency.reload\n", o.Handle, o.Name, word)
	return nil
}
