package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/notify/told"
	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/store"
)

// Store is what the notifier needs of the database: the event store's
// queue of events to notify, what was told to whom and the commit of a
// pass (which queues the messages in the outbox), the policies and
// templates, the organisations, and State for the time of each
// organisation's last digest, and the observations marked false
// positives, which a pass leaves out.
type Store interface {
	store.NotifyQueue
	Records
	Settings
	FalsePositiveKeys(ctx context.Context) (map[event.Hash]bool, error)
	GetFalsePositives(ctx context.Context, keys []event.Hash) (map[event.Hash]FalsePositive, error)
	GetOrganisationByHandle(ctx context.Context, handle string) (constituency.Organisation, error)
	ListOrganisations(ctx context.Context, q constituency.OrganisationQuery) ([]constituency.Organisation, error)
	store.State
}

// Deps are what the notifier works with, wired by the caller.
type Deps struct {
	Store Store
	// Identity signs every message; without one the notifier sends
	// nothing (RunOnce fails with ErrNoIdentity) rather than unsigned mail.
	Identity *pgpmime.Identity
	Logger   *slog.Logger
	// Kick is called after a pass queued messages, to wake the outbox
	// sender; nil when the sender polls on its own.
	Kick func()
	// Room makes room in the process's memory budget for bytes that a
	// pass holds at once on purpose (the queue read at once, until each
	// organisation's turn) and returns what gives it back; nil when the
	// process has no budget. A process running a pipeline keeps the
	// collector to a soft limit sized for the pipeline (cmd vigil):
	// without room, a morning's pass holding more than that would keep
	// the collector running for the whole pass.
	Room func(bytes int64) (release func())
	// DeferCheckpoints puts off the store's copying of its log of
	// commits into the database (SQLite's checkpoints) while a pass over
	// the queue read at once commits, and returns what resumes it; nil
	// when the store has none to defer. The copy then runs after the pass
	// rather than alongside its commits.
	DeferCheckpoints func() (resume func())
}

// ErrNoIdentity is returned by RunOnce while the team has no OpenPGP key:
// notifications are always signed, so nothing is consumed until one is set.
var ErrNoIdentity = errors.New("notify: no team OpenPGP identity")

// pendingPage is how many pending notifications are read at a time.
const pendingPage = 5000

// Commits are batched over organisations: one transaction (one fsync) per
// commitOrgs organisations or commitBytes of messages, whichever comes
// first. Each organisation's work lies wholly in one commit.
const (
	commitOrgs  = 256
	commitBytes = 32 << 20
)

// bulkOrganisations is from how many organisations with pending events
// on a pass reads all organisations at once instead of one by one. (A
// variable so that a test can take the other path.)
var bulkOrganisations = 64

// maxRepeatLines bounds the "seen again" list of one digest.
const maxRepeatLines = 200

// Notifier decides, renders and queues the notifications of every
// organisation. It is safe for concurrent use; passes run one at a time.
type Notifier struct {
	store Store
	log   *slog.Logger
	kick  func()
	room  func(int64) func()
	// deferCheckpoints is Deps.DeferCheckpoints.
	deferCheckpoints func() func()

	mu       sync.Mutex // guards what follows
	cfg      Config
	pass     *passConfig
	identity *pgpmime.Identity
	last     Report
	// scanned remembers, per organisation, how far its queue holds only
	// events waiting for a digest that is not due, so that a pass every
	// minute does not re-read a day of them. It lives in memory only: after
	// a restart the first pass reads everything once.
	scanned map[string]scanMark

	run  sync.Mutex // one pass at a time
	wake chan struct{}
}

// scanMark is valid while the organisation's policy is unchanged.
type scanMark struct {
	seq    int64
	policy time.Time
	// digest is when the organisation's digest next falls due (zero when
	// digests are off): from then on its queue is read whole again.
	digest time.Time
}

// passConfig is the configuration as one pass uses it.
type passConfig struct {
	cfg      Config
	zone     *time.Location
	digestAt time.Duration
	render   *renderer
	from     *mail.Address
}

func newPassConfig(cfg Config, log *slog.Logger) (*passConfig, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	at, _ := parseTimeOfDay(cfg.DigestTime)
	r, err := newRenderer(cfg, log)
	if err != nil {
		return nil, err
	}
	pc := &passConfig{cfg: cfg, zone: r.zone, digestAt: at, render: r}
	if cfg.From != "" {
		pc.from, _ = mail.ParseAddress(cfg.From)
	}
	return pc, nil
}

