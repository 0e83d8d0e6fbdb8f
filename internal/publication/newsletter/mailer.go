package newsletter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/store"
)

// Relay delivers one message in one SMTP transaction without recording
// anything: outbox.Sender's Deliver.
type Relay interface {
	Deliver(ctx context.Context, msg outbox.Message) (string, error)
}

// Mailer sends the queued mails of the issues, one at a time at the
// relay's pace, each at most once (see the package documentation). Only
// one Mailer may run per database.
type Mailer struct {
	Store Store
	Mails *Mails
	Relay Relay
	Log   *slog.Logger
	// Poll is how often Run looks for queued mails when not kicked.
	Poll time.Duration
	// MaxAttempts and Backoff govern temporary failures (defaults 10
	// and one minute, doubling up to six hours).
	MaxAttempts int
	Backoff     time.Duration
	// Now replaces time.Now in tests.
	Now func() time.Time
	// Publications, when set, is asked before each mail whether the
	// issue's publication is still public and at the issue's revision:
	// the mails of one withdrawn, raised above TLP:CLEAR or updated
	// while its issue is being sent are not sent (at most every
	// currentEvery per publication).
	Publications PublicationReader

	kick    chan struct{}
	once    sync.Once
	issues  map[int64]Issue
	current map[int64]currentCheck
	digests map[int64]redactedDigest
}

// identReader reads a publication by its ident: what a digest's items
// are now. A Publications that has it (the store does) has a digest's
// mails say which of its items were withdrawn or hidden since.
type identReader interface {
	GetPublicationByIdent(ctx context.Context, ident string) (publication.Publication, error)
}

// redactedDigest is a digest as its mails show it now, and when it was
// made so.
type redactedDigest struct {
	p  publication.Publication
	at time.Time
}

// PublicationReader reads a publication as it is now.
type PublicationReader interface {
	GetPublication(ctx context.Context, id int64) (publication.Publication, error)
}

// currentCheck is what was last found of a publication, and when.
type currentCheck struct {
	public   bool
	revision int
	at       time.Time
}

// currentEvery is how long what was found of a publication is trusted.
const currentEvery = 5 * time.Second

// stillCurrent reports whether is's publication is still public and at
// is's revision (true when m.Publications is nil); when it is not, keep
// is the revision whose sends may still go: the publication's own when
// it is public and was updated, else 0.
func (m *Mailer) stillCurrent(ctx context.Context, is Issue) (current bool, keep int, err error) {
	if m.Publications == nil {
		return true, 0, nil
	}
	c, ok := m.current[is.PublicationID]
	// What was found is trusted for currentEvery only to say "current":
	// mails are skipped only on what was read just now, so that a read
	// from before an update never stops the update's own mailing.
	if !ok || m.now().Sub(c.at) > currentEvery || !c.public || c.revision != is.Revision {
		p, err := m.Publications.GetPublication(ctx, is.PublicationID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			c = currentCheck{at: m.now()}
		case err != nil:
			return false, 0, err
		default:
			c = currentCheck{public: p.Public(), revision: p.Revision, at: m.now()}
		}
		if len(m.current) > 100 {
			clear(m.current)
		}
		m.current[is.PublicationID] = c
	}
	if c.public && c.revision == is.Revision {
		return true, 0, nil
	}
	if c.public && c.revision > is.Revision {
		keep = c.revision
	}
	return false, keep, nil
}

