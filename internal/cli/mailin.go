package cli

import (
	"context"
	"time"

	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/mailreport"
	"github.com/vigil-cert/vigil/internal/lease"
	"github.com/vigil-cert/vigil/internal/mailin"
)

// startMailIn starts what mail_in configures on the database's spool: the
// SMTP listener (listening at once, so that an address in use stops serve
// at start), the IMAP poller (under a lease: of several processes on one
// database one reads the mailbox), the step that makes a report of each
// mail (internal/incident/mailreport), and the purge of the mails handled.
func (a *app) startMailIn(group *jobs) error {
	cfg := a.cfg.MailIn
	if cfg.Listen != "" {
		srv, err := mailin.NewServer(cfg, a.store, a.log.With("job", "mail in"))
		if err != nil {
			return failedTo(err, "cli.start.mailin.certificate", cfg.CertFile, cfg.KeyFile)
		}
		ln, err := listen(cfg.Listen, "mail_in.listen")
		if err != nil {
			return err
		}
		group.run("mail in", func(ctx context.Context) error { return srv.Serve(ctx, ln) })
	}
	if cfg.IMAP.Enabled() {
		poller := mailin.NewPoller(cfg, a.store, a.log.With("job", "mail imap"))
		group.run("mail imap", func(ctx context.Context) error {
			return lease.Hold(ctx, a.store, "mail imap", lease.Options{Logger: a.log}, poller.Run)
		})
	}
	// The mails spooled become reports: under a lease, so that of several
	// processes one does it (two would still make one report of each mail:
	// a report and its mail's "done" are one commit).
	worker := &mailreport.Worker{DB: a.store.DB(), Service: &incident.Service{Store: a.store, Audit: a.store},
		Mails: a.store, Organisations: a.store, Bounces: a.bounces, Log: a.log.With("job", "mail reports")}
	group.run("mail reports", func(ctx context.Context) error {
		return lease.Hold(ctx, a.store, "mail reports", lease.Options{Logger: a.log}, func(ctx context.Context) error {
			return worker.Run(ctx, time.Second)
		})
	})
	group.run("mail purge", func(ctx context.Context) error {
		return mailin.RunPurge(ctx, a.store, cfg.Retention, time.Hour, a.log)
	})
	return nil
}
