package cli

// Disabling an organisation and enabling it again from the command line.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
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
		return c.fail("cli.constituency.notfound", handle)
	}
	if err != nil {
		return failedTo(err, "cli.constituency.read", handle)
	}
	word := c.t("cli.constituency.enabled")
	if disabled {
		word = c.t("cli.constituency.disabled.word")
	}
	ch, err := constituency.SetDisabled(ctx, a.store, o, disabled)
	if errors.Is(err, store.ErrNotFound) {
		return c.fail("cli.constituency.notfound", handle)
	}
	if err != nil {
		id := "cli.constituency.enable.failed"
		if disabled {
			id = "cli.constituency.disable.failed"
		}
		return failedTo(err, id, o.Handle)
	}
	if !ch.Changed {
		fmt.Fprintln(c.stdout, c.t("cli.constituency.already", o.Handle, o.Name, word))
		return nil
	}
	if err := a.store.AddAudit(ctx, auth.AuditEntry{Time: time.Now(), Actor: "cli", Action: ch.Action, Target: ch.Target, Detail: ch.Detail}); err != nil {
		return failedTo(err, "cli.constituency.access.audit", o.Handle, word)
	}
	if ch.SessionsErr != nil {
		return failedTo(ch.SessionsErr, "cli.constituency.sessions", o.Handle, word)
	}
	fmt.Fprintln(c.stdout, c.t("cli.constituency.changed", o.Handle, o.Name, word))
	return nil
}
