package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/incident/mailreport"
	"github.com/vigil-cert/vigil/internal/publication/newsletter"

	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/demo"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/sealed"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/pgstore"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"

	_ "github.com/vigil-cert/vigil/internal/standard" // the built-in pipeline modules
)

// app is the explicit wiring of one vigil process: configuration, logger,
// store, and (when asked) the pipeline.
type app struct {
	cfg config.Config
	log *slog.Logger
	// store is the database: the event store and the capabilities' data
	// on it, secrets sealed.
	store *database.DB
	// deferCheckpoints is the event store's, when it has checkpoints to
	// put off (SQLite): the notifier's Deps.DeferCheckpoints.
	deferCheckpoints func() (resume func())
	// directory is the constituency as this process's pipeline and
	// console see it, loaded at start and rebuilt on every change.
	directory *constituency.Directory
	// feeds are the feeds buildRunner built, which followFeeds rebuilds
	// as the console changes them.
	feeds *feedSet
	// demo is the demo data set of `vigil serve --demo`, nil without;
	// demoHTTPS the https URL it is served at too.
	demo      *demo.Set
	demoHTTPS string
	// webBase is the address serve's web listener was given
	// (listenWeb): scheme, host and the port it got.
	webBase string
	// newsletter is the newsletter's service and channel when it is
	// enabled (startNewsletter), nil otherwise.
	newsletter        *newsletter.Service
	newsletterChannel *newsletter.Channel
	// bounces takes the delivery status notifications of the
	// newsletter's mail that reach the mail intake (nil without the
	// newsletter).
	bounces mailreport.Bounces
	// newsletterDigests makes the newsletter's digest, weekly and when
	// the console's button asks; nil without the newsletter.
	newsletterDigests *newsletter.Digests
	// pubs is `vigil serve`'s publication service, which the console, the
	// API, the demo and the scheduler share.
	pubs *publication.Service
}

// loadConfig reads the configuration the common flags point at.
func (c *cmdEnv) loadConfig() (config.Config, error) {
	cfg, err := c.readConfig()
	if err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// readConfig reads the configuration the common flags point at without
// checking it: `serve --demo` completes it first (the demo's mailbox is
// its SMTP relay), then checks it.
func (c *cmdEnv) readConfig() (config.Config, error) {
	path := *c.configFile
	if path == "" {
		path = c.getenv("VIGIL_CONFIG")
	}
	cfg, err := config.Read(path, c.getenv)
	if err != nil {
		return cfg, err
	}
	if *c.dataDir != "" {
		cfg.Data = *c.dataDir
	}
	if *c.database != "" {
		cfg.Database = *c.database
	}
	return cfg, nil
}

// open loads the configuration, makes the data directory and opens the
// store, migrating it.
func (c *cmdEnv) open(ctx context.Context) (*app, error) {
	cfg, err := c.loadConfig()
	if err != nil {
		return nil, err
	}
	return c.openWith(ctx, cfg)
}

// openWith is open with the configuration loaded.
func (c *cmdEnv) openWith(ctx context.Context, cfg config.Config) (*app, error) {
	if cfg.Log.Level == "info" {
		// Short-lived commands print their results; routine notices
		// (migrations, tables loaded) would only clutter them.
		cfg.Log.Level = "warn"
	}
	return openApp(ctx, cfg, c.stderr, c.getenv)
}

// openExisting is open for a command that only reads what Vigil stored
// (a search, a list): with SQLite, a data directory without a database
// is an error naming it, not a new empty store made where a mistyped
// --data points, whose empty answer would look like a real one.
func (c *cmdEnv) openExisting(ctx context.Context) (*app, error) {
	cfg, err := c.loadConfig()
	if err != nil {
		return nil, err
	}
	if cfg.Database == "" {
		if _, err := os.Stat(cfg.Path("vigil.db")); errors.Is(err, fs.ErrNotExist) {
			return nil, c.fail("cli.data.none", cfg.Data)
		}
	}
	return c.openWith(ctx, cfg)
}

// openApp wires a process: logger, data directory, store (migrated, its
// secrets sealed with the key from getenv or the data directory).
func openApp(ctx context.Context, cfg config.Config, logOut interface{ Write([]byte) (int, error) }, getenv func(string) string) (*app, error) {
	level := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[cfg.Log.Level]
	hopts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(logOut, hopts)
	if cfg.Log.Format == "json" {
		h = slog.NewJSONHandler(logOut, hopts)
	}
	a := &app{cfg: cfg, log: slog.New(h)}
	// Only the vigil user reads the data directory: it holds the database
	// and the key that opens the secrets in it.
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, dataDirError(cfg.Data, err)
	}
	st, err := openStore(ctx, cfg, a.log)
	if err != nil {
		return nil, err
	}
	db, err := database.New(ctx, st)
	if err != nil {
		st.Close()
		return nil, failedTo(err, "cli.start.migrate")
	}
	sealedStore, sealedAccounts, err := sealed.Open(ctx, db.Store, db.Accounts, sealed.Options{DataDir: cfg.Data, Getenv: getenv,
		StateKeys: []string{notify.IdentityStateKey}, Logger: a.log})
	if err != nil {
		st.Close()
		return nil, failedTo(err, "cli.start.secretkey")
	}
	a.store = db.Wrapped(sealedStore, sealedAccounts)
	if d, ok := st.(checkpointDeferrer); ok {
		a.deferCheckpoints = d.DeferCheckpoints
	}
	// The table is loaded by the commands that look organisations up
	// (buildRunner, constituency lookup), not by every short command.
	a.directory = constituency.NewDirectory(a.store, constituency.DirectoryOptions{PollInterval: cfg.Constituency.Reload, Logger: a.log})
	return a, nil
}

