package api

// The feeds managed through the API as in the console: one feed's
// status, definition and recent runs; adding, changing, pausing,
// resuming and running feeds, and dropping the overrides of the
// configuration file's feeds; checked by the same config.FeedManager.

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/feedadmin"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
)

// feedManagers may change the feeds: administrators, as in the console.
var feedManagers = allowed(auth.ManageFeeds)

// feedDefinitionJSON is a feed's definition, with the configuration
// file's keys.
type feedDefinitionJSON struct {
	Name             string         `json:"name"`
	Provider         string         `json:"provider,omitempty"`
	Enabled          *bool          `json:"enabled,omitempty"`
	Collector        string         `json:"collector,omitempty"`
	CollectorOptions map[string]any `json:"collector_options,omitempty"`
	Parser           string         `json:"parser"`
	ParserOptions    map[string]any `json:"parser_options,omitempty"`
	KeepRaw          *bool          `json:"keep_raw,omitempty"`
	Accuracy         float64        `json:"accuracy,omitempty"`
	URL              string         `json:"url,omitempty"`
	Code             string         `json:"code,omitempty"`
	TLP              string         `json:"tlp,omitempty"`
}

func (d feedDefinitionJSON) feed() config.Feed {
	return config.Feed{Name: d.Name, Provider: d.Provider, Enabled: d.Enabled, Collector: d.Collector,
		CollectorOptions: pipeline.Options(d.CollectorOptions), Parser: d.Parser, ParserOptions: pipeline.Options(d.ParserOptions),
		KeepRaw: d.KeepRaw, Accuracy: d.Accuracy, URL: d.URL, Code: d.Code, TLP: d.TLP}
}

func definitionJSON(f config.Feed) feedDefinitionJSON {
	return feedDefinitionJSON{Name: f.Name, Provider: f.Provider, Enabled: f.Enabled, Collector: f.Collector,
		CollectorOptions: f.CollectorOptions, Parser: f.Parser, ParserOptions: f.ParserOptions,
		KeepRaw: f.KeepRaw, Accuracy: f.Accuracy, URL: f.URL, Code: f.Code, TLP: f.TLP}
}

