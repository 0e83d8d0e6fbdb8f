package collector

//lint:file-ignore ST1005 "Reports API" is the name of Shadowserver's service, so its errors begin with a capital.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
)

func init() {
	pipeline.RegisterCollector("shadowserver_api",
		"lists and downloads the team's reports from Shadowserver's Reports API on a schedule; options api_key, secret (or api_key_env/_file, secret_env/_file), interval, days, reports, types, format, base_url, timeout, max_size",
		newShadowserverAPIFromOptions)
}

// Defaults of the shadowserver_api collector.
const (
	DefaultShadowserverAPIURL      = "https://transform.shadowserver.org/api2/"
	DefaultShadowserverAPIInterval = time.Hour
	DefaultShadowserverAPIDays     = 2
	DefaultShadowserverAPITimeout  = 10 * time.Minute
	DefaultShadowserverAPIMaxSize  = 1 << 30 // 1 GiB, decompressed

	// MaxShadowserverAPIDays bounds the listed range: Shadowserver keeps
	// reports for a limited time, and a longer range only makes the list
	// slower.
	MaxShadowserverAPIDays = 60
	// shadowserverAPIPruneDays is how long an id is remembered after its
	// report's date left the listed range, in case the API lists a report
	// under a later date than it carries (time zones, late reports).
	shadowserverAPIPruneDays = 7
	// maxReportListBytes bounds the answer of reports/list: a few thousand
	// entries of a few hundred bytes each.
	maxReportListBytes = 16 << 20
)

// Formats a report can be downloaded in.
const (
	ShadowserverFormatCSV  = "csv"
	ShadowserverFormatJSON = "json"
)

// ShadowserverAPI lists the team's reports through Shadowserver's Reports
// API and delivers each report it has not delivered before. Which reports
// were delivered is kept in the store per report id, so neither the next
// run nor a restart delivers a report twice; a report whose download or
// delivery failed is tried again at the next run.
//
// Every API request is a POST of a JSON object holding the API key, signed
// with HMAC-SHA256 of the exact body under the secret (header HMAC2), as
// Shadowserver's own tools do. reports/list names the reports of a date
// range. A report is downloaded as CSV from the download link the list
// gives for it (the link Shadowserver's e-mails and its report-manager use),
// or, with format json, through reports/download, which answers with the
// report's rows as JSON objects.
type ShadowserverAPI struct {
	failureHook
	// cfg is the collector's configuration, defaults filled in.
	cfg    ShadowserverAPIConfig
	client *http.Client
	store  stateStore
	logger *slog.Logger
	now    func() time.Time
}

// ShadowserverAPIConfig configures a ShadowserverAPI collector; the opt
// tags name the collector options it is decoded from.
type ShadowserverAPIConfig struct {
	Feed string
	// APIKey and Secret are the team's Reports API credentials.
	APIKey string
	Secret string
	// BaseURL is where the API's methods live (default
	// DefaultShadowserverAPIURL); tests point it at a local server.
	BaseURL string `opt:"base_url"`
	// Interval between runs (default 1h).
	Interval time.Duration `opt:"interval"`
	// Days is how many days before today are listed with today at every
	// run (default 2, at most 60).
	Days int `opt:"days"`
	// Reports limits the list to these subscribed lists (reports/subscribed
	// names them); empty lists every report of the key.
	Reports []string `opt:"reports"`
	// Types limits the list to these report types (scan_rdp, ...).
	Types []string `opt:"types"`
	// Format is csv (default) or json.
	Format string `opt:"format" choice:"csv,json"`
	// Timeout bounds the list request, and each report's download with its
	// delivery (default 10m).
	Timeout time.Duration `opt:"timeout"`
	// MaxSize bounds one report in bytes, after decompression (default
	// 1 GiB).
	MaxSize int64 `opt:"max_size"`
}

// reportEntry is one report as reports/list names it.
type reportEntry struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	URL       string `json:"url"`
	File      string `json:"file"`
	Report    string `json:"report"`
	Timestamp string `json:"timestamp"`
}

// fetchedReport is what is kept per delivered report id.
type fetchedReport struct {
	// Date is the report's date (YYYY-MM-DD): once it is well before the
	// listed range, the id is forgotten.
	Date    string    `json:"date"`
	File    string    `json:"file"`
	Fetched time.Time `json:"fetched"`
}

