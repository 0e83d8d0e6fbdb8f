package console

// Feeds managed from the console, by administrators: add, edit, pause,
// resume, run now, and drop an override to return to the configuration
// file's version. The file stays the base; what the console changes is
// kept as overrides (package feedadmin), which the processes running the
// feeds follow. config.FeedManager makes and audits every change.

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/feedadmin"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/tlp"
)

// FeedAdminStore serves the feeds' administration: the overrides, the
// runs asked for by hand and the history of runs.
type FeedAdminStore interface {
	feedadmin.Data
}

// The messages of the feeds' administration.
const (
	msgTitleFeed       = "title.feed"
	msgTitleFeedNew    = "title.feed.new"
	msgTitleFeedEdit   = "title.feed.edit"
	msgFeedInvalid     = "feedadmin.error.summary"
	msgFeedOptions     = "feedadmin.error.options"
	msgFeedNotManaged  = "feedadmin.error.notmanaged"
	msgDoneFeedSaved   = "done.feed.saved"
	msgDoneFeedPaused  = "done.feed.paused"
	msgDoneFeedResumed = "done.feed.resumed"
	msgDoneFeedRun     = "done.feed.run"
	msgDoneFeedDropped = "done.feed.dropped"
)

func init() {
	flashes["feed-saved"] = msgDoneFeedSaved
	flashes["feed-paused"] = msgDoneFeedPaused
	flashes["feed-resumed"] = msgDoneFeedResumed
	flashes["feed-run"] = msgDoneFeedRun
	flashes["feed-dropped"] = msgDoneFeedDropped
}

func (c *Console) feedAdminRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /feeds/new", c.member(auth.ManageFeeds, c.newFeedForm))
	m.HandleFunc("POST /feeds/new", c.member(auth.ManageFeeds, c.addFeed))
	m.HandleFunc("GET /feeds/{name}", c.member(auth.ReadEvents, c.feedPage))
	m.HandleFunc("GET /feeds/{name}/edit", c.member(auth.ManageFeeds, c.editFeedForm))
	m.HandleFunc("POST /feeds/{name}/edit", c.member(auth.ManageFeeds, c.changeFeed))
	m.HandleFunc("POST /feeds/{name}/run", c.member(auth.ManageFeeds, c.runFeed))
	m.HandleFunc("POST /feeds/{name}/pause", c.member(auth.ManageFeeds, c.pauseFeed(true)))
	m.HandleFunc("POST /feeds/{name}/resume", c.member(auth.ManageFeeds, c.pauseFeed(false)))
	m.HandleFunc("POST /feeds/{name}/drop", c.member(auth.ManageFeeds, c.dropFeedOverride))
}

// feedActor is the visitor as the feed manager audits their changes.
func feedActor(v *visit) config.FeedActor {
	return config.FeedActor{UserID: v.user.ID, Name: v.user.Name}
}

// effectiveFeeds is the feeds as the processes running them see them.
func (c *Console) effectiveFeeds(ctx context.Context) ([]config.EffectiveFeed, error) {
	if c.feedManager == nil {
		return nil, nil
	}
	return c.feedManager.Effective(ctx)
}