// feedRunJSON is one run of a feed's history.
type feedRunJSON struct {
	Started     time.Time  `json:"started"`
	Finished    *time.Time `json:"finished,omitempty"`
	Trigger     string     `json:"trigger"`
	RequestedBy string     `json:"requested_by,omitempty"`
	Inputs      int64      `json:"inputs"`
	// InputNames are the file names or URLs of the run's first inputs
	// (feedadmin.RunInputNames); Inputs counts them all.
	InputNames   []string `json:"input_names"`
	LinesRead    int64    `json:"lines_read"`
	EventsParsed int64    `json:"events_parsed"`
	EventsStored int64    `json:"events_stored"`
	DeadLetters  int64    `json:"dead_letters"`
	Duplicates   int64    `json:"duplicates"`
	// Error is why the run failed, in English, for programs; Reason
	// says it in the request's language.
	Error  string `json:"error,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// feedDetailJSON is one feed: where its definition comes from, its
// state, its totals and its recent runs.
type feedDetailJSON struct {
	Name string `json:"name"`
	// Origin is file, changed or added.
	Origin     string             `json:"origin"`
	Paused     bool               `json:"paused"`
	Running    bool               `json:"running"`
	Definition feedDefinitionJSON `json:"definition"`
	// FileDefinition is the file's version of a feed changed through the
	// console or the API.
	FileDefinition *feedDefinitionJSON `json:"file_definition,omitempty"`
	// Problem says why an override's definition is not used, in the
	// request's language (Accept-Language), as the errors are.
	Problem string `json:"problem,omitempty"`
	feedCountsJSON
	// LagSeconds is the time between the newest event's source time and
	// now, absent before the first event.
	LagSeconds   *int64        `json:"lag_seconds,omitempty"`
	RunRequested *time.Time    `json:"run_requested,omitempty"`
	Runs         []feedRunJSON `json:"runs"`
}

// feedActor is the caller as the feed manager audits their changes:
// through their token.
func feedActor(c *caller) config.FeedActor {
	return config.FeedActor{UserID: c.user.ID, Name: c.user.Name, Via: fmt.Sprintf("API token %d", c.token.ID)}
}

// feedManager returns the feed manager, or the error of a process that
// has none.
func (h *handler) feedManager() (*config.FeedManager, error) {
	if h.feeds == nil {
		return nil, errorText(http.StatusNotImplemented, "not_implemented", "", i18n.M("api.error.feed.unmanaged"))
	}
	return h.feeds, nil
}

// pathFeed returns the feed named in the path of a request that takes no
// query parameters (none of the feed routes does).
func (h *handler) pathFeed(r *http.Request) (*config.FeedManager, config.EffectiveFeed, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, config.EffectiveFeed{}, err
	}
	m, err := h.feedManager()
	if err != nil {
		return nil, config.EffectiveFeed{}, err
	}
	f, err := m.Get(r.Context(), r.PathValue("name"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, f, errorText(http.StatusNotFound, "not_found", "", i18n.M("api.error.feed.notfound"))
	}
	return m, f, err
}

func (h *handler) getFeed(r *http.Request, _ *caller) (any, error) {
	_, f, err := h.pathFeed(r)
	if err != nil {
		return nil, err
	}
	return h.feedDetail(r, f)
}

func (h *handler) feedDetail(r *http.Request, f config.EffectiveFeed) (feedDetailJSON, error) {
	ctx := r.Context()
	out := feedDetailJSON{Name: f.Name, Origin: string(f.Origin), Paused: f.Paused(), Running: f.Runs(),
		Definition: definitionJSON(f.Feed), Runs: []feedRunJSON{}}
	if !f.Problem.IsZero() {
		// In the request's language, as the API's errors are.
		cat, err := catalogue()
		if err != nil {
			return out, err
		}
		out.Problem = f.Problem.In(cat, cat.Match(r.Header.Get("Accept-Language")))
	}
	if f.File != nil {
		d := definitionJSON(*f.File)
		out.FileDefinition = &d
	}
	rows, err := h.store.ListFeedStatus(ctx)
	if err != nil {
		return out, fmt.Errorf("list feeds: %w", err)
	}
	for _, t := range store.SumFeeds(rows) {
		if t.Name == f.Name {
			out.feedCountsJSON = countsJSON(t.FeedStatus, requestLanguage(r))
			if !t.LastEvent.IsZero() {
				lag := int64(time.Since(t.LastEvent) / time.Second)
				out.LagSeconds = &lag
			}
		}
	}
	reqs, err := h.store.ListFeedRunRequests(ctx)
	if err != nil {
		return out, fmt.Errorf("list run requests: %w", err)
	}
	for _, req := range reqs {
		if req.Feed == f.Name {
			out.RunRequested = optionalTime(req.Requested)
		}
	}
	runs, err := h.store.ListFeedRuns(ctx, f.Name, feedadmin.KeepRuns)
	if err != nil {
		return out, fmt.Errorf("list runs: %w", err)
	}
	// In the request's language, as the feed's problem is.
	lang := requestLanguage(r)
	for _, run := range runs {
		names := run.InputNames
		if names == nil {
			names = []string{}
		}
		out.Runs = append(out.Runs, feedRunJSON{Started: run.Started.UTC(), Finished: optionalTime(run.Finished),
			Trigger: run.Trigger, RequestedBy: run.RequestedBy, Inputs: run.Inputs, InputNames: names, LinesRead: run.LinesRead,
			EventsParsed: run.EventsParsed, EventsStored: run.EventsStored, DeadLetters: run.DeadLetters,
			Duplicates: run.Duplicates, Error: run.Error, Reason: run.Reason(i18n.Embedded(), lang)})
	}
	return out, nil
}

// feedNow answers a change with the feed as it is after it.
func (h *handler) feedNow(r *http.Request, m *config.FeedManager, name string) (feedDetailJSON, error) {
	f, err := m.Get(r.Context(), name)
	if err != nil {
		return feedDetailJSON{}, err
	}
	return h.feedDetail(r, f)
}

// invalidFeed is a refusal of the feed manager as the API reports it.
func invalidFeed(err error) error {
	var ce *config.Error
	if !errors.As(err, &ce) {
		return err
	}
	// The reason in the caller's language.
	return errorText(http.StatusUnprocessableEntity, "invalid_feed", ce.Key, i18n.M("api.error.feed.invalid", ce.Key, ce.Message))
}

func (h *handler) createFeed(r *http.Request, c *caller) (any, error) {
	if err := checkParams(r.URL.Query(), nil); err != nil {
		return nil, err
	}
	m, err := h.feedManager()
	if err != nil {
		return nil, err
	}
	var in feedDefinitionJSON
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	ctx := r.Context()
	if err := m.Add(ctx, in.feed(), feedActor(c)); err != nil {
		return nil, invalidFeed(err)
	}
	out, err := h.feedNow(r, m, in.Name)
	if err != nil {
		return nil, err
	}
	return created{location: "/api/v1/feeds/" + in.Name, value: out}, nil
}

func (h *handler) updateFeed(r *http.Request, c *caller) (any, error) {
	m, f, err := h.pathFeed(r)
	if err != nil {
		return nil, err
	}
	var in feedDefinitionJSON
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if in.Name != "" && in.Name != f.Name {
		return nil, errorText(http.StatusUnprocessableEntity, "invalid_feed", "name", i18n.M("api.error.feed.rename"))
	}
	ctx := r.Context()
	if err := m.Change(ctx, f.Name, in.feed(), feedActor(c)); err != nil {
		return nil, invalidFeed(err)
	}
	return h.feedNow(r, m, f.Name)
}

// deleteFeedOverride drops the override of a feed: a file's feed returns
// to the file's version, an added one is gone.
func (h *handler) deleteFeedOverride(r *http.Request, c *caller) (any, error) {
	m, f, err := h.pathFeed(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	if _, err := m.Drop(ctx, f.Name, feedActor(c)); errors.Is(err, config.ErrNoOverride) {
		return nil, errorText(http.StatusConflict, "no_override", "", i18n.M("api.error.feed.nooverride"))
	} else if err != nil {
		return nil, err
	}
	return noContent{}, nil
}

func (h *handler) pauseFeed(r *http.Request, c *caller) (any, error) {
	return h.setFeedPaused(r, c, true)
}

func (h *handler) resumeFeed(r *http.Request, c *caller) (any, error) {
	return h.setFeedPaused(r, c, false)
}

// setFeedPaused pauses or resumes a feed.
func (h *handler) setFeedPaused(r *http.Request, c *caller, pause bool) (any, error) {
	m, f, err := h.pathFeed(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	if _, err := m.SetPaused(ctx, f.Name, pause, feedActor(c)); err != nil {
		return nil, err
	}
	return h.feedNow(r, m, f.Name)
}

// runFeed asks the process running the feed to run it at once: the
// answer is the feed with run_requested set; the run shows in its runs
// once it is done.
func (h *handler) runFeed(r *http.Request, c *caller) (any, error) {
	m, f, err := h.pathFeed(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	if err := m.RequestRun(ctx, f.Name, feedActor(c)); err != nil {
		return nil, err
	}
	return h.feedDetail(r, f)
}