// NewShadowserverAPI returns a Reports API collector. env.Store is required:
// it keeps the ids of delivered reports and the feed's last error.
func NewShadowserverAPI(env pipeline.Env, cfg ShadowserverAPIConfig) (*ShadowserverAPI, error) {
	if cfg.Feed == "" {
		return nil, errors.New("shadowserver_api collector: feed name is empty")
	}
	prefix := "shadowserver_api collector " + cfg.Feed
	if cfg.APIKey == "" {
		return nil, fmt.Errorf("%s: %w", prefix, pipeline.OptionProblem("collector.credential.missing", "api_key", "api_key", "api_key", "api_key"))
	}
	if cfg.Secret == "" {
		return nil, fmt.Errorf("%s: %w", prefix, pipeline.OptionProblem("collector.credential.missing", "secret", "secret", "secret", "secret"))
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultShadowserverAPIURL
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: %w", prefix, pipeline.OptionProblem("pipeline.option.httpurl", "base_url", cfg.BaseURL))
	}
	if !strings.HasSuffix(cfg.BaseURL, "/") {
		cfg.BaseURL += "/"
	}
	if env.Store == nil {
		return nil, fmt.Errorf("%s: no store", prefix)
	}
	if cfg.Days == 0 {
		cfg.Days = DefaultShadowserverAPIDays
	}
	if cfg.Days < 1 || cfg.Days > MaxShadowserverAPIDays {
		return nil, fmt.Errorf("%s: %w", prefix, pipeline.OptionProblem("pipeline.option.range", "days", 1, MaxShadowserverAPIDays, cfg.Days))
	}
	switch cfg.Format {
	case "":
		cfg.Format = ShadowserverFormatCSV
	case ShadowserverFormatCSV, ShadowserverFormatJSON:
	default:
		return nil, fmt.Errorf("%s: %w", prefix, pipeline.OptionProblem("pipeline.option.choice", "format", "csv, json", cfg.Format))
	}
	for _, list := range [][]string{cfg.Reports, cfg.Types} {
		if slices.Contains(list, "") {
			return nil, fmt.Errorf("%s: %w", prefix, pipeline.OptionProblem("collector.shadowserver.emptyname"))
		}
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultShadowserverAPIInterval
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultShadowserverAPITimeout
	}
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = DefaultShadowserverAPIMaxSize
	}
	c := &ShadowserverAPI{
		cfg:   cfg,
		store: env.Store,
	}
	c.client, c.logger, c.now = fromEnv(env, "shadowserver_api", cfg.Feed)
	return c, nil
}

// shadowserverAPIOptions are the collector's options: each credential
// given directly, by an environment variable or in a file, and the rest of
// its configuration.
type shadowserverAPIOptions struct {
	APIKeyDirect string `opt:"api_key"`
	APIKeyEnv    string `opt:"api_key_env"`
	APIKeyFile   string `opt:"api_key_file"`
	SecretDirect string `opt:"secret"`
	SecretEnv    string `opt:"secret_env"`
	SecretFile   string `opt:"secret_file"`
	ShadowserverAPIConfig
}

func newShadowserverAPIFromOptions(env pipeline.Env, feed string, opts pipeline.Options) (pipeline.Collector, error) {
	wrap := func(err error) error { return fmt.Errorf("shadowserver_api collector: %w", err) }
	o := shadowserverAPIOptions{ShadowserverAPIConfig: ShadowserverAPIConfig{
		Feed:     feed,
		BaseURL:  DefaultShadowserverAPIURL,
		Interval: DefaultShadowserverAPIInterval,
		Days:     DefaultShadowserverAPIDays,
		Format:   ShadowserverFormatCSV,
		Timeout:  DefaultShadowserverAPITimeout,
		MaxSize:  DefaultShadowserverAPIMaxSize,
	}}
	if err := opts.Decode(&o); err != nil {
		return nil, wrap(err)
	}
	cfg := o.ShadowserverAPIConfig
	var err error
	if cfg.APIKey, err = credential("api_key", o.APIKeyDirect, o.APIKeyEnv, o.APIKeyFile); err != nil {
		return nil, wrap(err)
	}
	if cfg.Secret, err = credential("secret", o.SecretDirect, o.SecretEnv, o.SecretFile); err != nil {
		return nil, wrap(err)
	}
	if cfg.Days <= 0 {
		return nil, wrap(pipeline.OptionProblem("pipeline.option.range", "days", 1, MaxShadowserverAPIDays, cfg.Days))
	}
	c, err := NewShadowserverAPI(env, cfg)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct{ key, file string }{{"api_key_file", o.APIKeyFile}, {"secret_file", o.SecretFile}} {
		if key, file := f.key, f.file; file != "" {
			if fi, err := os.Stat(file); err == nil && fi.Mode().Perm()&0o077 != 0 {
				c.logger.Warn("a file holding a Reports API credential is readable by others; make it mode 0600",
					"option", key, "file", file, "mode", fi.Mode().Perm().String())
			}
		}
	}
	return c, nil
}

