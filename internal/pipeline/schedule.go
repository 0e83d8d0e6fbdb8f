package pipeline

// The collectors' schedule: which feeds' collectors run, changed while
// Vigil runs (a feed added, changed or paused in the console), runs asked
// for by hand, and the history of runs.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// Fetcher is a collector that can make one run on demand, besides its
// schedule: one download, one listing of the inbox.
type Fetcher interface {
	Fetch(ctx context.Context, deliver Deliver) error
}

// FailureNotifier is a collector whose scheduled run can fail before it
// delivers anything (a download refused): the runner records such a
// failure as a run of the feed's history.
type FailureNotifier interface {
	OnFailure(func(ctx context.Context, err error))
}

// RunLog records the feeds' runs for their history (package feedadmin
// keeps it). A run is one input delivered on the collector's schedule, or
// one pass of the collector asked for by hand.
type RunLog interface {
	// StartRun records a run as started and returns its ID.
	StartRun(ctx context.Context, feed, trigger, by string, started time.Time) (int64, error)
	// AddRunInput adds what one delivered input did to a run, and why
	// it failed, if it did: in English, errText, and as a message,
	// problem (zero when it has none).
	AddRunInput(ctx context.Context, id int64, d Delivery, errText string, problem i18n.Message) error
	// AddRunEvents adds what the workers stored of a run's events.
	AddRunEvents(ctx context.Context, id int64, stored, duplicates int64) error
	// FinishRun records the end of a run and why it failed, if it did:
	// in English, errText, and as a message, problem (zero when it has
	// none).
	FinishRun(ctx context.Context, id int64, finished time.Time, errText string, problem i18n.Message) error
}

// Triggers of a run, as RunLog records them.
const (
	TriggerSchedule = "schedule"
	TriggerByHand   = "console"
)

type runKey struct{}

// withRun marks ctx as part of run id; the batches delivered in it carry
// the run.
func withRun(ctx context.Context, id int64) context.Context {
	return context.WithValue(ctx, runKey{}, id)
}

// runOf returns the run ctx belongs to, 0 when none.
func runOf(ctx context.Context) int64 {
	id, _ := ctx.Value(runKey{}).(int64)
	return id
}

// schedule is the collectors running while RunCollectors does.
type schedule struct {
	ctx     context.Context
	wg      sync.WaitGroup
	running map[string]*scheduled
}

// scheduled is one feed's collector on its schedule. Stopping it lets
// the delivery in progress finish: the collector's context ends only
// when no delivery is in progress.
type scheduled struct {
	feed   *Feed
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	stopping bool
	inFlight int
}

// stop ends the collector once its delivery in progress, if any, is done.
func (s *scheduled) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopping = true
	if s.inFlight == 0 {
		s.cancel()
	}
}

// enter admits a delivery unless the collector is stopping.
func (s *scheduled) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return false
	}
	s.inFlight++
	return true
}

func (s *scheduled) exit() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight--
	if s.stopping && s.inFlight == 0 {
		s.cancel()
	}
}

// errStopping is what a delivery gets from a collector being stopped.
var errStopping error = i18n.NewError("pipeline.stopping")

// RunCollectors runs the collector of every feed not paused until ctx
// ends, following the changes SetFeeds makes.
func (r *Runner) RunCollectors(ctx context.Context) error {
	r.mu.Lock()
	if r.schedule != nil {
		r.mu.Unlock()
		return errors.New("pipeline: collectors already running")
	}
	sch := &schedule{ctx: ctx, running: map[string]*scheduled{}}
	r.schedule = sch
	r.reschedule()
	r.mu.Unlock()
	<-ctx.Done()
	r.mu.Lock()
	r.schedule = nil
	r.mu.Unlock()
	sch.wg.Wait()
	return ctx.Err()
}

// SetFeeds replaces the configured feeds. A feed given as the same *Feed
// as before goes on as it was; the collectors of feeds gone, changed
// (another *Feed of the same name) or paused stop once their delivery in
// progress is done, and those of new or resumed feeds start.
func (r *Runner) SetFeeds(feeds []*Feed) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.feeds = make(map[string]*Feed, len(feeds))
	for _, f := range feeds {
		r.feeds[f.Name] = f
	}
	if r.schedule != nil {
		r.reschedule()
	}
}

