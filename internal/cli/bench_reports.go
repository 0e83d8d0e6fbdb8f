package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/mailreport"
	"github.com/vigil-cert/vigil/internal/mailin"
	"github.com/vigil-cert/vigil/internal/store"
)

// reportsResult is what the reports step of bench intake measured.
type reportsResult struct {
	Mails   int
	Elapsed time.Duration
	// CPU is the process's CPU time over the step.
	CPU       time.Duration
	Reports   int
	Incidents int
	// Pending and Failed count the mails the step left in the spool
	// pending or marked failed: both are 0 when every mail became a
	// report.
	Pending, Failed int
}

// benchReports runs, after the listener's run, the step that makes a
// report of each spooled mail (what vigil serve runs as "mail reports")
// on the same database, grouping as it goes, and prints how many mails
// per second it turned into reports and how many incidents the grouping
// made of them.
func benchReports(ctx context.Context, c *cmdEnv, st store.Store) error {
	r, err := runReportsBench(ctx, st)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, c.t("bench.intake.reports", r.Mails, r.Elapsed.Seconds(),
		float64(r.Mails)/r.Elapsed.Seconds(), r.Reports, r.Incidents))
	fmt.Fprintln(c.stdout, c.t("bench.intake.reports.cpu", r.CPU.Seconds(), r.CPU.Seconds()*1000/float64(max(r.Mails, 1))))
	if r.Pending > 0 || r.Failed > 0 || r.Reports != r.Mails {
		return errors.New(c.t("bench.intake.reports.lost", r.Mails, r.Reports, r.Pending, r.Failed))
	}
	return nil
}

// runReportsBench migrates st to every capability's schema and turns its
// pending mails into reports, as vigil serve's worker does.
func runReportsBench(ctx context.Context, st store.Store) (reportsResult, error) {
	var r reportsResult
	db, err := database.New(ctx, st)
	if err != nil {
		return r, err
	}
	counts, err := db.CountMail(ctx)
	if err != nil {
		return r, err
	}
	r.Mails = int(counts[mailin.Pending])
	w := &mailreport.Worker{DB: st.DB(), Service: &incident.Service{Store: db, Audit: db},
		Mails: db, Organisations: db, Log: slog.New(slog.DiscardHandler)}
	start, cpu := time.Now(), processCPU()
	for {
		n, err := w.RunOnce(ctx)
		if err != nil {
			return r, err
		}
		if n == 0 {
			break
		}
	}
	r.Elapsed, r.CPU = time.Since(start), processCPU()-cpu
	// The lists count only up to incident.CountLimit: the reports are
	// counted as the incidents' counters of the reports linked to them
	// plus the reports waiting in the queue, alone so far.
	waiting, err := db.ListReports(ctx, incident.ReportQuery{States: []incident.ReportState{incident.ReportNew}, Limit: 1})
	if err != nil {
		return r, err
	}
	r.Reports = waiting.Total
	for offset := 0; ; offset += 1000 {
		page, err := db.ListIncidents(ctx, incident.IncidentQuery{Limit: 1000, Offset: offset})
		if err != nil {
			return r, err
		}
		for _, inc := range page.Incidents {
			r.Reports += inc.Reports
		}
		r.Incidents += len(page.Incidents)
		if len(page.Incidents) < 1000 {
			break
		}
	}
	if counts, err = db.CountMail(ctx); err != nil {
		return r, err
	}
	r.Pending, r.Failed = int(counts[mailin.Pending]), int(counts[mailin.Failed])
	return r, nil
}