// effectiveFeed returns the feed named in the path; ok is false when the
// answer (not found, or a failure) is written.
func (c *Console) effectiveFeed(w http.ResponseWriter, r *http.Request, v *visit) (config.EffectiveFeed, bool) {
	if c.feedManager == nil {
		c.notFound(w, r, v)
		return config.EffectiveFeed{}, false
	}
	f, err := c.feedManager.Get(r.Context(), r.PathValue("name"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.notFound(w, r, v)
		return f, false
	case err != nil:
		c.fail(w, r, v, err)
		return f, false
	}
	return f, true
}

// feedPageData is one feed's page: its definition, where it comes from,
// its state, its totals and its recent runs.
type feedPageData struct {
	Feed       config.EffectiveFeed
	Definition string
	// FileDefinition is the file's version of a feed the console changed.
	FileDefinition string
	Status         feedRow
	Runs           []feedRun
	Requested      *feedadmin.RunRequest
	CanManage      bool
}

func (c *Console) feedPage(w http.ResponseWriter, r *http.Request, v *visit) {
	f, ok := c.effectiveFeed(w, r, v)
	if !ok {
		return
	}
	ctx := r.Context()
	p := feedPageData{Feed: f, CanManage: auth.Can(v.user.Role, auth.ManageFeeds)}
	def, err := config.FeedYAML(f.Feed)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	p.Definition = string(def)
	if f.File != nil {
		fileDef, err := config.FeedYAML(*f.File)
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		p.FileDefinition = string(fileDef)
	}
	status, err := c.store.ListFeedStatus(ctx)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	p.Status = feedRow{FeedStatus: store.FeedStatus{Name: f.Name}}
	for _, row := range c.feedRows(status, nil) {
		if row.Name == f.Name {
			p.Status = row
		}
	}
	runs, err := c.store.ListFeedRuns(ctx, f.Name, 20)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	p.Runs = feedRuns(runs, c.catalog, v.lang)
	reqs, err := c.store.ListFeedRunRequests(ctx)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	for i := range reqs {
		if reqs[i].Feed == f.Name {
			p.Requested = &reqs[i]
		}
	}
	c.render(w, r, v, http.StatusOK, "feed", msgTitleFeed, p, flashOf(r), "")
}

// feedForm is the add and edit form: the feed's keys as the
// configuration file has them, options in YAML.
type feedForm struct {
	New                            bool
	Name, Provider, URL, Code, TLP string
	Collector, Parser              string
	CollectorOptions               string
	ParserOptions                  string
	Accuracy                       string
	KeepRaw, Enabled               bool
	// Problems are by field, translated.
	Problems map[string]string
	// Collectors and Parsers are the modules the form offers.
	Collectors, Parsers []pipeline.Module
	TLPs                []string
}

// newFeedFormOf fills the form from a feed.
func newFeedFormOf(f config.Feed) feedForm {
	ff := feedForm{Name: f.Name, Provider: f.Provider, URL: f.URL, Code: f.Code, TLP: feedTLP(f.TLP),
		Collector: f.Collector, Parser: f.Parser, KeepRaw: f.KeepsRaw(), Enabled: f.IsEnabled(),
		CollectorOptions: optionsYAML(f.CollectorOptions), ParserOptions: optionsYAML(f.ParserOptions)}
	if f.Accuracy != 0 {
		ff.Accuracy = strconv.FormatFloat(f.Accuracy, 'f', -1, 64)
	}
	return ff
}

func optionsYAML(o pipeline.Options) string {
	if len(o) == 0 {
		return ""
	}
	b, err := yaml.Marshal(map[string]any(o))
	if err != nil {
		return ""
	}
	return string(b)
}

// withModules adds what the form offers.
func (ff feedForm) withModules() feedForm {
	for _, m := range pipeline.Modules() {
		if id, ok := strings.CutPrefix(m.ID, "collector/"); ok {
			ff.Collectors = append(ff.Collectors, pipeline.Module{ID: id, Doc: m.Doc})
		}
		if id, ok := strings.CutPrefix(m.ID, "parser/"); ok {
			ff.Parsers = append(ff.Parsers, pipeline.Module{ID: id, Doc: m.Doc})
		}
	}
	ff.TLPs = tlp.Strings()
	return ff
}

// feedFromForm reads the posted form into a feed, and the problems of
// fields that do not read.
func (c *Console) feedFromForm(r *http.Request, v *visit, name string) (config.Feed, feedForm) {
	ff := feedForm{Name: name, Problems: map[string]string{}}
	get := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	if ff.Name == "" {
		ff.Name, ff.New = get("name"), true
	}
	ff.Provider, ff.URL, ff.Code, ff.TLP = get("provider"), get("url"), get("code"), get("tlp")
	ff.Collector, ff.Parser, ff.Accuracy = get("collector"), get("parser"), get("accuracy")
	ff.CollectorOptions, ff.ParserOptions = r.PostFormValue("collector_options"), r.PostFormValue("parser_options")
	ff.KeepRaw, ff.Enabled = r.PostFormValue("keep_raw") != "", r.PostFormValue("enabled") != ""
	f := config.Feed{Name: ff.Name, Provider: ff.Provider, URL: ff.URL, Code: ff.Code, TLP: ff.TLP,
		Collector: ff.Collector, Parser: ff.Parser}
	if !ff.KeepRaw {
		f.KeepRaw = &ff.KeepRaw
	}
	if !ff.Enabled {
		f.Enabled = &ff.Enabled
	}
	if ff.Accuracy != "" {
		a, err := strconv.ParseFloat(ff.Accuracy, 64)
		if err != nil {
			ff.Problems["accuracy"] = c.catalog.T(v.lang, "feedadmin.error.accuracy")
		}
		f.Accuracy = a
	}
	for _, o := range []struct {
		key, text string
		dst       *pipeline.Options
	}{{"collector_options", ff.CollectorOptions, &f.CollectorOptions}, {"parser_options", ff.ParserOptions, &f.ParserOptions}} {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(o.text), &m); err != nil {
			ff.Problems[o.key] = c.catalog.T(v.lang, msgFeedOptions)
			continue
		}
		if len(m) > 0 {
			*o.dst = m
		}
	}
	return f, ff
}

