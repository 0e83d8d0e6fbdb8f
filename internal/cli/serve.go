package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
	"golang.org/x/sync/errgroup"

	"github.com/vigil-cert/vigil/internal/api"
	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/bus"
	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/console"
	"github.com/vigil-cert/vigil/internal/demo"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/lease"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/channel"
	"github.com/vigil-cert/vigil/internal/web"
)

var cmdServe = &command{
	name:    "serve",
	summary: "run Vigil: the console and API, the pipeline and its collectors",
	usage:   "[--demo] [--role all|worker] [--listen ADDR]",
	help: `With no configuration, serve keeps everything in ./vigil-data: a SQLite
database, an embedded NATS JetStream server, and an inbox directory
(./vigil-data/inbox) watched for feed files. The console and the API
(/api/v1, described at /api/v1/openapi.json) listen on 127.0.0.1:8080;
/healthz and /metrics (Prometheus) too. With tls.cert_file and
tls.key_file, or tls.acme, they listen on HTTPS; behind a reverse proxy,
list it in http.trusted_proxies (docs/configuration.md).

On the first start with no user, a one-time setup link is printed to the
log; open it to create the first administrator (or use 'vigil user add').

--demo generates a synthetic data set (Shadowserver-format reports, lists,
a routing table and a GeoIP database), drops it into the inbox, creates the
demo login and prints it.

--role worker runs only the enrich-and-store workers, taking batches from
the NATS server named by nats.url (env VIGIL_NATS_URL): start more of them on
more machines to share the work. They need a database all processes share
(PostgreSQL).`,
	run: runServe,
}

func runServe(ctx context.Context, c *cmdEnv, args []string) error {
	demoFlag := c.flags.Bool("demo", false, "load a generated demo data set and create the demo login")
	role := c.flags.String("role", "all", "all (console, API, collectors, workers) or worker (workers only)")
	listenFlag := c.flags.String("listen", "", "console and API address (env VIGIL_LISTEN, default 127.0.0.1:8080)")
	if err := c.parse(args); err != nil {
		return err
	}
	if *role != "all" && *role != "worker" {
		return c.usageError("cli.serve.role", *role)
	}
	// The configuration is checked once the demo has completed it: a
	// newsletter needs no smtp section in the demo, whose mailbox is
	// the relay.
	cfg, err := c.readConfig()
	if err != nil {
		return err
	}
	if *listenFlag != "" {
		cfg.Listen = *listenFlag
	}
	var demoSet *demo.Set
	if *demoFlag {
		if demoSet, err = demo.Prepare(cfg.Data); err != nil {
			return failedTo(err, "cli.start.demo", filepath.Join(cfg.Data, "demo"))
		}
		defer demoSet.Close()
		if err := demoSet.StartMailbox(slog.New(slog.NewTextHandler(c.stderr, nil))); err != nil {
			return failedTo(err, "cli.start.demomailbox", demoSet.MailDir())
		}
		demoSet.Configure(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, c.stderr, c.getenv)
	if err != nil {
		return err
	}
	defer a.Close()
	if *role == "worker" && cfg.NATS.URL == "" {
		return c.fail("cli.serve.nats")
	}

	if cfg.NATS.URL == "" && cfg.NATS.Listen != "" {
		// The embedded server does not say that its address is taken
		// (it is only not ready after 30s): try the address first, and
		// say so as the web listeners do.
		ln, err := listen(cfg.NATS.Listen, "nats.listen")
		if err != nil {
			return err
		}
		ln.Close()
	}
	b, err := bus.Open(ctx, bus.Config{URL: cfg.NATS.URL, Credentials: cfg.NATS.Credentials,
		StoreDir: cfg.Path("jetstream"), Listen: cfg.NATS.Listen, Stream: cfg.NATS.Stream,
		MaxBytes: cfg.NATS.MaxBytes}, a.log)
	// The bus says what failed (the stream, a server not ready) as
	// the detail of the sentence about the server.
	switch {
	case err != nil && cfg.NATS.URL != "":
		return failedWithDetail(err, "cli.start.nats", cfg.NATS.URL)
	case err != nil:
		return failedWithDetail(err, "cli.start.embeddednats", cfg.Path("jetstream"))
	}
	defer b.Close()
	// The embedded server's block buffers need room beside the
	// pipeline's in the collector's soft limit (bus.HeapRoom).
	collectLessOften()
	defer makeRoom(b.HeapRoom())()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := pipeline.NewMetrics(reg)
	runner, err := a.buildRunner(ctx, b, metrics, *role == "all")
	if err != nil {
		return err
	}

	// The jobs below run in one group: the first to fail cancels the
	// others, and its error is the one serve returns. Leaving early (a
	// setup step failing below) cancels the group too and waits for the
	// jobs already started before the store and the bus close.
	ctx, cancel := context.WithCancel(ctx)
	group, ctx := newJobs(ctx)
	defer func() {
		cancel()
		_ = group.wait()
	}()
	group.run("workers", runner.Work)
	group.run("queue lag", func(ctx context.Context) error { return watchLag(ctx, b, metrics) })
	// Every process follows the constituency's changes, workers included:
	// their enrichers tag events with it.
	group.run("constituency", a.directory.Run)
	if *role == "worker" {
		a.log.Info("worker started", "nats", cfg.NATS.URL, "workers", cfg.Pipeline.Workers)
	} else if err := a.startTeamJobs(ctx, group, runner, reg, demoSet, c); err != nil {
		// A job that failed while the others were being set up cancelled
		// the setup: its failure is the one to tell, not the setup's
		// cancellation.
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			cancel()
			if jobErr := group.wait(); jobErr != nil {
				return a.jobFailed(jobErr)
			}
		}
		return err
	}
	<-ctx.Done()
	runErr := group.wait()
	if err := runner.Close(); err != nil {
		a.log.Warn("closing pipeline stages", "err", err)
	}
	if runErr != nil {
		return a.jobFailed(runErr)
	}
	a.log.Info("vigil stopped")
	return nil
}

