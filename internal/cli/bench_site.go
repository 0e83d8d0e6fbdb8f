package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/console"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
	"github.com/vigil-cert/vigil/internal/web"
)

// siteLoad is what one fixed-rate run measured.
type siteLoad struct {
	Sent, OK, Failed int
	// Statuses counts the answers other than 200 by status.
	Statuses map[int]int
	Elapsed  time.Duration
	// Latencies are measured from each request's scheduled start, so a
	// request that waited for a free connection counts its wait (no
	// coordinated omission).
	Latencies []time.Duration
}

// percentile returns the p-th percentile (0 to 100) of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return sorted[i]
}

// benchSite fills a new SQLite database with publications through the
// workflow, serves `vigil serve`'s web handler (the console with the
// public site mounted) on 127.0.0.1, and asks an advisory's page at a
// fixed rate over clients connections for duration; then, when wrk is
// installed, runs wrk against the same page. Every answer must be 200.
func benchSite(ctx context.Context, c *cmdEnv, work string, publications, rate int, duration time.Duration, clients int) error {
	if rate < 1 || clients < 1 || duration <= 0 || publications < 4 {
		return c.usageError("cli.bench.site.args")
	}
	st, closeStore, err := openSiteBenchStore(ctx, work)
	if err != nil {
		return err
	}
	defer closeStore()
	ident, err := benchPublications(ctx, st, publications)
	if err != nil {
		return err
	}
	srvURL, stop, err := serveSiteBench(st)
	if err != nil {
		return err
	}
	defer stop()
	target := srvURL + "/en/p/" + ident
	fmt.Fprintln(c.stdout, c.t("bench.site.start", publications, target))
	if err := checkOnce(ctx, target); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, c.t("bench.site.rate", rate, duration, clients))
	r := fixedRateLoad(ctx, target, rate, duration, clients)
	slices.Sort(r.Latencies)
	achieved := float64(r.OK) / r.Elapsed.Seconds()
	fmt.Fprintln(c.stdout, c.t("bench.site.result", r.Sent, r.OK, achieved))
	fmt.Fprintln(c.stdout, c.t("bench.site.latency", percentile(r.Latencies, 50), percentile(r.Latencies, 90),
		percentile(r.Latencies, 99), percentile(r.Latencies, 99.9), percentile(r.Latencies, 100)))
	wrkErr := runWrk(ctx, c, work, target, rate, duration, clients)
	if r.OK != r.Sent {
		return fmt.Errorf("%d of %d requests were not answered 200 (statuses %v, %d failed)", r.Sent-r.OK, r.Sent, r.Statuses, r.Failed)
	}
	return wrkErr
}