// New returns a notifier for cfg, which must be valid.
func New(cfg Config, deps Deps) (*Notifier, error) {
	if deps.Store == nil {
		return nil, errors.New("notify: no store")
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	pc, err := newPassConfig(cfg, log)
	if err != nil {
		return nil, err
	}
	return &Notifier{
		store: deps.Store, log: log, kick: deps.Kick, room: deps.Room, deferCheckpoints: deps.DeferCheckpoints,
		cfg: cfg, pass: pc, identity: deps.Identity,
		scanned: map[string]scanMark{},
		wake:    make(chan struct{}, 1),
	}, nil
}

// ApplyConfig takes a new configuration from the next pass on.
func (n *Notifier) ApplyConfig(cfg Config) error {
	pc, err := newPassConfig(cfg, n.log)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.cfg, n.pass = cfg, pc
	n.mu.Unlock()
	return nil
}

// SetIdentity replaces the team key (generated or imported in the console).
func (n *Notifier) SetIdentity(id *pgpmime.Identity) {
	n.mu.Lock()
	n.identity = id
	n.mu.Unlock()
}

// LastReport is the report of the last pass, for the console.
func (n *Notifier) LastReport() Report {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.last
}

// Trigger asks Run for a pass now instead of at the next interval.
func (n *Notifier) Trigger() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Run makes a pass every Interval (and when triggered) until ctx ends, and
// prunes expired notification keys once an hour. Failed passes are logged
// and retried at the next interval: their work was not committed.
func (n *Notifier) Run(ctx context.Context) error {
	n.mu.Lock()
	interval := n.cfg.Interval
	n.mu.Unlock()
	t := time.NewTicker(interval)
	defer t.Stop()
	var pruned time.Time
	for {
		now := time.Now()
		rep, err := n.RunOnce(ctx, now)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			n.log.Error("notify: pass failed; it is retried", "err", err)
		case rep.Messages > 0 || rep.Consumed > 0 || len(rep.Errors) > 0:
			n.log.Info("notify: pass", "organisations", rep.Organisations, "events", rep.Consumed, "notified", rep.Notified,
				"repeats", rep.Repeats, "false_positives", rep.FalsePositives, "messages", rep.Messages, "undeliverable", rep.Undeliverable, "errors", len(rep.Errors),
				"elapsed", rep.Elapsed.Round(time.Millisecond))
		}
		if now.Sub(pruned) >= time.Hour {
			if err := n.store.PruneNotifiedKeys(ctx, now); err != nil {
				n.log.Warn("notify: prune notification keys", "err", err)
			} else {
				pruned = now
			}
		}
		n.mu.Lock()
		if n.cfg.Interval != interval { // ApplyConfig changed it
			interval = n.cfg.Interval
			t.Reset(interval)
		}
		n.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-n.wake:
		}
	}
}

// Report says what one pass did.
type Report struct {
	Started time.Time
	Elapsed time.Duration
	// Organisations is how many organisations with pending events were
	// looked at.
	Organisations int
	// Consumed counts the pending events handled (and removed from the
	// queue); Waiting those left for a digest that is not due yet.
	Consumed, Waiting int
	// Notified counts the events reported in messages; Repeats those
	// already told within the window (counted for the "seen again" list);
	// Duplicates those that repeated another event of the same pass.
	Notified, Repeats, Duplicates int
	// Filtered counts events the policy does not select (or a disabled
	// policy); Withheld events marked TLP:RED, which are never sent on;
	// FalsePositives events whose observation an analyst marked a false
	// positive, dropped from the queue untold.
	Filtered, Withheld, FalsePositives int
	// Messages counts the outbox messages queued for delivery;
	// Undeliverable the notifications recorded as failed because no
	// contact of the organisation could receive them.
	Messages, Undeliverable int
	// Skipped lists contacts left out because of their key or address.
	Skipped []SkippedContact
	// UnknownOrganisations are handles with pending events but no
	// organisation (deleted since): their events were consumed.
	UnknownOrganisations []string
	// Errors are organisations whose work failed and stays pending.
	Errors []OrgError
	// Reading is the part of Elapsed spent reading the whole queue at once
	// before preparing (on a pass over most of it), and Committing the
	// time spent storing the work, which overlaps with preparing: for
	// finding where a slow pass goes.
	Reading, Committing time.Duration
}

// SkippedContact is a notify-contact that was not sent a message.
type SkippedContact struct {
	Org, Email, Reason string
}