// jobFailed logs the whole English chain of err, a job's failure, and
// returns it: the operator is told what failed in their language, with
// only the system's reason.
func (a *app) jobFailed(err error) error {
	var failed *jobError
	if errors.As(err, &failed) {
		a.log.Error("job failed", "job", failed.name, "err", failed.err)
	}
	return err
}

// startTeamJobs starts what only a full process runs, beside the workers:
// the demo's data, the notifier and the outbox under their leases, the
// console and API, and the collectors.
func (a *app) startTeamJobs(ctx context.Context, group *jobs, runner *pipeline.Runner, reg *prometheus.Registry, demoSet *demo.Set, c *cmdEnv) error {
	cfg := a.cfg
	publications := a.publications()
	a.pubs = publications
	// Publishing in this process wakes the publication outbox, started
	// below, so that a warning goes out at once; another process's
	// publications wait for the worker's next poll.
	var outbox atomic.Pointer[channel.Worker]
	publications.Published = func(publication.Publication) {
		if w := outbox.Load(); w != nil {
			w.Kick()
		}
	}
	a.demo = demoSet
	if demoSet != nil {
		demoSet.Publishing = publications
		if err := demoSet.Load(ctx, a.store); err != nil {
			return failedTo(err, "cli.start.demoload")
		}
		// The demo's organisations are in the store now; tag the
		// demo's reports with them from the first one on.
		if err := a.directory.Reload(ctx); err != nil {
			return failedTo(err, "cli.start.constituency")
		}
	}
	// The web listeners first: the site's address (the demo's https one,
	// or the port chosen for :0) is what the newsletter's mails and the
	// social posts link to, and they start before the web does.
	lns, err := a.listenWeb()
	if err != nil {
		return err
	}
	webStarted := false
	defer func() {
		if !webStarted {
			lns.close()
		}
	}()
	notes, err := a.newNotifications(ctx, reg)
	if err != nil {
		return err
	}
	// Of several processes on one database, one notifies and one
	// sends: each job under its lease.
	leased := func(name string, job func(context.Context) error) func(context.Context) error {
		return func(ctx context.Context) error {
			return lease.Hold(ctx, a.store, name, lease.Options{Logger: a.log}, job)
		}
	}
	if cfg.Notify.Enabled {
		group.run("notifier", leased("notify", notes.notifier.Run))
	}
	if notes.sender != nil {
		group.run("outbox", leased("outbox", notes.sender.Run))
	}
	if err := a.startNewsletter(ctx, group, notes, publications); err != nil {
		return failedTo(err, "cli.start.newsletter")
	}
	constituents, err := a.productsSender(notes)
	if err != nil {
		return err
	}
	extra := []channel.Sender{constituents}
	if a.newsletterChannel != nil {
		extra = append(extra, a.newsletterChannel)
	}
	worker, err := a.startPublishing(group, c.getenv, extra...)
	if err != nil {
		return failedTo(err, "cli.start.publishing")
	}
	outbox.Store(worker)
	base, err := a.startWeb(group, runner, reg, notes, lns)
	if err != nil {
		return failedTo(err, "cli.start.web")
	}
	webStarted = true
	if cfg.MailIn.Enabled() {
		if err := a.startMailIn(group); err != nil {
			return failedTo(err, "cli.start.mailin")
		}
	}
	if cfg.IncidentAlerts.Enabled() {
		a.startAlerts(group)
	}
	a.startScheduledPublishing(group, publications)
	group.run("collectors", runner.RunCollectors)
	// The console may add, change, pause or run feeds: in this process or
	// another one on the same database.
	group.run("feeds", func(ctx context.Context) error { return a.followFeeds(ctx, runner) })
	a.log.Info("vigil is running", "url", base, "data", cfg.Data, "inbox", cfg.Path("inbox"), "version", Version)
	if token, err := auth.EnsureSetupToken(ctx, a.store); err != nil {
		return failedTo(err, "cli.start.setuptoken")
	} else if token != "" {
		a.log.Warn("no user yet: open this one-time link to create the first administrator",
			"url", base+"/setup?token="+token)
	}
	if demoSet != nil {
		// The banner is for the person who started the demo: in the
		// command line's language.
		fmt.Fprintf(c.stdout, "\n%s\n", c.t("cli.serve.demo.banner", base, demo.User, demo.Password, demo.ConstituentUser, demo.Publisher, demoSet.MailDir()))
		if a.demoHTTPS != "" {
			fmt.Fprintf(c.stdout, "%s\n", c.t("cli.serve.demo.https", a.demoHTTPS))
		}
		fmt.Fprintln(c.stdout)
	}
	return nil
}