// reschedule makes the running collectors those of r.feeds not paused;
// r.mu is held.
func (r *Runner) reschedule() {
	sch := r.schedule
	for name, s := range sch.running {
		if f := r.feeds[name]; f != s.feed || f.Paused {
			s.stop()
			delete(sch.running, name)
			r.log.Info("feed's collector stopped", "feed", name)
		}
	}
	for name, f := range r.feeds {
		if _, ok := sch.running[name]; ok || f.Collector == nil || f.Paused || sch.ctx.Err() != nil {
			continue
		}
		if fn, ok := f.Collector.(FailureNotifier); ok && r.runs != nil {
			name := f.Name
			fn.OnFailure(func(ctx context.Context, err error) { r.recordFailedRun(ctx, name, err) })
		}
		ctx, cancel := context.WithCancel(sch.ctx)
		s := &scheduled{feed: f, cancel: cancel, done: make(chan struct{})}
		sch.running[name] = s
		sch.wg.Add(1)
		go func() {
			defer sch.wg.Done()
			defer close(s.done)
			defer cancel()
			deliver := func(ctx context.Context, in Input) error {
				if !s.enter() {
					return errStopping
				}
				defer s.exit()
				return r.deliverScheduled(ctx, f, in)
			}
			if err := f.Collector.Run(ctx, deliver); err != nil && ctx.Err() == nil {
				r.log.Error("collector stopped", "feed", f.Name, "err", err)
			}
		}()
	}
}

// deliverScheduled delivers one input of a collector's schedule as one
// run of the feed's history.
func (r *Runner) deliverScheduled(ctx context.Context, f *Feed, in Input) error {
	if r.runs == nil || runOf(ctx) != 0 {
		return r.Deliver(ctx, in)
	}
	started := r.env.Now()
	id, err := r.runs.StartRun(context.WithoutCancel(ctx), f.Name, TriggerSchedule, "", started)
	if err != nil {
		r.log.Warn("record a feed run", "feed", f.Name, "err", err)
		return r.Deliver(ctx, in)
	}
	err = r.deliverInRun(withRun(ctx, id), id, in)
	if ferr := r.runs.FinishRun(context.WithoutCancel(ctx), id, r.env.Now(), "", i18n.Message{}); ferr != nil {
		r.log.Warn("record a feed run's end", "feed", f.Name, "err", ferr)
	}
	return err
}

// recordFailedRun records a scheduled run that failed on its own.
func (r *Runner) recordFailedRun(ctx context.Context, feed string, failure error) {
	ctx = context.WithoutCancel(ctx)
	now := r.env.Now()
	id, err := r.runs.StartRun(ctx, feed, TriggerSchedule, "", now)
	if err == nil {
		problem, _ := i18n.Said(failure)
		err = r.runs.FinishRun(ctx, id, now, failure.Error(), problem)
	}
	if err != nil {
		r.log.Warn("record a failed feed run", "feed", feed, "err", err)
	}
}

// deliverInRun delivers one input of run id and adds it to the run.
func (r *Runner) deliverInRun(ctx context.Context, id int64, in Input) error {
	d, err := r.DeliverReport(ctx, in)
	errText, problem := d.Refused, d.RefusedMessage
	if err != nil {
		errText = err.Error()
		problem, _ = i18n.Said(err)
	}
	if aerr := r.runs.AddRunInput(context.WithoutCancel(ctx), id, d, errText, problem); aerr != nil {
		r.log.Warn("record a feed run's input", "feed", in.Feed, "err", aerr)
	}
	return err
}

// ErrCannotRunNow is returned by RunNow for a feed whose collector cannot
// make a run on demand, or that has no collector.
var ErrCannotRunNow error = i18n.NewError("pipeline.run.cannot")

// RunNow makes one run of feed's collector at once, paused or not, as a
// run asked for by hand by `by`, and returns when it is done.
func (r *Runner) RunNow(ctx context.Context, feed, by string) error {
	f, ok := r.Feed(feed)
	if !ok {
		return fmt.Errorf("run feed %s: %w", feed, ErrUnknownFeed)
	}
	deliver := Deliver(r.Deliver)
	var id int64
	if r.runs != nil {
		var err error
		if id, err = r.runs.StartRun(context.WithoutCancel(ctx), feed, TriggerByHand, by, r.env.Now()); err != nil {
			r.log.Warn("record a feed run", "feed", feed, "err", err)
		} else {
			ctx = withRun(ctx, id)
			deliver = func(ctx context.Context, in Input) error { return r.deliverInRun(ctx, id, in) }
		}
	}
	r.log.Info("feed run asked for by hand", "feed", feed, "by", by)
	var err error
	if fetcher, ok := f.Collector.(Fetcher); ok {
		err = fetcher.Fetch(ctx, deliver)
	} else {
		// Recorded as a failed run, so that whoever asked sees why.
		err = ErrCannotRunNow
	}
	if id != 0 {
		var (
			errText string
			problem i18n.Message
		)
		if err != nil {
			errText = err.Error()
			problem, _ = i18n.Said(err)
		}
		if ferr := r.runs.FinishRun(context.WithoutCancel(ctx), id, r.env.Now(), errText, problem); ferr != nil {
			r.log.Warn("record a feed run's end", "feed", feed, "err", ferr)
		}
	}
	if err != nil {
		return fmt.Errorf("run feed %s: %w", feed, err)
	}
	return nil
}
