package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/schollz/progressbar/v3"

	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/shadowserver"
	"github.com/vigil-cert/vigil/internal/store"
)

var cmdIngest = &command{
	name:    "ingest",
	summary: "read feed files (or standard input) into the store",
	usage:   "[--feed NAME] [--parser ID] [--name NAME] FILE... | -",
	help: `Each file runs through the whole pipeline in this process: parse, enrich,
store. Bad lines go to the dead-letter store ('vigil deadletters'); past
pipeline.dead_letters.max_per_input letters (or max_bytes_per_input bytes)
the rest of an input is refused as one dead letter that says so.

Without --feed, files go to the default feed "inbox", which recognises the
format from the file name (Shadowserver reports by their report type,
*.jsonl as IntelMQ events, urlhaus/feodo/phishtank/openphish/drop names).
--parser ID reads every file with that parser under a feed of its own name.
Use "-" for standard input, with --name to say what it is.

Examples:
  vigil ingest 2026-11-20-scan_rdp-belgium-geo.csv
  vigil ingest --parser urlhaus urlhaus.csv
  zcat events.jsonl.gz | vigil ingest --name events.jsonl -`,
	run: runIngest,
}

func runIngest(ctx context.Context, c *cmdEnv, args []string) error {
	feedName := c.flags.String("feed", "", "configured feed the input belongs to (default: inbox, or the parser's name with --parser)")
	parserID := c.flags.String("parser", "", "parser to use instead of the feed's")
	name := c.flags.String("name", "", "input name for standard input (parsers may read the report type from it)")
	quiet := c.flags.Bool("quiet", false, "no progress bar")
	if err := c.parse(args); err != nil {
		return err
	}
	files := c.flags.Args()
	if len(files) == 0 {
		return c.usageError("cli.ingest.noinput")
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	feed := *feedName
	if *parserID != "" {
		if feed == "" {
			feed = *parserID
		}
		cfg.Feeds = ensureFeed(cfg.Feeds, config.Feed{Name: feed, Parser: *parserID})
	} else if feed == "" {
		feed = "inbox"
		cfg.Feeds = ensureFeed(cfg.Feeds, config.DefaultInboxFeed())
	}
	if cfg.Log.Level == "info" {
		cfg.Log.Level = "warn"
	}
	ing, err := startIngestion(ctx, cfg, c.stderr, c.getenv)
	if err != nil {
		return err
	}
	defer ing.Close()
	a, runner := ing.app, ing.runner
	if _, ok := runner.Feed(feed); !ok {
		return c.fail("cli.ingest.nofeed", feed, strings.Join(runner.FeedNames(), ", "))
	}
	before, _ := feedStatus(ctx, a.store, feed)

	var failed []string
	for _, f := range files {
		if err := ingestOne(ctx, c, runner, feed, f, *name, *quiet); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintln(c.stderr, c.inputError(f, err))
			failed = append(failed, f)
		}
	}
	after, _ := feedStatus(ctx, a.store, feed)
	fmt.Fprintln(c.stdout, c.t("cli.ingest.summary", feed, strings.Join([]string{
		c.tn("cli.ingest.lines", int(after.LinesRead-before.LinesRead)),
		c.tn("cli.ingest.events", int(after.EventsOut-before.EventsOut)),
		c.tn("cli.ingest.duplicates", int(after.Duplicates-before.Duplicates)),
		c.tn("cli.ingest.deadletters", int(after.DeadLetters-before.DeadLetters)),
	}, ", ")))
	if len(failed) > 0 {
		return c.fail("cli.ingest.failed", len(failed), len(files))
	}
	return nil
}

// inputError says why input path failed, in the command's language: a
// file that cannot be read, a file name that names no known report, what
// explains itself, else that the input cannot be ingested, with the
// reason of the library, the driver or the system (a gzip file that is
// none, a database that fails) last.
func (c *cmdEnv) inputError(path string, err error) string {
	var pe *fs.PathError
	switch {
	case errors.As(err, &pe) && pe.Path == path:
		return c.in(i18n.FileProblem(path, err))
	case errors.Is(err, shadowserver.ErrUnknownReport):
		return c.t("cli.ingest.unknownreport", path)
	}
	if m, ok := i18n.Explain(err); ok {
		return path + ": " + c.in(m)
	}
	return c.t("cli.ingest.input", path, i18n.LowLevelReason(err))
}

// ingestion is what inputs run through in `vigil ingest`: the store and
// the configured pipeline, its workers running in this process.
type ingestion struct {
	app    *app
	runner *pipeline.Runner
	stop   context.CancelFunc
	done   chan struct{}
}

func startIngestion(ctx context.Context, cfg config.Config, logOut io.Writer, getenv func(string) string) (*ingestion, error) {
	a, err := openApp(ctx, cfg, logOut, getenv)
	if err != nil {
		return nil, err
	}
	transport := pipeline.NewLocal(2 * cfg.Pipeline.Workers)
	runner, err := a.buildRunner(ctx, transport, nil, false)
	if err != nil {
		a.Close()
		return nil, err
	}
	wctx, stop := context.WithCancel(ctx)
	ing := &ingestion{app: a, runner: runner, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(ing.done)
		runner.Work(wctx)
	}()
	return ing, nil
}

// Close stops the workers, then closes the store they write to.
func (ing *ingestion) Close() {
	ing.stop()
	<-ing.done
	ing.app.Close()
}

func ensureFeed(feeds []config.Feed, f config.Feed) []config.Feed {
	for _, x := range feeds {
		if x.Name == f.Name {
			return feeds
		}
	}
	return append(feeds, f)
}

func feedStatus(ctx context.Context, st store.Store, feed string) (store.FeedStatus, error) {
	all, err := st.ListFeedStatus(ctx)
	if err != nil {
		return store.FeedStatus{}, err
	}
	for _, s := range store.SumFeeds(all) {
		if s.Name == feed {
			return s.FeedStatus, nil
		}
	}
	return store.FeedStatus{Name: feed}, nil
}

func ingestOne(ctx context.Context, c *cmdEnv, runner *pipeline.Runner, feed, path, name string, quiet bool) error {
	var r io.Reader
	var size int64 = -1
	if path == "-" {
		r = c.stdin
		if name == "" {
			name = "stdin"
		}
	} else {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		r = f
		if name == "" {
			name = filepath.Base(path)
		}
		if out := c.stderrTerminal(); out != nil && !quiet && size > 0 {
			// The bar follows the file's bytes, before any decompression.
			bar := progressbar.NewOptions64(size, progressbar.OptionSetWriter(out), progressbar.OptionShowBytes(true),
				progressbar.OptionSetDescription(filepath.Base(path)), progressbar.OptionClearOnFinish())
			pr := progressbar.NewReader(r, bar)
			r = &pr
			defer bar.Finish()
		}
		if strings.HasSuffix(name, ".gz") {
			gz, err := gunzip(r)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			r = gz
			name = strings.TrimSuffix(name, ".gz")
		}
	}
	d, err := runner.DeliverReport(ctx, pipeline.Input{Feed: feed, Name: name, Body: r})
	if d.Refused != "" {
		// Not a failure (what could be read was), but the operator must
		// know that the rest was not: the reason names the setting.
		fmt.Fprintln(c.stderr, c.t("cli.warning", d.RefusedMessage))
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", path, err)
	}
	return err
}