// feedProblem puts a refusal of the feed manager on the form; false
// when err is no refusal but a failure.
func (c *Console) feedProblem(err error, ff *feedForm, v *visit) bool {
	var ce *config.Error
	if !errors.As(err, &ce) {
		return false
	}
	field := strings.TrimPrefix(ce.Key, "feed.")
	ff.Problems[field] = ce.Message.In(c.catalog, v.lang)
	return true
}

func (c *Console) newFeedForm(w http.ResponseWriter, r *http.Request, v *visit) {
	if c.feedManager == nil {
		c.notFound(w, r, v)
		return
	}
	ff := feedForm{New: true, Collector: "http", Parser: "csv", KeepRaw: true, Enabled: true}
	c.render(w, r, v, http.StatusOK, "feed_form", msgTitleFeedNew, ff.withModules(), "", "")
}

func (c *Console) addFeed(w http.ResponseWriter, r *http.Request, v *visit) {
	if c.feedManager == nil {
		c.notFound(w, r, v)
		return
	}
	ctx := r.Context()
	f, ff := c.feedFromForm(r, v, "")
	if len(ff.Problems) == 0 {
		if err := c.feedManager.Add(ctx, f, feedActor(v)); err != nil && !c.feedProblem(err, &ff, v) {
			c.fail(w, r, v, err)
			return
		}
	}
	if len(ff.Problems) > 0 {
		c.render(w, r, v, http.StatusBadRequest, "feed_form", msgTitleFeedNew, ff.withModules(), "", msgFeedInvalid)
		return
	}
	redirectDone(w, r, "/feeds/"+f.Name, "feed-saved")
}

func (c *Console) editFeedForm(w http.ResponseWriter, r *http.Request, v *visit) {
	f, ok := c.effectiveFeed(w, r, v)
	if !ok {
		return
	}
	c.render(w, r, v, http.StatusOK, "feed_form", msgTitleFeedEdit, newFeedFormOf(f.Feed).withModules(), "", "")
}

func (c *Console) changeFeed(w http.ResponseWriter, r *http.Request, v *visit) {
	e, ok := c.effectiveFeed(w, r, v)
	if !ok {
		return
	}
	f, ff := c.feedFromForm(r, v, e.Name)
	if len(ff.Problems) == 0 {
		if err := c.feedManager.Change(r.Context(), e.Name, f, feedActor(v)); err != nil && !c.feedProblem(err, &ff, v) {
			c.fail(w, r, v, err)
			return
		}
	}
	if len(ff.Problems) > 0 {
		c.render(w, r, v, http.StatusBadRequest, "feed_form", msgTitleFeedEdit, ff.withModules(), "", msgFeedInvalid)
		return
	}
	redirectDone(w, r, "/feeds/"+f.Name, "feed-saved")
}

// pauseFeed pauses a feed, or resumes it.
func (c *Console) pauseFeed(pause bool) handler {
	return func(w http.ResponseWriter, r *http.Request, v *visit) {
		f, ok := c.effectiveFeed(w, r, v)
		if !ok {
			return
		}
		if _, err := c.feedManager.SetPaused(r.Context(), f.Name, pause, feedActor(v)); err != nil {
			c.fail(w, r, v, err)
			return
		}
		done := "feed-resumed"
		if pause {
			done = "feed-paused"
		}
		redirectDone(w, r, "/feeds/"+f.Name, done)
	}
}

func (c *Console) runFeed(w http.ResponseWriter, r *http.Request, v *visit) {
	f, ok := c.effectiveFeed(w, r, v)
	if !ok {
		return
	}
	if err := c.feedManager.RequestRun(r.Context(), f.Name, feedActor(v)); err != nil {
		c.fail(w, r, v, err)
		return
	}
	redirectDone(w, r, "/feeds/"+f.Name, "feed-run")
}

// dropFeedOverride drops what the console changed: a file's feed returns
// to the file's version, a feed added in the console is removed.
func (c *Console) dropFeedOverride(w http.ResponseWriter, r *http.Request, v *visit) {
	f, ok := c.effectiveFeed(w, r, v)
	if !ok {
		return
	}
	if _, err := c.feedManager.Drop(r.Context(), f.Name, feedActor(v)); errors.Is(err, config.ErrNoOverride) {
		c.problem(w, r, v, http.StatusConflict, msgTitleFeed, msgFeedNotManaged)
		return
	} else if err != nil {
		c.fail(w, r, v, err)
		return
	}
	to := "/feeds/" + f.Name
	if f.Origin == config.OriginAdded {
		to = "/feeds"
	}
	redirectDone(w, r, to, "feed-dropped")
}

// feedTLP is a feed's label as the form offers it: "tlp:white" is CLEAR.
func feedTLP(s string) string {
	if l, ok := tlp.Parse(s); ok {
		return string(l)
	}
	return strings.ToUpper(s)
}