// startWeb builds the console and the API and starts serving them, on
// HTTPS when TLS is configured (with the plain-HTTP redirect if asked);
// it returns the address users reach them at.
func (a *app) startWeb(group *jobs, runner *pipeline.Runner, reg *prometheus.Registry, notes *notifications, lns webListeners) (string, error) {
	cfg := a.cfg
	feeds := a.feedManager()
	apiHandler := api.New(api.Deps{Store: a.store, Logger: a.log, Retry: runner.RetryDeadLettersReport, Version: Version, Feeds: feeds,
		Directory: a.directory, Notifier: notes.notifier, MailFrom: cfg.Notify.From, Publications: a.pubs,
		Products: a.store.Products})
	proxies, err := cfg.HTTP.Proxies()
	if err != nil {
		return "", err
	}
	limits := web.Limits{
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout, ReadTimeout: cfg.HTTP.ReadTimeout,
		WriteTimeout: cfg.HTTP.WriteTimeout, IdleTimeout: cfg.HTTP.IdleTimeout, UploadTimeout: cfg.HTTP.UploadTimeout,
		MaxHeaderBytes: cfg.HTTP.MaxHeaderBytes, MaxBodyBytes: cfg.HTTP.MaxBodyBytes, MaxUploadBytes: cfg.HTTP.MaxUploadBytes,
	}
	siteBase := a.siteBase()
	siteHandler, err := a.siteHandler(siteBase)
	if err != nil {
		return "", err
	}
	handler, err := web.New(web.Deps{
		Site: siteHandler, CSAF: a.csafProvider(siteBase),
		Console: console.Config{Store: a.store, Logger: a.log,
			Retry: runner.RetryDeadLetters, FeedNames: runner.FeedNames, Version: Version,
			Directory: a.directory, Notifier: notes.notifier, Feeds: feeds,
			ReportForm: console.ReportForm{Elsewhere: cfg.ReportForm.Elsewhere, MaxFiles: cfg.ReportForm.MaxFiles,
				MaxFileBytes: int64(cfg.ReportForm.MaxFileMiB) << 20, PerClient: cfg.ReportForm.PerClient,
				From: cfg.Notify.From, PublicURL: cfg.PublicURL},
			Newsletter: a.newsletter, Publications: a.publicationPages(),
			Products: console.ProductPages{Declarations: a.store.Products, Publications: a.store.Publications}},
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), API: apiHandler,
		TrustedProxies: proxies, HSTS: cfg.HTTP.HSTS, Limits: limits})
	if err != nil {
		return "", err
	}
	// The listeners are startTeamJobs's to close should this fail.
	ln := lns.web
	srv := web.NewServer(handler, limits, a.log)
	if cfg.TLS.Enabled() {
		_, port, _ := net.SplitHostPort(cfg.Listen)
		tlsConfig, plain, err := serverTLS(cfg, port, a.log)
		if err != nil {
			return "", err
		}
		srv.TLSConfig = tlsConfig
		if cfg.TLS.RedirectListen != "" {
			rln, err := listen(cfg.TLS.RedirectListen, "tls.redirect_listen")
			if err != nil {
				return "", err
			}
			group.run("http redirect", serveHTTP(web.NewServer(plain, limits, a.log), rln, false))
		}
	}
	base := cfg.PublicURL
	if base == "" {
		base = a.webBase
	}
	group.run("web", serveHTTP(srv, ln, cfg.TLS.Enabled()))
	if lns.demo != nil {
		if err := a.serveDemoHTTPS(group, handler, limits, lns.demo); err != nil {
			return "", err
		}
	}
	return base, nil
}

