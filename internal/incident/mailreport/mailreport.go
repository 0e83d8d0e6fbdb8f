// Package mailreport turns the mail the SMTP listener and the IMAP poller
// spooled (internal/mailin) into reports (internal/incident): it reads a
// pending mail, parses it, finds the observables of the mail and of every
// message forwarded in it, keeps the raw message and its attachments as
// blobs, and receives the report in the same transaction that marks the
// mail done, so that a crash at any point leaves each mail either pending
// or a report, never both and never neither.
package mailreport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/incidentdb"
	"github.com/vigil-cert/vigil/internal/mailin"
	"github.com/vigil-cert/vigil/internal/mailin/mailindb"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// Organisations is what the worker reads of the constituency to recognise
// mail from a known contact.
type Organisations interface {
	ListOrganisations(ctx context.Context, q constituency.OrganisationQuery) ([]constituency.Organisation, error)
}

// Worker turns pending mails into reports. Zero fields other than DB,
// Service and Mails take their defaults.
type Worker struct {
	// DB is the database the spool and the reports are on: a report and
	// the mail it came from are written in one of its transactions.
	DB      sqlkit.DB
	Service *incident.Service
	Mails   mailin.Mails
	// Organisations, when set, recognises mail from the constituency's
	// contacts: the report names the contact's organisation.
	Organisations Organisations
	// Kinds maps a recipient, a whole address or a local part ending in
	// "@", to the kind of report mail to it is; DefaultKinds when nil.
	Kinds map[string]incident.Kind
	// Bounces, when set, is offered every delivery status notification
	// (RFC 3464) first; what it takes does not become a report.
	Bounces Bounces
	// Limits bound what is read of one mail; mailin.DefaultLimits when zero.
	Limits mailin.Limits
	// Batch is how many mails a pass takes (all of them, raw, in memory
	// at once: at most 25 MB each by default); 100 by default, two
	// chunks, so that one is parsed while the other is written.
	Batch int
	Log   *slog.Logger
	Now   func() time.Time

	mu       sync.Mutex
	contacts map[string]int64
	read     time.Time
}

// Bounces takes the delivery status notifications that answer mail the
// team sent (the newsletter's, for one), so that they do not fill the
// triage queue.
type Bounces interface {
	// Bounced handles a notification in tx, the transaction that marks
	// its mail done; false leaves it to become a report.
	Bounced(ctx context.Context, tx sqlkit.DB, b mailin.Bounce, at time.Time) (bool, error)
}

// DefaultKinds says what mail to the usual addresses is: forwards to
// suspicious@ and phishing@ are phishing, anything else a report of a
// kind the analyst chooses in triage.
var DefaultKinds = map[string]incident.Kind{
	"suspicious@": incident.KindPhishing,
	"phishing@":   incident.KindPhishing,
}

// contactsEvery is how often the known contacts are read again.
const contactsEvery = time.Minute

// Run turns pending mails into reports every interval until ctx ends.
func (w *Worker) Run(ctx context.Context, interval time.Duration) error {
	return incident.RunBatches(ctx, interval, w.batch(), w.RunOnce, w.log(), "mail to reports")
}