// checkpointDeferrer is an event store whose checkpoints a notifier pass
// can put off (sqlitestore.Store.DeferCheckpoints).
type checkpointDeferrer interface {
	DeferCheckpoints() (resume func())
}

func openStore(ctx context.Context, cfg config.Config, log *slog.Logger) (store.Store, error) {
	if strings.HasPrefix(cfg.Database, "postgres") {
		st, err := pgstore.Open(ctx, cfg.Database)
		if err != nil {
			return nil, failedTo(err, "cli.start.postgres")
		}
		st.SetLogger(log)
		return st, nil
	}
	st, err := sqlitestore.Open(ctx, cfg.Path("vigil.db"), sqlitestore.Options{Synchronous: strings.ToUpper(cfg.SQLite.Synchronous), CacheMiB: cfg.SQLite.CacheMiB, Logger: log})
	if err != nil {
		return nil, failedTo(err, "cli.start.sqlite", cfg.Path("vigil.db"))
	}
	return st, nil
}

func (a *app) Close() { a.store.Close() }

// env is what pipeline stage factories get.
func (a *app) env() pipeline.Env {
	return pipeline.Env{Store: a.store, Logger: a.log, DataDir: a.cfg.Data,
		HTTP: &http.Client{Timeout: 5 * time.Minute}, Now: time.Now, Constituency: a.directory}
}

// buildRunner constructs every configured stage. withCollectors is false
// for command-line ingestion and workers.
func (a *app) buildRunner(ctx context.Context, transport pipeline.Transport, metrics *pipeline.Metrics, withCollectors bool) (*pipeline.Runner, error) {
	if err := a.directory.Reload(ctx); err != nil {
		return nil, failedTo(err, "cli.start.constituency")
	}
	env := a.env()
	runs := feedRunLog{a.store}
	a.feeds = newFeedSet(a, env, withCollectors)
	feeds, err := a.feeds.build(ctx, true)
	if err != nil {
		return nil, err
	}
	var enrichers []pipeline.Enricher
	for i, s := range a.cfg.Pipeline.Enrichers {
		en, err := pipeline.NewEnricher(s.ID, env, orEmpty(s.Options))
		if err != nil {
			return nil, moduleError(fmt.Sprintf("pipeline.enrichers[%d] (%s)", i, s.ID), err)
		}
		enrichers = append(enrichers, en)
	}
	var outputs []pipeline.Output
	hasStore := false
	for i, s := range a.cfg.Pipeline.Outputs {
		out, err := pipeline.NewOutput(s.ID, env, orEmpty(s.Options))
		if err != nil {
			return nil, moduleError(fmt.Sprintf("pipeline.outputs[%d] (%s)", i, s.ID), err)
		}
		hasStore = hasStore || s.ID == "store"
		outputs = append(outputs, out)
	}
	if !hasStore {
		// Search, the console and every later capability read the store.
		out, err := pipeline.NewOutput("store", env, pipeline.Options{})
		if err != nil {
			return nil, err
		}
		outputs = append([]pipeline.Output{out}, outputs...)
	}
	collectLessOften()
	return pipeline.NewRunner(pipeline.RunnerConfig{Env: env, Transport: transport, Feeds: feeds,
		Enrichers: enrichers, Outputs: outputs, BatchSize: a.cfg.Pipeline.BatchSize,
		Workers: a.cfg.Pipeline.Workers, Metrics: metrics, DeadLetters: a.cfg.Pipeline.DeadLetters, Runs: runs}), nil
}

func orEmpty(o pipeline.Options) pipeline.Options {
	if o == nil {
		return pipeline.Options{}
	}
	return o
}

func envLogger(c *cmdEnv) *slog.Logger {
	return slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
