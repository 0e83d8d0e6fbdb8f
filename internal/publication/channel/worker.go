package channel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/lease"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/store"
)

// Sender posts a publication to one channel. Send gets the delivery too:
// its language (Lang, "" for a channel that takes every language at
// once), and its ID and Attempts, from which a sender derives what keeps
// a retry from posting twice. It returns what the channel answered (a
// post's URL or id) as a catalogue message, or an error made with
// Permanent, Retryable or FromResponse; any other error is retried.
//
// The reply is a Message, not a text, so that what a server answers can
// only ever be an argument of one of Vigil's messages ("Posted: %s"):
// the delivery's Reply, like its LastError, is always written by
// i18n.Message.Encode from a message Vigil chose, and a server answering
// with text shaped like a stored message is shown as that text, quoted,
// never as a message of Vigil's.
type Sender interface {
	Name() string
	Send(ctx context.Context, p publication.Publication, d publication.Delivery) (reply i18n.Message, err error)
}

// Accepter is a Sender that says itself which publications it takes,
// beyond the public ones: the constituents channel tells organisations
// of TLP:GREEN and AMBER advisories too. A sender without it takes only
// what Publication.Public allows.
type Accepter interface {
	Accepts(p *publication.Publication) bool
}

// Publications is what the worker reads publications from.
type Publications interface {
	GetPublication(ctx context.Context, id int64) (publication.Publication, error)
}

// Registry is the list of senders a Worker serves, one per channel name.
// The social channels are registered from the configuration (Senders);
// other packages register theirs beside them (the newsletter's
// "newsletter", the products' "constituents").
type Registry struct {
	mu      sync.Mutex
	senders []Sender
}

// Register adds s; a second sender of the same channel is an error.
func (r *Registry) Register(s Sender) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, have := range r.senders {
		if have.Name() == s.Name() {
			return fmt.Errorf("channel: %q registered twice", s.Name())
		}
	}
	r.senders = append(r.senders, s)
	return nil
}

// Senders returns the registered senders in the order they came.
func (r *Registry) Senders() []Sender {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Sender(nil), r.senders...)
}

// Lookup returns the sender of channel name.
func (r *Registry) Lookup(name string) (Sender, bool) {
	for _, s := range r.Senders() {
		if s.Name() == name {
			return s, true
		}
	}
	return nil, false
}