// jobs runs serve's long-running jobs in one errgroup: the first job to
// fail cancels the context of all of them, and wait returns its error as
// a jobError, which names the job. A job ending with context.Canceled has
// only stopped, and does not fail.
type jobs struct {
	group *errgroup.Group
	ctx   context.Context
}

// newJobs returns an empty group of jobs, and the context they run in.
func newJobs(ctx context.Context) (*jobs, context.Context) {
	g, ctx := errgroup.WithContext(ctx)
	return &jobs{group: g, ctx: ctx}, ctx
}

// run starts job f, named name: the catalogue says it as cli.job.<name
// without its spaces>.
func (j *jobs) run(name string, f func(context.Context) error) {
	j.group.Go(func() error {
		if err := f(j.ctx); err != nil && !errors.Is(err, context.Canceled) {
			return &jobError{name: name, err: err}
		}
		return nil
	})
}

// jobError is a job of serve's that failed while running, said in the
// operator's language: the job, and what it failed with, its own message
// when it has one, else the system's or the driver's reason without the
// English context around it (which the log has).
type jobError struct {
	name string
	err  error
}

func (e *jobError) Error() string { return e.Explain().String() }
func (e *jobError) Unwrap() error { return e.err }

func (e *jobError) Explain() i18n.Message {
	return i18n.M("cli.job.failed", i18n.M(jobMessageID(e.name)), reasonOf(e.err))
}

// jobMessageID is the catalogue's ID of the job's name.
func jobMessageID(name string) string { return "cli.job." + strings.ReplaceAll(name, " ", "") }

// wait waits for every job to end and returns the first failure.
func (j *jobs) wait() error { return j.group.Wait() }

// serverTLS returns the HTTPS settings of cfg.TLS, and the handler of the
// plain-HTTP listener: a redirect to HTTPS on httpsPort, which with ACME
// also answers the CA's HTTP-01 challenges.
func serverTLS(cfg config.Config, httpsPort string, log *slog.Logger) (*tls.Config, http.Handler, error) {
	redirect := web.RedirectToHTTPS(httpsPort)
	if !cfg.TLS.ACME.Enabled() {
		certs, err := web.LoadCertificateFiles(cfg.TLS.CertFile, cfg.TLS.KeyFile, log)
		if err != nil {
			return nil, nil, err
		}
		return web.TLSConfig(certs.GetCertificate), redirect, nil
	}
	cacheDir := cfg.TLS.ACME.CacheDir
	if !filepath.IsAbs(cacheDir) {
		cacheDir = cfg.Path(cacheDir)
	}
	directory := cfg.TLS.ACME.DirectoryURL
	if directory == "" {
		directory = config.DefaultACMEDirectory
	}
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(cacheDir),
		HostPolicy: autocert.HostWhitelist(cfg.TLS.ACME.Domains...),
		Email:      cfg.TLS.ACME.Email,
		Client:     &acme.Client{DirectoryURL: directory},
	}
	tlsConfig := web.TLSConfig(m.GetCertificate)
	// The TLS-ALPN-01 challenge arrives on the HTTPS listener itself.
	tlsConfig.NextProtos = append(tlsConfig.NextProtos, acme.ALPNProto)
	log.Info("tls certificates from ACME", "domains", cfg.TLS.ACME.Domains, "directory", directory, "cache", cacheDir)
	return tlsConfig, m.HTTPHandler(redirect), nil
}

// serveHTTP runs srv on ln (over TLS when useTLS, with srv.TLSConfig)
// until the context ends, then shuts it down gracefully.
func serveHTTP(srv *http.Server, ln net.Listener, useTLS bool) func(context.Context) error {
	return func(ctx context.Context) error {
		go func() {
			<-ctx.Done()
			sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer scancel()
			srv.Shutdown(sctx)
		}()
		var err error
		if useTLS {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

// watchLag publishes the bus backlog as a metric.
func watchLag(ctx context.Context, b *bus.Bus, m *pipeline.Metrics) error {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if n, err := b.Pending(ctx); err == nil {
				m.QueueLag.Set(float64(n))
			}
		}
	}
}