func (c *ShadowserverAPI) statePrefix() string {
	return "collector/shadowserver_api/" + c.cfg.Feed + "/"
}

// Run lists and downloads at once and then every interval until ctx ends.
// Failures are logged and shown on the feeds page; what failed is tried
// again at the next run.
func (c *ShadowserverAPI) Run(ctx context.Context, deliver pipeline.Deliver) error {
	tick := time.NewTicker(c.cfg.Interval)
	defer tick.Stop()
	for {
		// Fetch logs and records its own failure; the hook adds it to
		// the feed's history of runs.
		_ = c.scheduledFetch(ctx, deliver, c.Fetch)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Fetch makes one run: it lists the reports of the last days, delivers each
// one not delivered before and forgets ids far older than the listed range.
// A report that fails does not stop the others. The error, also recorded
// as the feed's last error, says what failed.
func (c *ShadowserverAPI) Fetch(ctx context.Context, deliver pipeline.Deliver) error {
	err := c.redactError(c.fetch(ctx, deliver))
	if ctx.Err() != nil {
		return err
	}
	if err != nil {
		c.logger.Error("Reports API run failed; trying again at the next run", "err", err)
	}
	c.recordRun(ctx, err)
	return err
}

func (c *ShadowserverAPI) fetch(ctx context.Context, deliver pipeline.Deliver) error {
	today := c.now().UTC()
	first := today.AddDate(0, 0, -c.cfg.Days)
	fetched, err := c.loadFetched(ctx)
	if err != nil {
		return err
	}
	entries, err := c.listReports(ctx, utcDate(first), utcDate(today))
	if err != nil {
		return err
	}
	var failures []error
	delivered := 0
	for _, entry := range entries {
		if _, done := fetched[entry.ID]; done {
			continue
		}
		if err := c.fetchReport(ctx, entry, deliver); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.logger.Error("report not delivered; trying again at the next run",
				"report", entry.File, "id", entry.ID, "err", c.redact(err.Error()))
			failures = append(failures, err)
			var refused *ReportsAPIError
			if errors.As(err, &refused) && refused.Credentials() {
				// Every further request would be refused the same way.
				break
			}
			continue
		}
		record := fetchedReport{Date: reportDate(entry, today), File: entry.File, Fetched: c.now().UTC()}
		if err := c.markFetched(ctx, entry.ID, record); err != nil {
			// The report was delivered; without the mark it will be
			// delivered again, and the store recognises its events.
			failures = append(failures, err)
			continue
		}
		fetched[entry.ID] = record
		delivered++
	}
	listed := make(map[string]bool, len(entries))
	for _, e := range entries {
		listed[e.ID] = true
	}
	c.prune(ctx, fetched, listed, first)
	c.logger.Info("Reports API run done", "listed", len(entries), "delivered", delivered, "failed", len(failures))
	switch len(failures) {
	case 0:
		return nil
	case 1:
		return failures[0]
	default:
		// Two or more: the plural in every language.
		return i18n.Wrap(failures[0], "collector.shadowserver.failures", len(failures))
	}
}

// listReports asks reports/list for the reports dated from first to last
// (both YYYY-MM-DD), keeps those of the configured types, and orders them
// by date and file name.
func (c *ShadowserverAPI) listReports(ctx context.Context, first, last string) ([]reportEntry, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	request := map[string]any{"date": first + ":" + last}
	if len(c.cfg.Reports) > 0 {
		request["reports"] = c.cfg.Reports
	}
	if len(c.cfg.Types) == 1 {
		// Shadowserver's report-manager sends one type this way; several
		// are kept below, from the list of all.
		request["type"] = c.cfg.Types[0]
	}
	resp, err := c.call(ctx, "reports/list", request)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(newLimitReader(resp.Body, maxReportListBytes))
	if err != nil {
		return nil, i18n.Wrap(err, "collector.shadowserver.list.read")
	}
	var entries []reportEntry
	if err := json.Unmarshal(raw, &entries); err != nil {
		if apiErr := c.errorAnswer("reports/list", resp.StatusCode, raw); apiErr != nil {
			return nil, apiErr
		}
		return nil, i18n.Wrap(err, "collector.shadowserver.list.notlist")
	}
	kept := entries[:0]
	seen := map[string]bool{}
	for _, e := range entries {
		if e.ID == "" || seen[e.ID] {
			continue
		}
		if len(c.cfg.Types) > 0 && !slices.Contains(c.cfg.Types, e.Type) {
			continue
		}
		seen[e.ID] = true
		kept = append(kept, e)
	}
	sort.SliceStable(kept, func(i, j int) bool {
		if kept[i].Timestamp != kept[j].Timestamp {
			return kept[i].Timestamp < kept[j].Timestamp
		}
		return kept[i].File < kept[j].File
	})
	return kept, nil
}

// fetchReport downloads one report and delivers it. The body is streamed
// to the pipeline, bounded by max_size before and after decompression.
func (c *ShadowserverAPI) fetchReport(ctx context.Context, entry reportEntry, deliver pipeline.Deliver) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	name := c.inputName(entry)
	reportName := name // what the errors call it, before any .gz is cut
	failed := func(err error) error { return i18n.Wrap(err, "collector.shadowserver.report", reportName, entry.ID) }

	var resp *http.Response
	var err error
	method := "reports/download"
	if c.cfg.Format == ShadowserverFormatJSON {
		resp, err = c.call(ctx, method, map[string]any{"id": entry.ID})
	} else {
		method = methodDownloadLink
		resp, err = c.downloadLink(ctx, entry)
	}
	if err != nil {
		return failed(err)
	}
	defer resp.Body.Close()
	if resp.ContentLength > c.cfg.MaxSize {
		return &i18n.Error{Message: i18n.M("collector.shadowserver.report.toolarge", reportName, entry.ID, resp.ContentLength, c.cfg.MaxSize), Err: ErrTooLarge}
	}
	body, err := c.refuseErrorAnswer(resp, method)
	if err != nil {
		return failed(err)
	}
	body = newLimitReader(body, c.cfg.MaxSize)
	body, name, closeBody, err := maybeGunzip(body, name)
	if err != nil {
		return failed(err)
	}
	defer closeBody()
	body = newLimitReader(body, c.cfg.MaxSize)

	start := c.now()
	if err := deliver(ctx, pipeline.Input{Feed: c.cfg.Feed, Name: name, Body: body}); err != nil {
		if errors.Is(err, ErrTooLarge) {
			return i18n.Wrap(err, "collector.shadowserver.report.limit", reportName, entry.ID, c.cfg.MaxSize)
		}
		return i18n.Wrap(err, "collector.shadowserver.report.deliver", reportName, entry.ID)
	}
	c.logger.Info("report delivered", "report", name, "id", entry.ID, "type", entry.Type, "duration", c.now().Sub(start))
	return nil
}