// redactDigest returns is with its digest's items as they are now (at
// most currentEvery old): one withdrawn since is marked so, without its
// title, summary or link, and one no longer public for another reason
// is left out, as on the site (publication.RedactDigest). An item that
// cannot be read is left out: the mail says less rather than too much.
func (m *Mailer) redactDigest(ctx context.Context, is Issue) Issue {
	r, ok := m.Publications.(identReader)
	if !ok || is.Publication.Kind != publication.KindDigest {
		return is
	}
	if c, ok := m.digests[is.ID]; ok && m.now().Sub(c.at) <= currentEvery {
		is.Publication = c.p
		return is
	}
	state := func(ident string) publication.DigestItemState {
		p, err := r.GetPublicationByIdent(ctx, ident)
		switch {
		case err == nil && p.Public():
			return publication.ItemPublic
		case err == nil && p.Status == publication.StatusWithdrawn:
			return publication.ItemWithdrawn
		}
		return publication.ItemHidden
	}
	withdrawn := func(lang string) string { return m.Mails.Catalog.T(lang, "site.digest.withdrawn") }
	is.Publication = publication.RedactDigest(is.Publication, state, withdrawn)
	if len(m.digests) > 100 {
		clear(m.digests)
	}
	m.digests[is.ID] = redactedDigest{p: is.Publication, at: m.now()}
	return is
}

// notCurrent is why the sends of an issue whose publication is no longer
// current are skipped.
const notCurrent = "not sent: the publication was withdrawn, is no longer public, or was updated"

// Withdrawn marks the queued sends of a publication just withdrawn
// skipped at once, rather than as the mailer reaches them: `vigil
// serve` calls it from publication.Service's Withdrawn hook. The
// mailer's own check before each mail stays, for a withdrawal by another
// process and for a publication raised above TLP:CLEAR.
func (m *Mailer) Withdrawn(ctx context.Context, p publication.Publication) error {
	m.init()
	n, err := m.Store.SkipQueued(ctx, p.ID, 0, "not sent: the publication was withdrawn")
	if err != nil {
		return fmt.Errorf("newsletter: %s withdrawn: %w", p.Ident, err)
	}
	if n > 0 {
		m.Log.Info("newsletter mails of a withdrawn publication skipped", "ident", p.Ident, "sends", n)
	}
	return nil
}

func (m *Mailer) init() {
	m.once.Do(func() {
		m.kick = make(chan struct{}, 1)
		m.issues = map[int64]Issue{}
		m.current = map[int64]currentCheck{}
		m.digests = map[int64]redactedDigest{}
		if m.Log == nil {
			m.Log = slog.New(slog.DiscardHandler)
		}
		if m.Poll <= 0 {
			m.Poll = 5 * time.Second
		}
		if m.MaxAttempts <= 0 {
			m.MaxAttempts = 10
		}
		if m.Backoff <= 0 {
			m.Backoff = time.Minute
		}
	})
}

func (m *Mailer) now() time.Time {
	if m.Now != nil {
		return m.Now().UTC()
	}
	return time.Now().UTC()
}