// Retry says how often and how fast a failed delivery is tried again.
type Retry struct {
	// Attempts is how many times a delivery is tried before it is marked
	// failed (default 8).
	Attempts int `yaml:"attempts"`
	// Backoff is the wait after the first failure (default 1m); it
	// doubles after each further one, up to MaxBackoff (default 6h), and
	// a random part of up to half of it is taken off so that retries of
	// many deliveries spread out.
	Backoff    time.Duration `yaml:"backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
}

// DefaultRetry is the retry policy without configuration.
func DefaultRetry() Retry { return Retry{Attempts: 8, Backoff: time.Minute, MaxBackoff: 6 * time.Hour} }

// Worker sends the due deliveries of every registered channel. Run it
// under a lease (internal/lease), so that of several processes one sends.
type Worker struct {
	Deliveries   publication.Deliveries
	Publications Publications
	Registry     *Registry
	Retry        Retry
	// Poll is how often Run looks for due deliveries (default 15s).
	Poll time.Duration
	// Batch is how many deliveries of a channel one look takes (default
	// 50).
	Batch int
	// SendTimeout bounds one send (default 1m), which is let finish when
	// the worker is stopped.
	SendTimeout time.Duration
	// UnconfiguredAfter is how long a delivery of a channel no sender
	// here serves stays queued before it is skipped (default 1h): long
	// enough for a process configured with the channel (a rolling
	// update, a process started with more channels) to send it.
	UnconfiguredAfter time.Duration
	Log               *slog.Logger
	// Now is the clock (default time.Now); Jitter returns a random
	// duration in [0, d) (default math/rand/v2).
	Now    func() time.Time
	Jitter func(d time.Duration) time.Duration

	once sync.Once
	kick chan struct{}
	// pass serialises passes; unrecorded holds deliveries that were sent
	// but could not be recorded as such, recorded before anything else.
	pass       sync.Mutex
	unrecorded map[int64]publication.Delivery
	// paused holds channels that failed as a whole (429, a server
	// error, the network) until they are worth another try.
	paused map[string]time.Time
}

func (w *Worker) init() {
	w.once.Do(func() {
		w.kick = make(chan struct{}, 1)
		w.unrecorded = map[int64]publication.Delivery{}
		w.paused = map[string]time.Time{}
		if w.Log == nil {
			w.Log = slog.New(slog.DiscardHandler)
		}
		if w.Now == nil {
			w.Now = time.Now
		}
		if w.Jitter == nil {
			w.Jitter = func(d time.Duration) time.Duration {
				if d <= 0 {
					return 0
				}
				return rand.N(d)
			}
		}
		def := DefaultRetry()
		if w.Retry.Attempts <= 0 {
			w.Retry.Attempts = def.Attempts
		}
		if w.Retry.Backoff <= 0 {
			w.Retry.Backoff = def.Backoff
		}
		if w.Retry.MaxBackoff < w.Retry.Backoff {
			w.Retry.MaxBackoff = max(def.MaxBackoff, w.Retry.Backoff)
		}
		if w.Poll <= 0 {
			w.Poll = 15 * time.Second
		}
		if w.Batch <= 0 {
			w.Batch = 50
		}
		if w.SendTimeout <= 0 {
			w.SendTimeout = time.Minute
		}
		if w.UnconfiguredAfter <= 0 {
			w.UnconfiguredAfter = time.Hour
		}
	})
}

// Run sends due deliveries every Poll and whenever kicked, until ctx
// ends; it returns nil then. It starts by skipping the deliveries of
// channels no longer configured (SkipUnconfigured), until that succeeds
// once. A send under way when ctx ends is finished and recorded first
// (at most SendTimeout), so that a process taking the lease over does
// not post it again.
func (w *Worker) Run(ctx context.Context) error {
	w.init()
	tick := time.NewTicker(w.Poll)
	defer tick.Stop()
	var unconfigured time.Time // the last SkipUnconfigured that succeeded
	for {
		if now := w.Now(); now.Sub(unconfigured) >= w.UnconfiguredAfter/4 {
			if _, err := w.SkipUnconfigured(ctx); err == nil {
				unconfigured = now
			} else if ctx.Err() == nil {
				w.Log.Error("publication outbox: skipping the deliveries of channels no longer configured failed", "err", err)
			}
		}
		if _, err := w.RunOnce(ctx); err != nil && ctx.Err() == nil {
			w.Log.Error("publication outbox pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-w.kick:
		}
	}
}

// SkipUnconfigured marks every delivery queued for longer than
// UnconfiguredAfter of a channel that no registered sender serves as
// skipped, saying that the channel is no longer configured, and returns
// how many. Without it a channel removed from the configuration would
// leave its deliveries queued for ever. Run calls it when it starts and
// every quarter of UnconfiguredAfter, under the lease; the wait lets a
// process configured with the channel send first, when processes on one
// database differ for a while.
func (w *Worker) SkipUnconfigured(ctx context.Context) (int, error) {
	w.init()
	w.pass.Lock()
	defer w.pass.Unlock()
	var known []string
	for _, s := range w.Registry.Senders() {
		known = append(known, s.Name())
	}
	skipped, err := w.Deliveries.SkipUnknownChannels(ctx, known, func(channel string) string {
		return i18n.M("channel.reason.unconfigured", channel).Encode()
	}, w.Now().Add(-w.UnconfiguredAfter), w.Now())
	if err != nil {
		return 0, fmt.Errorf("skip the deliveries of channels no longer configured: %w", err)
	}
	total := 0
	for channel, n := range skipped {
		total += n
		w.Log.Warn("publication deliveries skipped: their channel is no longer configured", "channel", channel, "skipped", n)
	}
	if total > 0 {
		w.Log.Warn("publication outbox skipped the deliveries of channels no longer configured", "skipped", total, "channels", len(skipped))
	}
	return total, nil
}

// Kick makes Run look for due deliveries now (after publishing). It
// never blocks.
func (w *Worker) Kick() {
	w.init()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Counts say what a pass did.
type Counts struct {
	Sent, Retried, Failed, Skipped int
}

// RunOnce takes every registered channel's due deliveries and sends
// them, recording each outcome. A channel that fails with a retryable
// error is left alone for the rest of the pass and for the time it
// asked (Retry-After) or the first backoff. The error is about the store; failed sends are
// recorded and logged.
func (w *Worker) RunOnce(ctx context.Context) (Counts, error) {
	w.init()
	w.pass.Lock()
	defer w.pass.Unlock()
	var counts Counts
	if err := w.recordUnrecorded(ctx); err != nil {
		return counts, err
	}
	pubs := map[int64]publication.Publication{}
	for _, s := range w.Registry.Senders() {
		if err := w.sendChannel(ctx, s, pubs, &counts); err != nil {
			return counts, err
		}
	}
	return counts, nil
}

// sendChannel sends the due deliveries of one channel.
func (w *Worker) sendChannel(ctx context.Context, s Sender, pubs map[int64]publication.Publication, counts *Counts) error {
	name := s.Name()
	tried := map[int64]bool{}
	for {
		now := w.Now()
		if now.Before(w.paused[name]) {
			return nil
		}
		due, err := w.Deliveries.DueDeliveries(ctx, name, now, w.Batch)
		if err != nil {
			return fmt.Errorf("channel %s: due deliveries: %w", name, err)
		}
		fresh := 0
		for _, d := range due {
			if tried[d.ID] || w.unrecorded[d.ID].ID != 0 {
				continue
			}
			tried[d.ID] = true
			fresh++
			if ctx.Err() != nil {
				return nil
			}
			paused, err := w.deliver(ctx, s, d, pubs, counts)
			if err != nil {
				return err
			}
			if paused {
				return nil
			}
		}
		if fresh == 0 || len(due) < w.Batch {
			return nil
		}
	}
}

// deliver sends one delivery and records the outcome; paused is true
// when the channel failed as a whole and the pass should leave it.
func (w *Worker) deliver(ctx context.Context, s Sender, d publication.Delivery, pubs map[int64]publication.Publication, counts *Counts) (paused bool, err error) {
	log := w.Log.With("channel", d.Channel, "delivery", d.ID, "publication", d.PublicationID, "lang", d.Lang)
	p, ok := pubs[d.PublicationID]
	if !ok {
		p, err = w.Publications.GetPublication(ctx, d.PublicationID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			counts.Failed++
			return false, w.finish(ctx, d, publication.DeliveryFailed, i18n.M("channel.reason.notfound"), i18n.Message{})
		case err != nil:
			return false, fmt.Errorf("delivery %d: publication %d: %w", d.ID, d.PublicationID, err)
		}
		pubs[d.PublicationID] = p
	}
	if reason := skipReason(s, &p, d); !reason.IsZero() {
		counts.Skipped++
		log.Info("publication delivery skipped", "reason", reason.String())
		return false, w.finish(ctx, d, publication.DeliverySkipped, reason, i18n.Message{})
	}
	// A send under way is finished even when ctx ends, and recorded:
	// cut off, it might have posted without the worker knowing, and the
	// process that takes the lease over would post it again.
	// Not past the lease's term: another process may post it by now.
	// (It then ended the pass's context: the pass ends as on shutdown.)
	if lease.Check(ctx) != nil {
		return true, nil
	}
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.SendTimeout)
	reply, sendErr := s.Send(sendCtx, p, d)
	cancel()
	d.Attempts++
	if sendErr == nil {
		counts.Sent++
		log.Info("publication delivered", "reply", reply.String(), "attempt", d.Attempts)
		return false, w.finish(ctx, d, publication.DeliverySent, i18n.Message{}, reply)
	}
	var se *SendError
	if !errors.As(sendErr, &se) {
		se = sendFailure(sendErr)
	}
	// The delivery keeps the failure as a message, shown in the reader's
	// language; the log has it in English.
	text := se.Explain()
	if se.Permanent || d.Attempts >= w.Retry.Attempts {
		if !se.Permanent {
			text = i18n.M("channel.error.gaveup", d.Attempts, text)
		}
		counts.Failed++
		log.Warn("publication delivery failed", "err", text.String(), "attempt", d.Attempts)
		return false, w.finish(ctx, d, publication.DeliveryFailed, text, i18n.Message{})
	}
	// A Retry-After is believed up to MaxBackoff: a server answering
	// "in a year" does not park the channel for a year.
	retryAfter := min(se.RetryAfter, w.Retry.MaxBackoff)
	wait := max(w.backoff(d.Attempts), retryAfter)
	d.NextAttempt = w.Now().Add(wait)
	// The channel waits as long as it asked (Retry-After), or the first
	// backoff: long enough not to hammer a server in trouble, short
	// enough that one delivery it keeps refusing does not hold the
	// others up for hours.
	w.paused[d.Channel] = w.Now().Add(max(retryAfter, w.Retry.Backoff))
	counts.Retried++
	log.Warn("publication delivery deferred; the channel waits", "err", text.String(), "attempt", d.Attempts, "next_attempt", d.NextAttempt)
	return true, w.finish(ctx, d, publication.DeliveryQueued, text, i18n.Message{})
}

// skipReason says why d is not sent, the zero message when it is.
func skipReason(s Sender, p *publication.Publication, d publication.Delivery) i18n.Message {
	accepts := p.Public()
	if a, ok := s.(Accepter); ok {
		accepts = a.Accepts(p)
	}
	switch {
	case !accepts:
		return i18n.M("channel.reason.notpublic")
	case d.Revision < p.Revision:
		return i18n.M("channel.reason.superseded")
	}
	if d.Lang != "" {
		if _, ok := p.Text(d.Lang); !ok {
			return i18n.M("channel.reason.notext")
		}
	}
	return i18n.Message{}
}

// backoff is the wait after the attempts-th failure: Backoff doubling up
// to MaxBackoff, less a random part of up to half of it.
func (w *Worker) backoff(attempts int) time.Duration {
	d := w.Retry.Backoff
	for i := 1; i < attempts && d < w.Retry.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.Retry.MaxBackoff)
	return d - w.Jitter(d/2)
}

// finish records d's outcome, why it failed or was skipped and what the
// channel answered as stored messages (their quoted texts cut short).
// The record is written even when ctx has just ended: a post
// that went out must not be posted again after a restart. A sent
// delivery that cannot be recorded is kept and recorded at the start of
// the next pass, before anything is sent.
func (w *Worker) finish(ctx context.Context, d publication.Delivery, status string, why, reply i18n.Message) error {
	d.Status = status
	d.LastError = shortArgs(why, maxReason, 0).Encode()
	d.Reply = shortArgs(reply, maxReply, 0).Encode()
	if status != publication.DeliveryQueued {
		d.Done = w.Now()
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := w.Deliveries.FinishDelivery(ctx, d); err != nil {
		if status == publication.DeliverySent {
			w.unrecorded[d.ID] = d
		}
		return fmt.Errorf("record delivery %d as %s: %w", d.ID, status, err)
	}
	return nil
}

// recordUnrecorded records the deliveries sent but not recorded.
func (w *Worker) recordUnrecorded(ctx context.Context) error {
	for id, d := range w.unrecorded {
		if err := w.Deliveries.FinishDelivery(ctx, d); err != nil {
			return fmt.Errorf("record delivery %d as sent: %w", id, err)
		}
		delete(w.unrecorded, id)
	}
	return nil
}

// maxReply bounds each text a channel's reply quotes.
const maxReply = 500

// shortArgs returns m with its texts, and those of the messages it
// quotes, cut short and stripped of control characters (Shorten).
func shortArgs(m i18n.Message, n, depth int) i18n.Message {
	if m.IsZero() || depth > 4 {
		return m
	}
	args := m.Args()
	for i, a := range args {
		switch a := a.(type) {
		case string:
			args[i] = Shorten(a, n)
		case i18n.Message:
			args[i] = shortArgs(a, n, depth+1)
		}
	}
	return i18n.M(m.ID, args...)
}
