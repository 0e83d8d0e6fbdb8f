package cli

// The feeds a process runs: the configuration file's, with the console's
// overrides (package feedadmin) laid over them, built into pipeline feeds
// and rebuilt when the overrides change; and the runs asked for by hand,
// taken from the database, so that a console in one process reaches the
// collectors in another.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/feedadmin"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// feedPoll is how often a running process looks for changed overrides and
// runs asked for by hand.
const feedPoll = 2 * time.Second

// feedSet builds the pipeline's feeds from the effective set, keeping the
// built feed of a definition unchanged since the last build, so that its
// collector goes on undisturbed.
type feedSet struct {
	a              *app
	env            pipeline.Env
	withCollectors bool
	built          map[string]builtFeed
}

// builtFeed is a pipeline feed and the definition it was built from.
type builtFeed struct {
	definition []byte
	feed       *pipeline.Feed
}

func newFeedSet(a *app, env pipeline.Env, withCollectors bool) *feedSet {
	return &feedSet{a: a, env: env, withCollectors: withCollectors, built: map[string]builtFeed{}}
}

// effectiveFeeds returns the file's feeds with the console's overrides.
func (a *app) effectiveFeeds(ctx context.Context) ([]config.EffectiveFeed, error) {
	overrides, err := a.store.ListFeedOverrides(ctx)
	if err != nil {
		return nil, failedWithReason(err, "cli.feeds.overrides")
	}
	return config.EffectiveFeeds(a.cfg.Feeds, overrides), nil
}

// build returns the pipeline feeds of the effective set. At start
// (strict) a file feed that runs and cannot be built is an error, as a
// wrong configuration file is; any other feed that cannot be built is
// logged and left out.
func (s *feedSet) build(ctx context.Context, strict bool) ([]*pipeline.Feed, error) {
	effective, err := s.a.effectiveFeeds(ctx)
	if err != nil {
		return nil, err
	}
	built := map[string]builtFeed{}
	var feeds []*pipeline.Feed
	for i, ef := range effective {
		if !ef.Problem.IsZero() {
			s.a.log.Error("feed override not used", "feed", ef.Name, "problem", ef.Problem.String())
			if ef.Origin == config.OriginAdded {
				continue
			}
		}
		def, err := config.FeedYAML(ef.Feed)
		if err != nil {
			return nil, err
		}
		if old, ok := s.built[ef.Name]; ok && bytes.Equal(old.definition, def) && old.feed.Paused == !ef.Runs() {
			built[ef.Name] = old
			feeds = append(feeds, old.feed)
			continue
		}
		f, err := buildFeed(s.a.cfg, s.env, ef.Feed, s.withCollectors)
		if err != nil {
			if strict && ef.Origin == config.OriginFile && ef.Runs() {
				return nil, moduleError(fmt.Sprintf("feeds[%d] (%s)", i, ef.Name), err)
			}
			s.a.log.Error("feed not started", "feed", ef.Name, "err", err)
			continue
		}
		f.Paused = !ef.Runs()
		built[ef.Name] = builtFeed{definition: def, feed: f}
		feeds = append(feeds, f)
	}
	s.built = built
	return feeds, nil
}

// buildFeed builds one feed's parser and, withCollector, its collector:
// the check of a feed the console adds or changes, too.
func buildFeed(cfg config.Config, env pipeline.Env, fc config.Feed, withCollector bool) (*pipeline.Feed, error) {
	parser, err := pipeline.NewParser(fc.Parser, env, orEmpty(fc.ParserOptions))
	if err != nil {
		return nil, &config.StageError{Stage: config.StageParser, Err: err}
	}
	f := &pipeline.Feed{Name: fc.Name, Provider: fc.Provider, URL: fc.URL, Code: fc.Code, TLP: fc.TLP,
		Accuracy: fc.Accuracy, KeepRaw: fc.KeepsRaw(), ParserID: fc.Parser, Parser: parser}
	if withCollector && fc.Collector != "" {
		opts := orEmpty(fc.CollectorOptions)
		if _, set := opts["dir"]; fc.Collector == "inbox" && fc.Name == "inbox" && !set {
			// The default feed watches the inbox itself; other feeds'
			// inboxes are its subdirectories.
			opts = pipeline.Options{"dir": cfg.Path("inbox")}
			for k, v := range fc.CollectorOptions {
				opts[k] = v
			}
		}
		col, err := pipeline.NewCollector(fc.Collector, env, fc.Name, opts)
		if err != nil {
			return nil, &config.StageError{Stage: config.StageCollector, Err: err}
		}
		f.Collector = col
	}
	return f, nil
}