// OrgError is the failure of one organisation's work in a pass.
type OrgError struct {
	Org string
	Err error
}

func (r *Report) add(o *orgWork) {
	r.Consumed += len(o.done)
	r.Waiting += o.waiting
	r.Notified += o.notified
	r.Repeats += o.repeats
	r.Duplicates += o.duplicates
	r.Filtered += o.filtered
	r.Withheld += o.withheld
	r.FalsePositives += o.falsePositives
	r.Undeliverable += o.undeliverable
	r.Messages += len(o.messages) - o.undeliverable
	r.Skipped = append(r.Skipped, o.skipped...)
	if o.unknown {
		r.UnknownOrganisations = append(r.UnknownOrganisations, o.org)
	}
}

// RunOnce makes one pass at time now: for every organisation with pending
// events it decides what is due, renders, signs and encrypts the messages,
// and commits them with the notification keys and the consumed events.
// A commit is the boundary of crash safety: work not committed is redone
// by the next pass, work committed is never redone. An organisation whose
// work fails is reported in Report.Errors and stays pending; a failing
// commit ends the pass with an error.
func (n *Notifier) RunOnce(ctx context.Context, now time.Time) (Report, error) {
	n.run.Lock()
	defer n.run.Unlock()
	n.mu.Lock()
	pc, id := n.pass, n.identity
	n.mu.Unlock()
	rep := Report{Started: now}
	started := time.Now()
	defer func() { rep.Elapsed = time.Since(started) }()
	if id == nil {
		return rep, ErrNoIdentity
	}
	if pc.from == nil {
		return rep, errors.New("notify: no sender address (notify.from)")
	}
	held := &heldRoom{ask: n.room}
	defer held.free() // after the read, whose goroutine every return waits for
	readCtx, stopRead := context.WithCancel(ctx)
	defer stopRead()
	// A pass that may read the queue at once (no organisation's queue
	// counts as looked at, as at a morning's digest) starts reading it
	// at once, beside the counts that decide whether it does: the queue's
	// entries take the store longer than the counts (a million: some 0.6
	// and 0.3 s of a core), and both cores are busy instead of one. A
	// read the pass does not need is stopped once it has read the
	// horizon, before its first page.
	var early *queueReading
	if n.noScanMarks(now) {
		early = n.startReading(readCtx, true)
	}
	defer early.stop()
	pending, err := n.store.PendingNotificationOrgs(ctx)
	if err != nil {
		return rep, fmt.Errorf("notify: %w", err)
	}
	if len(pending) == 0 {
		n.setLast(rep, started)
		return rep, nil
	}
	bulk := len(pending) >= bulkOrganisations
	atOnce := bulk && dense(pending)
	// Between digests most of the queue only waits, and was looked at by
	// an earlier pass: a pass every minute must not read it all again.
	// Whether to read it at once is then decided once the pass knows
	// which organisations' queues it must read.
	later := atOnce && n.mostlyScanned(pending, now)
	// The scan marks of this pass stay at or below the horizon, read
	// before the queue is: an entry committed later, with a lower seq
	// than one read (PostgreSQL's concurrent batches), is then read by
	// the next pass. Without a horizon no mark moves.
	var (
		horizon int64
		read    *queueReading
	)
	switch {
	case early != nil && atOnce && !later:
		read = early
		read.proceed(newQueueRead(pending, nil, held))
	case early != nil:
		early.drop()
		horizon, err = early.horizon, early.horizonErr
	default:
		horizon, err = n.store.NotifyHorizon(ctx)
	}
	if err != nil {
		n.log.Warn("notify: the queue's committed horizon; no queue is marked as looked at", "err", err)
		horizon = 0
	}
	if read == nil && atOnce && !later {
		// The queue is read while what the pass shares is read on another
		// connection: neither waits for the other; a failed newPass stops
		// the read.
		read = n.startReading(readCtx, false)
		defer read.stop()
		read.proceed(newQueueRead(pending, nil, held))
	}
	var (
		queued []*orgQueue
		pages  []string
	)
	pass, err := n.newPass(ctx, pc, id, now, bulk)
	if read != nil {
		if err != nil {
			read.stop()
		}
		read.wait()
		if err == nil {
			err = read.err
		}
		if read == early {
			if herr := read.horizonErr; herr != nil {
				n.log.Warn("notify: the queue's committed horizon; no queue is marked as looked at", "err", herr)
			} else {
				horizon = read.horizon
			}
		}
		queued, pages, rep.Reading = read.queued, read.pages, read.took
	}
	if err != nil {
		return rep, err
	}
	if later {
		need := make([]bool, len(pending))
		var left []store.PendingCount
		for i, c := range pending {
			if !pass.onlyWaits(ctx, i, pending) {
				need[i] = true
				left = append(left, c)
			}
		}
		if len(left) >= bulkOrganisations && dense(left) {
			reading := time.Now()
			queued, pages, err = n.readQueue(ctx, pending, need, held)
			rep.Reading = time.Since(reading)
			if err != nil {
				return rep, err
			}
		}
	}
	pass.queued, pass.pages, pass.horizon = queued, pages, horizon

	workers := pc.cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if queued != nil && n.deferCheckpoints != nil {
		// A morning's commits: some 300 MB to the log at a million
		// events, copied into the database once the pass is done.
		defer n.deferCheckpoints()()
	}
	results := pass.prepareAll(wctx, pending, workers)
	commitErr := n.commitAll(ctx, cancel, results, &rep)
	sort.Strings(rep.UnknownOrganisations)
	rep.Elapsed = time.Since(started)
	n.setLast(rep, started)
	if commitErr != nil {
		return rep, commitErr
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	return rep, nil
}

// newPass reads what every organisation's work in a pass shares: the
// policies and the template overrides, and with bulk the whole
// constituency, the digest times and the "seen again" tallies at once.
func (n *Notifier) newPass(ctx context.Context, pc *passConfig, id *pgpmime.Identity, now time.Time, bulk bool) (*pass, error) {
	policies, err := n.store.ListNotificationPolicies(ctx)
	if err != nil {
		return nil, fmt.Errorf("notify: policies: %w", err)
	}
	pass := &pass{n: n, pc: pc, id: id, now: now, teamDefault: DefaultPolicy(), policies: map[int64]Policy{}}
	for _, p := range policies {
		if p.OrgID == 0 {
			pass.teamDefault = p
		} else {
			pass.policies[p.OrgID] = p
		}
	}
	if bulk {
		// One read of the whole constituency is far cheaper than a read
		// per organisation when many have events (a morning digest).
		all, err := n.store.ListOrganisations(ctx, constituency.OrganisationQuery{})
		if err != nil {
			return nil, fmt.Errorf("notify: organisations: %w", err)
		}
		pass.orgs = make(map[string]constituency.Organisation, len(all))
		for _, o := range all {
			pass.orgs[o.Handle] = o
		}
		// The same for the digest times and the "seen again" tallies.
		if pass.lastDigest, err = n.store.ListState(ctx, told.LastDigestPrefix); err != nil {
			return nil, fmt.Errorf("notify: digest times: %w", err)
		}
		if pass.notified, err = n.store.NotifiedOrganisations(ctx, now); err != nil {
			return nil, fmt.Errorf("notify: notified organisations: %w", err)
		}
		tallies, err := n.store.ListRepeatedKeys(ctx, "", now)
		if err != nil {
			return nil, fmt.Errorf("notify: repeated keys: %w", err)
		}
		pass.tallies = map[string][]NotifiedKey{}
		for _, k := range tallies {
			pass.tallies[k.Org] = append(pass.tallies[k.Org], k)
		}
	}
	// The marks are made by hand and few: one read a pass.
	if pass.falsePositives, err = n.store.FalsePositiveKeys(ctx); err != nil {
		return nil, fmt.Errorf("notify: false positives: %w", err)
	}
	overrides, err := n.store.ListNotificationTemplates(ctx)
	if err != nil {
		return nil, fmt.Errorf("notify: templates: %w", err)
	}
	pc.render.setOverrides(overrides)
	return pass, nil
}

// prepareAll prepares the organisations of pending on workers goroutines
// and returns their work as it is done; the channel is closed when all
// are done or ctx ends.
func (p *pass) prepareAll(ctx context.Context, pending []store.PendingCount, workers int) <-chan *orgWork {
	type job struct {
		i    int // in pending
		org  string
		last int64
	}
	jobs := make(chan job)
	results := make(chan *orgWork, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				results <- p.prepare(ctx, j.i, j.org, j.last)
			}
		}()
	}
	go func() {
		defer close(results)
		defer wg.Wait()
		defer close(jobs)
		for i, pn := range pending {
			select {
			case jobs <- job{i, pn.Org, pn.Last}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return results
}

func (n *Notifier) setLast(rep Report, started time.Time) {
	rep.Elapsed = time.Since(started)
	n.mu.Lock()
	n.last = rep
	n.mu.Unlock()
}
