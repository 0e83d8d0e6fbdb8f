package cli

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/vigil-cert/vigil/internal/mailin"
)

// startMailIn starts the SMTP listener of mail_in on the database's spool,
// and the purge of the messages handled. It listens at once, so that an
// address in use stops serve at start.
func (a *app) startMailIn(group *jobs) error {
	cfg := a.cfg.MailIn
	srv, err := mailin.NewServer(cfg, a.store, a.log.With("job", "mail in"))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (mail_in.listen): %w", cfg.Listen, err)
	}
	group.run("mail in", func(ctx context.Context) error { return srv.Serve(ctx, ln) })
	group.run("mail purge", func(ctx context.Context) error {
		return mailin.RunPurge(ctx, a.store, cfg.Retention, time.Hour, a.log)
	})
	return nil
}