// feedManager lets the console and the API manage the feeds over the
// configuration file's, checking a feed by building its stages as serve
// does.
func (a *app) feedManager() *config.FeedManager {
	env := a.env()
	return &config.FeedManager{File: a.cfg.Feeds, Store: a.store, Check: func(f config.Feed) error {
		_, err := buildFeed(a.cfg, env, f, true)
		return err
	}}
}

// followFeeds keeps runner's feeds those of the effective set, reading it
// again whenever the overrides change, and starts the runs asked for by
// hand of the feeds it has, until ctx ends.
func (a *app) followFeeds(ctx context.Context, runner *pipeline.Runner) error {
	set := a.feeds
	version, err := a.store.FeedOverridesVersion(ctx)
	if err != nil {
		return err
	}
	// A change between buildRunner's reading and this first poll is
	// caught at the first tick: set.build is cheap for what it has built.
	if feeds, err := set.build(ctx, false); err == nil {
		runner.SetFeeds(feeds)
	}
	tick := time.NewTicker(feedPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		v, err := a.store.FeedOverridesVersion(ctx)
		if err != nil {
			a.log.Warn("poll the feeds' overrides", "err", err)
			continue
		}
		if v != version {
			feeds, err := set.build(ctx, false)
			if err != nil {
				a.log.Warn("read the feeds' overrides", "err", err)
				continue
			}
			runner.SetFeeds(feeds)
			version = v
			a.log.Info("feeds changed in the console: now running", "feeds", len(feeds))
		}
		a.takeRunRequests(ctx, runner)
	}
}

// takeRunRequests starts the pending runs asked for by hand of the feeds
// runner has; another process takes those of feeds it has not.
func (a *app) takeRunRequests(ctx context.Context, runner *pipeline.Runner) {
	reqs, err := a.store.ListFeedRunRequests(ctx)
	if err != nil {
		a.log.Warn("poll the feeds' run requests", "err", err)
		return
	}
	for _, req := range reqs {
		if _, ok := runner.Feed(req.Feed); !ok {
			continue
		}
		req, ok, err := a.store.TakeFeedRunRequest(ctx, req.Feed)
		if err != nil || !ok {
			continue
		}
		go func() {
			if err := runner.RunNow(ctx, req.Feed, req.RequestedBy); err != nil && !errors.Is(err, context.Canceled) {
				a.log.Warn("feed run asked for by hand failed", "feed", req.Feed, "err", err)
			}
		}()
	}
}

// feedRunLog records the runner's runs in the feeds' history.
type feedRunLog struct{ runs feedadmin.Runs }

func (l feedRunLog) StartRun(ctx context.Context, feed, trigger, by string, started time.Time) (int64, error) {
	return l.runs.StartFeedRun(ctx, feedadmin.Run{Feed: feed, Trigger: trigger, RequestedBy: by, Started: started})
}

func (l feedRunLog) AddRunInput(ctx context.Context, id int64, d pipeline.Delivery, errText string, problem i18n.Message) error {
	return l.runs.AddFeedRunInput(ctx, id, feedadmin.RunInput{Name: d.Name, LinesRead: d.LinesRead, EventsParsed: d.Parsed,
		DeadLetters: d.DeadLetters, Error: errText, Problem: problem})
}

func (l feedRunLog) AddRunEvents(ctx context.Context, id int64, stored, duplicates int64) error {
	return l.runs.AddFeedRunEvents(ctx, id, stored, duplicates)
}

func (l feedRunLog) FinishRun(ctx context.Context, id int64, finished time.Time, errText string, problem i18n.Message) error {
	return l.runs.FinishFeedRun(ctx, id, finished, errText, problem)
}

var _ pipeline.RunLog = feedRunLog{}