// downloadLink fetches a report's CSV from the link reports/list gave.
func (c *ShadowserverAPI) downloadLink(ctx context.Context, entry reportEntry) (*http.Response, error) {
	u, err := url.Parse(entry.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, i18n.NewError("collector.shadowserver.nolink", entry.URL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, entry.URL, nil)
	if err != nil {
		return nil, i18n.Wrap(err, "collector.shadowserver.download")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, i18n.Wrap(err, "collector.shadowserver.download")
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		resp.Body.Close()
		return nil, i18n.NewError("collector.shadowserver.download", resp.Status)
	}
	return resp, nil
}

// inputName is the name the parser sees: the report's file name, which
// carries its date and type (2026-11-20-scan_rdp-belgium-geo.csv), ending
// in .json for the JSON form, and never a path.
func (c *ShadowserverAPI) inputName(entry reportEntry) string {
	name := path.Base(strings.ReplaceAll(entry.File, "\\", "/"))
	if name == "." || name == "/" || name == "" {
		name = "report-" + entry.ID + ".csv"
	}
	if entry.Type != "" && !strings.Contains(name, entry.Type) {
		// The parser reads the type from the name; a name that lacks
		// it gets it in the form Shadowserver's own names have.
		name = reportDate(entry, c.now()) + "-" + entry.Type + "-" + name
	}
	if c.cfg.Format == ShadowserverFormatJSON {
		base := strings.TrimSuffix(name, ".gz")
		base = strings.TrimSuffix(base, ".csv")
		base = strings.TrimSuffix(base, ".json")
		name = base + ".json"
	}
	return name
}

// reportDate is the date of a listed report, for pruning: from its
// timestamp when that starts with a date, else from its file name, else
// today.
func reportDate(entry reportEntry, today time.Time) string {
	for _, s := range []string{entry.Timestamp, path.Base(entry.File)} {
		if len(s) >= len(time.DateOnly) {
			if _, err := time.Parse(time.DateOnly, s[:len(time.DateOnly)]); err == nil {
				return s[:len(time.DateOnly)]
			}
		}
	}
	return utcDate(today)
}

// loadFetched returns the delivered reports by id.
func (c *ShadowserverAPI) loadFetched(ctx context.Context) (map[string]fetchedReport, error) {
	raw, err := c.store.ListState(ctx, c.statePrefix())
	if err != nil {
		return nil, i18n.Wrap(err, "collector.shadowserver.state.load")
	}
	fetched := make(map[string]fetchedReport, len(raw))
	for key, value := range raw {
		var r fetchedReport
		if err := json.Unmarshal(value, &r); err != nil {
			// The id is still known as delivered; only its date is lost,
			// so it is kept until the next pruning.
			c.logger.Warn("unreadable record of a delivered report", "key", key, "err", err)
		}
		fetched[strings.TrimPrefix(key, c.statePrefix())] = r
	}
	return fetched, nil
}

func (c *ShadowserverAPI) markFetched(ctx context.Context, id string, r fetchedReport) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := c.store.PutState(context.WithoutCancel(ctx), c.statePrefix()+id, raw); err != nil {
		return i18n.Wrap(err, "collector.shadowserver.state.save", id)
	}
	return nil
}

