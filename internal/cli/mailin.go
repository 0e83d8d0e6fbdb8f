package cli

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/vigil-cert/vigil/internal/lease"
	"github.com/vigil-cert/vigil/internal/mailin"
)

// startMailIn starts what mail_in configures on the database's spool: the
// SMTP listener (listening at once, so that an address in use stops serve
// at start), the IMAP poller (under a lease: of several processes on one
// database one reads the mailbox), and the purge of the messages handled.
func (a *app) startMailIn(group *jobs) error {
	cfg := a.cfg.MailIn
	if cfg.Listen != "" {
		srv, err := mailin.NewServer(cfg, a.store, a.log.With("job", "mail in"))
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return fmt.Errorf("listen on %s (mail_in.listen): %w", cfg.Listen, err)
		}
		group.run("mail in", func(ctx context.Context) error { return srv.Serve(ctx, ln) })
	}
	if cfg.IMAP.Enabled() {
		poller := mailin.NewPoller(cfg, a.store, a.log.With("job", "mail imap"))
		group.run("mail imap", func(ctx context.Context) error {
			return lease.Hold(ctx, a.store, "mail imap", lease.Options{Logger: a.log}, poller.Run)
		})
	}
	group.run("mail purge", func(ctx context.Context) error {
		return mailin.RunPurge(ctx, a.store, cfg.Retention, time.Hour, a.log)
	})
	return nil
}