// RunOnce handles up to Batch pending mails and returns how many it took
// (made a report of, or marked failed). The mails are parsed on every core
// a commit's worth at a time (chunk), each chunk while the one before is
// written, and each chunk is written in one transaction: each report with
// its blobs and its mail's "done", each mail that cannot be a report
// marked failed. When a chunk's transaction fails as a whole (a mail
// another process handled first, a deadlock with a report received at the
// same time on PostgreSQL), its mails are written again one at a time, so
// that one mail costs only itself.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	mails, err := w.Mails.PendingMail(ctx, w.batch())
	if err != nil {
		return 0, fmt.Errorf("read the spool: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	prepared := make(chan []item, 1)
	go func() {
		defer close(prepared)
		for chunk := range slices.Chunk(mails, chunk) {
			select {
			case prepared <- w.prepare(ctx, chunk):
			case <-ctx.Done():
				return
			}
		}
	}()
	n := 0
	for items := range prepared {
		done, err := w.writeChunk(ctx, items)
		n += done
		if err != nil {
			return n, err
		}
	}
	return n, ctx.Err()
}

// chunk is how many mails are written in one transaction.
const chunk = 50

// writeChunk writes prepared items in one transaction, or one at a time
// when that fails, and returns how many it wrote.
func (w *Worker) writeChunk(ctx context.Context, items []item) (int, error) {
	err := w.DB.Tx(ctx, func(tx sqlkit.DB) error {
		for i := range items {
			if err := w.write(ctx, tx, &items[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		for _, it := range items {
			if it.failed != nil {
				w.log().Warn("mail not made a report", "mail", it.mail.ID, "reason", it.failed)
			}
		}
		return len(items), nil
	}
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	w.log().Info("mails written one at a time", "mails", len(items), "err", err)
	for i := range items {
		if err := ctx.Err(); err != nil {
			return i, err
		}
		items[i].restore()
		if err := w.handleItem(ctx, &items[i]); err != nil {
			return i, err
		}
	}
	return len(items), nil
}

// item is one pending mail on its way to a report: the report and its
// grouping, the blobs it names, or why it cannot be a report.
type item struct {
	mail   mailin.Mail
	report *incident.Report
	// prepared is the report as Prepare left it, for writing it again
	// after a failed transaction changed it.
	prepared incident.Report
	grouping incident.Grouping
	blobs    [][]byte
	failed   error
	// bounce is the mail read as a delivery status notification, when
	// it is one and the worker has Bounces.
	bounce *mailin.Bounce
}

func (it *item) restore() {
	if it.report != nil {
		*it.report = it.prepared
	}
}

// prepare parses the mails and prepares their reports, on every core.
func (w *Worker) prepare(ctx context.Context, mails []mailin.Mail) []item {
	items := make([]item, len(mails))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(mails)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				it := &items[i]
				it.mail = mails[i]
				if w.Bounces != nil {
					if b, ok := mailin.ParseBounce(mails[i].Raw); ok {
						it.bounce = &b
					}
				}
				it.report, it.blobs, it.failed = w.report(ctx, mails[i])
				if it.failed == nil {
					_, it.grouping, it.failed = w.Service.Prepare(it.report)
				}
				if it.failed == nil {
					it.prepared = *it.report
				}
			}
		}()
	}
	for i := range mails {
		next <- i
	}
	close(next)
	wg.Wait()
	return items
}

// write writes one item in tx: a bounce that Bounces takes, or the
// report, its blobs and its mail's "done", or the mail marked failed.
func (w *Worker) write(ctx context.Context, tx sqlkit.DB, it *item) error {
	if it.bounce != nil {
		taken, err := w.Bounces.Bounced(ctx, tx, *it.bounce, w.now())
		if err != nil {
			return fmt.Errorf("mail %d: bounce: %w", it.mail.ID, err)
		}
		if taken {
			return mailindb.MarkDone(ctx, tx, w.now(), it.mail.ID)
		}
	}
	if it.failed != nil {
		return mailindb.MarkFailed(ctx, tx, w.now(), it.mail.ID, it.failed.Error())
	}
	for _, b := range it.blobs {
		if _, err := incidentdb.PutBlob(ctx, tx, b); err != nil {
			return fmt.Errorf("mail %d: keep attachment: %w", it.mail.ID, err)
		}
	}
	if _, err := incidentdb.Receive(ctx, tx, it.report, it.grouping); err != nil {
		return err
	}
	return mailindb.MarkDone(ctx, tx, w.now(), it.mail.ID)
}

// handleItem writes one item in a transaction of its own. An error of the
// database is returned, and the mail stays pending for the next pass.
func (w *Worker) handleItem(ctx context.Context, it *item) error {
	if it.failed != nil {
		w.log().Warn("mail not made a report", "mail", it.mail.ID, "reason", it.failed)
	}
	err := w.DB.Tx(ctx, func(tx sqlkit.DB) error { return w.write(ctx, tx, it) })
	if errors.Is(err, store.ErrNotFound) {
		// Another process marked it done (or failed) first; its report stands.
		return nil
	}
	if err != nil {
		return fmt.Errorf("mail %d: %w", it.mail.ID, err)
	}
	return nil
}

// handle makes a report of one mail, in a transaction of its own.
func (w *Worker) handle(ctx context.Context, m mailin.Mail) error {
	return w.handleItem(ctx, &w.prepare(ctx, []mailin.Mail{m})[0])
}

// report builds the report of a mail and the blobs it names: the raw
// message first, then every attachment kept whole.
func (w *Worker) report(ctx context.Context, m mailin.Mail) (*incident.Report, [][]byte, error) {
	msg, err := mailin.Parse(m.Raw, w.limits())
	if err != nil {
		return nil, nil, err
	}
	r := &incident.Report{
		Channel:  incident.ChannelEmail,
		Kind:     w.kind(m.To),
		Received: m.Received,
		Subject:  clip(msg.Subject, incident.MaxSubjectBytes),
		Text:     clip(bodyText(msg), incident.MaxTextBytes),
	}
	if len(msg.From) > 0 {
		from := msg.From[0]
		r.Reporter = incident.Reporter{Name: clip(from.Name, incident.MaxFieldBytes),
			Email: clip(strings.ToLower(from.Address), incident.MaxFieldBytes)}
		r.Reporter.OrgID = w.contact(ctx, r.Reporter.Email)
	}
	r.Observables = observables(msg, false, leaveOutSet(append([]string{r.Reporter.Email}, m.To...)...))
	r.Concerned = clip(concerned(msg), incident.MaxFieldBytes)
	r.Attachments, err = attachments(m, msg)
	if err != nil {
		return nil, nil, err
	}
	var blobs [][]byte
	if m.Size <= incident.MaxAttachmentBytes {
		blobs = append(blobs, m.Raw)
	}
	eachAttachment(msg, func(a mailin.Attachment) {
		if a.Data != nil && len(blobs) < incident.MaxAttachments {
			blobs = append(blobs, a.Data)
		}
	})
	return r, blobs, nil
}

// kind is the kind of report mail to these recipients is: the first
// recipient with a kind in w.Kinds decides; none makes it "other".
func (w *Worker) kind(to []string) incident.Kind {
	kinds := w.Kinds
	if kinds == nil {
		kinds = DefaultKinds
	}
	for _, rcpt := range to {
		rcpt = strings.ToLower(rcpt)
		if k, ok := kinds[rcpt]; ok {
			return k
		}
		if local, _, ok := strings.Cut(rcpt, "@"); ok {
			if k, ok := kinds[local+"@"]; ok {
				return k
			}
		}
	}
	return incident.KindOther
}

// contact is the organisation whose contact address is email, 0 for none.
func (w *Worker) contact(ctx context.Context, email string) int64 {
	if w.Organisations == nil || email == "" {
		return 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.contacts == nil || w.now().Sub(w.read) > contactsEvery {
		orgs, err := w.Organisations.ListOrganisations(ctx, constituency.OrganisationQuery{})
		if err != nil {
			w.log().Warn("read the constituency's contacts", "err", err)
			return w.contacts[email]
		}
		w.contacts, w.read = map[string]int64{}, w.now()
		for _, o := range orgs {
			if o.Disabled {
				continue
			}
			for _, c := range o.Contacts {
				w.contacts[strings.ToLower(c.Email)] = o.ID
			}
		}
	}
	return w.contacts[email]
}

func (w *Worker) batch() int {
	if w.Batch > 0 {
		return w.Batch
	}
	return 2 * chunk
}

func (w *Worker) limits() mailin.Limits {
	if w.Limits == (mailin.Limits{}) {
		return mailin.DefaultLimits()
	}
	return w.Limits
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Worker) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.Default()
}