// openSiteBenchStore opens a new SQLite database in work.
func openSiteBenchStore(ctx context.Context, work string) (*database.DB, func(), error) {
	path := filepath.Join(work, "site-bench.db")
	raw, err := sqlitestore.Open(ctx, path, sqlitestore.Options{Synchronous: "NORMAL", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, nil, err
	}
	st, err := database.New(ctx, raw)
	if err != nil {
		raw.Close()
		return nil, nil, err
	}
	return st, func() { raw.Close() }, nil
}

// benchPublications publishes n publications through the workflow, as
// the demo's: advisories, warnings, news and digests in English, Dutch
// and French with every field, a few TLP:AMBER ones among them. It
// returns the ident of the first advisory.
func benchPublications(ctx context.Context, st *database.DB, n int) (string, error) {
	var actors []publication.Actor
	for _, name := range []string{"bench-author", "bench-approver"} {
		u := auth.User{Name: name, Email: name + "@cert.example", Role: auth.RolePublisher, Language: "en",
			PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA"}
		if err := st.CreateUser(ctx, &u); err != nil {
			return "", err
		}
		actors = append(actors, publication.Actor{UserID: u.ID, Name: name})
	}
	svc := &publication.Service{Store: st.Publications, Audit: st}
	first := ""
	for i := range n {
		kind := publication.Kinds[i%len(publication.Kinds)]
		tlp := publication.TLPClear
		if i%10 == 9 {
			tlp = publication.TLPAmber
		}
		p, err := svc.Create(ctx, actors[0], kind, benchContent(i, tlp), "")
		if err != nil {
			return "", fmt.Errorf("create publication %d: %w", i, err)
		}
		if _, err := svc.Submit(ctx, actors[0], p.ID); err != nil {
			return "", err
		}
		if _, err := svc.Approve(ctx, actors[1], p.ID); err != nil {
			return "", err
		}
		if p, err = svc.Publish(ctx, actors[1], p.ID); err != nil {
			return "", err
		}
		if first == "" && kind == publication.KindAdvisory && p.Public() {
			first = p.Ident
		}
	}
	return first, nil
}

// benchContent is publication i's content, as large as a real advisory.
func benchContent(i int, tlp publication.TLP) publication.Content {
	body := strings.Repeat("An unauthenticated attacker can send a crafted request to the management interface and run commands as root. ", 12)
	text := func(lang, title string) publication.Text {
		return publication.Text{Lang: lang, Title: fmt.Sprintf("%s %d", title, i), Summary: "Update the example gateway at once: the flaw is exploited.",
			Body: "## Impact\n\n" + body + "\n\n## Details\n\n- affects the web interface\n- fixed in 7.2.4\n\n[Vendor advisory](https://vendor.example/sa-2026-01)",
			Recommendations: []publication.Recommendation{{Kind: publication.RecommendPatch, Text: "Install 7.2.4 or later."},
				{Kind: publication.RecommendMitigate, Text: "Restrict the management interface to trusted networks."},
				{Kind: publication.RecommendDetect, Text: "Look for POST requests to /cgi-bin/admin in the access logs."}}}
	}
	return publication.Content{Severity: publication.DefaultSeverities[i%4], TLP: tlp,
		Texts: []publication.Text{text("en", "Remote code execution in Example Gateway"), text("nl", "Uitvoering van code op afstand in Example Gateway"),
			text("fr", "Exécution de code à distance dans Example Gateway")},
		CVEs: []string{fmt.Sprintf("CVE-2026-%05d", 10000+i)}, CWEs: []string{"CWE-78"},
		CVSS: []publication.CVSS{{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Score: 9.8, Severity: "critical"}},
		Products: []publication.Product{{Vendor: "Example", Product: "Gateway", CPE: "cpe:2.3:o:example:gateway:*:*:*:*:*:*:*:*",
			Versions: []publication.VersionRange{{Introduced: "7.0", Fixed: "7.2.4"}}}},
		References: []publication.Reference{{URL: "https://vendor.example/sa-2026-01", Title: "Vendor advisory"}},
		Tags:       []string{"rce", "gateway"}}
}

// serveSiteBench serves `vigil serve`'s web handler over st on a free
// port of 127.0.0.1 and returns its address and how to stop it.
func serveSiteBench(st *database.DB) (string, func(), error) {
	log := slog.New(slog.DiscardHandler)
	cfg := config.Default()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	cfg.Listen = ln.Addr().String()
	pub, err := newSite(cfg, st.Publications)
	if err != nil {
		ln.Close()
		return "", nil, err
	}
	notifier, err := notify.New(notify.DefaultConfig(), notify.Deps{Store: st})
	if err != nil {
		ln.Close()
		return "", nil, err
	}
	form := config.DefaultReportForm()
	handler, err := web.New(web.Deps{Site: pub, Console: console.Config{Store: st, Logger: log, Notifier: notifier,
		ReportForm: console.ReportForm{MaxFiles: form.MaxFiles, MaxFileBytes: int64(form.MaxFileMiB) << 20, PerClient: form.PerClient}}})
	if err != nil {
		ln.Close()
		return "", nil, err
	}
	srv := web.NewServer(handler, web.Limits{}, log)
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// checkOnce asks target once (which also renders it into the cache).
func checkOnce(ctx context.Context, target string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d", target, res.StatusCode)
	}
	return nil
}

// fixedRateLoad sends rate requests a second to target for duration,
// each at its scheduled time, over at most clients connections, asking
// for gzip as browsers do; a request whose connection is busy waits, and
// its wait counts in its latency.
func fixedRateLoad(ctx context.Context, target string, rate int, duration time.Duration, clients int) siteLoad {
	n := int(float64(rate) * duration.Seconds())
	transport := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	due := make(chan time.Time, n)
	start := time.Now().Add(20 * time.Millisecond)
	interval := time.Second / time.Duration(rate)
	for i := range n {
		due <- start.Add(time.Duration(i) * interval)
	}
	close(due)
	results := make([]siteLoad, clients)
	var wg sync.WaitGroup
	for w := range clients {
		wg.Add(1)
		go func(r *siteLoad) {
			defer wg.Done()
			r.Statuses = map[int]int{}
			for at := range due {
				if ctx.Err() != nil {
					return
				}
				time.Sleep(time.Until(at))
				r.Sent++
				status, err := getOnce(ctx, client, target)
				r.Latencies = append(r.Latencies, time.Since(at))
				switch {
				case err != nil:
					r.Failed++
				case status == http.StatusOK:
					r.OK++
				default:
					r.Statuses[status]++
				}
			}
		}(&results[w])
	}
	wg.Wait()
	out := siteLoad{Statuses: map[int]int{}, Elapsed: time.Since(start)}
	for _, r := range results {
		out.Sent += r.Sent
		out.OK += r.OK
		out.Failed += r.Failed
		out.Latencies = append(out.Latencies, r.Latencies...)
		for s, k := range r.Statuses {
			out.Statuses[s] += k
		}
	}
	return out
}

// getOnce asks target with gzip and reads the whole answer.
func getOnce(ctx context.Context, client *http.Client, target string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return 0, err
	}
	return res.StatusCode, nil
}

// wrkLine picks the figures out of wrk's --latency report.
var wrkLine = regexp.MustCompile(`(?m)^\s*(Requests/sec:.*|50%.*|90%.*|99%.*|Non-2xx or 3xx responses:.*|Socket errors:.*|\d+ requests in .*)$`)

// wrkRate reads the achieved rate from wrk's report.
var wrkRate = regexp.MustCompile(`Requests/sec:\s*([0-9.]+)`)

// runWrk runs Debian's wrk against target twice and prints its figures:
// paced near rate (clients connections, each waiting clients/rate after
// an answer before its next request, through a delay() script: Debian's
// wrk has no --rate of its own), and then closed loop, as fast as the
// page is served. A non-2xx answer, or a paced run below rate, fails.
func runWrk(ctx context.Context, c *cmdEnv, work, target string, rate int, duration time.Duration, clients int) error {
	path, err := exec.LookPath("wrk")
	if err != nil {
		fmt.Fprintln(c.stdout, c.t("bench.site.nowrk"))
		return nil
	}
	// Each connection's cycle is its wait plus the answer's latency; the
	// wait is a millisecond short of clients/rate so that the achieved
	// rate is at least rate while answers take under a millisecond.
	wait := max(0, clients*1000/rate-1)
	script := filepath.Join(work, "paced.lua")
	lua := fmt.Sprintf("wrk.headers[\"Accept-Encoding\"] = \"gzip\"\nfunction delay()\n  return %d\nend\n", wait)
	if err := os.WriteFile(script, []byte(lua), 0o600); err != nil {
		return err
	}
	seconds := fmt.Sprintf("-d%ds", max(1, int(duration.Seconds())))
	runs := []struct {
		id   string
		args []string
	}{
		{"bench.site.wrk.paced", []string{"-t2", fmt.Sprintf("-c%d", clients), seconds, "--latency", "-s", script, target}},
		{"bench.site.wrk", []string{"-t2", fmt.Sprintf("-c%d", clients), seconds, "--latency", "-H", "Accept-Encoding: gzip", target}},
	}
	for i, r := range runs {
		fmt.Fprintln(c.stdout, c.t(r.id, "wrk "+strings.Join(r.args, " ")))
		out, err := exec.CommandContext(ctx, path, r.args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("wrk: %w: %s", err, out)
		}
		for _, m := range wrkLine.FindAllStringSubmatch(string(out), -1) {
			fmt.Fprintln(c.stdout, "  "+strings.TrimSpace(m[1]))
		}
		if strings.Contains(string(out), "Non-2xx") || strings.Contains(string(out), "Socket errors") {
			return errors.New("wrk: some requests failed or were not answered 200")
		}
		if m := wrkRate.FindStringSubmatch(string(out)); i == 0 && m != nil {
			if achieved, _ := strconv.ParseFloat(m[1], 64); achieved < float64(rate) {
				fmt.Fprintln(c.stdout, c.t("bench.site.below", achieved, rate))
			}
		}
	}
	return nil
}