// prune forgets delivered reports dated well before the first listed day:
// the API no longer lists them, and the state stays bounded. A record
// whose date cannot be read is forgotten once its report is no longer
// listed.
func (c *ShadowserverAPI) prune(ctx context.Context, fetched map[string]fetchedReport, listed map[string]bool, first time.Time) {
	limit := utcDate(first.AddDate(0, 0, -shadowserverAPIPruneDays))
	for id, r := range fetched {
		if r.Date != "" && r.Date >= limit || r.Date == "" && listed[id] {
			continue
		}
		if err := c.store.DeleteState(context.WithoutCancel(ctx), c.statePrefix()+id); err != nil {
			c.logger.Warn("forget an old delivered report", "id", id, "err", err)
			continue
		}
		delete(fetched, id)
	}
}

// recordRun notes the run on the feeds page: when, and the error if any,
// which Fetch redacted (redactError). It is the collector's only call of
// the feed statistics.
func (c *ShadowserverAPI) recordRun(ctx context.Context, failure error) {
	var (
		msg     string
		problem i18n.Message
	)
	if failure != nil {
		msg = failure.Error()
		problem, _ = i18n.Said(failure)
	}
	ctx = context.WithoutCancel(ctx)
	if err := c.store.AddFeedCounters(ctx, store.FeedKey{Feed: c.cfg.Feed}, store.FeedCounters{}, c.now(), time.Time{}, msg, problem); err != nil {
		c.logger.Error("record feed run", "err", err)
	}
}

var (
	_ pipeline.Collector = (*ShadowserverAPI)(nil)
	_ pipeline.Fetcher   = (*ShadowserverAPI)(nil)
)