// Kick makes Run look for queued mails now. It never blocks.
func (m *Mailer) Kick() {
	m.init()
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// Run first marks the sends a previous run left in flight as unknown
// (never sent again), then sends queued mails until ctx ends. A database
// that fails meanwhile is logged and tried again at the next tick: it
// does not stop `vigil serve`, and nothing is sent before the sends in
// flight are marked.
func (m *Mailer) Run(ctx context.Context) error {
	m.init()
	ticker := time.NewTicker(m.Poll)
	defer ticker.Stop()
	marked := false
	for {
		if !marked {
			n, err := m.Store.AbandonInFlight(ctx, m.now())
			switch {
			case err != nil && ctx.Err() == nil:
				m.Log.Error("newsletter: marking the sends in flight failed; trying again", "err", err)
			case err == nil:
				marked = true
				if n > 0 {
					m.Log.Warn("newsletter mails in flight at the last stop marked unknown, not sent again", "sends", n)
				}
			}
		}
		if marked {
			if err := m.SendDue(ctx); err != nil && ctx.Err() == nil {
				m.Log.Error("newsletter pass failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		case <-m.kick:
		}
	}
}

// SendDue sends every due mail, one claimed send at a time. It stops at
// the first failure of the relay itself (the others would fail alike)
// or of the store.
func (m *Mailer) SendDue(ctx context.Context) error {
	m.init()
	for ctx.Err() == nil {
		s, ok, err := m.Store.ClaimSend(ctx, m.now())
		if err != nil {
			return fmt.Errorf("newsletter: claim: %w", err)
		}
		if !ok {
			return nil
		}
		relayDown, err := m.send(ctx, s)
		if err != nil || relayDown {
			return err
		}
	}
	return nil
}

// send delivers one claimed send and records the outcome; relayDown
// reports a failure of the relay rather than of the mail.
func (m *Mailer) send(ctx context.Context, s Send) (relayDown bool, err error) {
	finish := func(status string, next time.Time, detail string) error {
		// Recorded even when ctx has just ended: a send left "sending"
		// would become unknown.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		return m.Store.FinishSend(fctx, s, status, next, detail)
	}
	is, err := m.issue(ctx, s.IssueID)
	if err != nil {
		return false, errors.Join(err, finish(SendQueued, m.now().Add(m.Backoff), "issue unreadable"))
	}
	switch current, keep, err := m.stillCurrent(ctx, is); {
	case err != nil:
		return false, errors.Join(err, finish(SendQueued, m.now().Add(m.Backoff), "publication unreadable"))
	case !current:
		// The issue's other queued sends (and those of the
		// publication's other outdated issues) go with this one, in one
		// statement rather than one claim each.
		n, err := m.Store.SkipQueued(ctx, is.PublicationID, keep, notCurrent)
		if err == nil {
			m.Log.Info("newsletter mails of a publication no longer current skipped", "ident", is.Publication.Ident, "sends", n+1)
		}
		return false, errors.Join(err, finish(SendSkipped, time.Time{}, notCurrent))
	}
	is = m.redactDigest(ctx, is)
	msg, err := m.Mails.Issue(is, s, m.now())
	if err != nil {
		return false, errors.Join(err, finish(SendFailed, time.Time{}, err.Error()))
	}
	s.Attempts++
	reply, err := m.Relay.Deliver(ctx, msg)
	if err == nil {
		return false, finish(SendSent, time.Time{}, reply)
	}
	status, next, detail := m.outcome(ctx, s, err)
	m.Log.Warn("newsletter mail not sent", "issue", s.IssueID, "subscriber", s.SubscriberID, "status", status, "err", detail)
	var de *outbox.DeliveryError
	relayDown = errors.As(err, &de) && (de.Stage == "connect" || de.Stage == "auth")
	return relayDown, finish(status, next, detail)
}

// outcome decides what becomes of a send the relay did not accept:
// queued again for a temporary failure, failed for a permanent one or
// after the last attempt, unknown when the relay may have taken it.
func (m *Mailer) outcome(ctx context.Context, s Send, err error) (string, time.Time, string) {
	var de *outbox.DeliveryError
	if !errors.As(err, &de) {
		de = &outbox.DeliveryError{Stage: "connect", Err: err}
	}
	detail := de.Error()
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		// Shutting down before the end of DATA (the outbox cuts the
		// connection only then): the relay drops it.
		s.Attempts--
		return SendQueued, m.now(), "stopped before it was sent"
	case de.Stage == "data" && de.Reply == "":
		// The connection broke around the end of DATA: the relay may
		// have the mail. Never risk a second copy.
		return SendUnknown, time.Time{}, detail
	case de.Permanent:
		return SendFailed, time.Time{}, detail
	case s.Attempts >= m.MaxAttempts:
		return SendFailed, time.Time{}, fmt.Sprintf("gave up after %d attempts: %s", s.Attempts, detail)
	}
	wait := m.Backoff
	for i := 1; i < s.Attempts && wait < 6*time.Hour; i++ {
		wait *= 2
	}
	return SendQueued, m.now().Add(min(wait, 6*time.Hour)), detail
}

// issue reads an issue once and keeps it: issues never change.
func (m *Mailer) issue(ctx context.Context, id int64) (Issue, error) {
	if is, ok := m.issues[id]; ok {
		return is, nil
	}
	is, err := m.Store.GetIssue(ctx, id)
	if err != nil {
		return Issue{}, fmt.Errorf("newsletter: issue %d: %w", id, err)
	}
	if len(m.issues) > 100 {
		clear(m.issues)
	}
	m.issues[id] = is
	return is, nil
}
