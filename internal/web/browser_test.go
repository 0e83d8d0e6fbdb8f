package web

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

const chromiumPath = "/usr/bin/chromium"

// openStore opens a migrated SQLite store in the test's directory.
func openStore(t *testing.T) *database.DB {
	t.Helper()
	ctx := context.Background()
	raw, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "vigil.db"), sqlitestore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	st, err := database.New(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func addUser(t *testing.T, st *database.DB, name string, role auth.Role, password string) auth.User {
	t.Helper()
	u, err := auth.NewUser(name, name+"@cert.example", role, password, "en")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(context.Background(), &u); err != nil {
		t.Fatal(err)
	}
	return u
}

// testEvent builds an event from field pairs.
func testEvent(t *testing.T, raw string, kv ...string) *event.Event {
	t.Helper()
	e := event.New(len(kv) / 2)
	for i := 0; i < len(kv); i += 2 {
		if err := e.Set(kv[i], kv[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if raw != "" {
		e.SetRaw([]byte(raw))
	}
	return e
}

// TestBrowserLoginSearchDetail drives the console in headless Chromium:
// log in through the form, search by CIDR, open an event and read its
// fields, as an analyst would.
func TestBrowserLoginSearchDetail(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s not found: install Debian's chromium (apt-get install chromium) to run the browser test: %v", chromiumPath, err)
	}
	st := openStore(t)
	addUser(t, st, "alice", auth.RoleAnalyst, "alice's long passphrase")
	events := seedSearchDetail(t, st)
	cc := consoleConfig(t, st, "test")
	cc.Retry = func(context.Context, []int64) (int, error) { return 0, nil }
	cc.FeedNames = func() []string { return []string{"abusech-feodo", "shadowserver-scan-http"} }
	srv := serveConsole(t, cc)

	// Not logged in: the console sent the browser to the login form, and
	// brings it back to /events afterwards.
	tctx := startChromium(t, srv.URL+"/events")
	logIn(t, tctx, "alice", "alice's long passphrase", "cidr")
	s := &searchDetailSteps{ctx: tctx, base: srv.URL, hash: events[0].Hash().String()}
	runSteps(t,
		browserStep{"search by CIDR", s.searchByCIDR},
		browserStep{"the event's page and back", s.eventPage},
		browserStep{"the other pages", s.otherPages},
	)
}

// seedSearchDetail stores the three events of TestBrowserLoginSearchDetail
// (the first with markup in its raw line), a dead letter and a feed's
// counters, and returns the events.
func seedSearchDetail(t *testing.T, st *database.DB) []*event.Event {
	t.Helper()
	ctx := context.Background()
	events := []*event.Event{
		testEvent(t, `"2025-03-01 10:00:00","192.0.2.10","<script>alert(1)</script>"`,
			"time.source", "2025-03-01T10:00:00Z", "feed.name", "shadowserver-scan-http",
			"classification.taxonomy", "vulnerable", "classification.type", "vulnerable-system",
			"source.ip", "192.0.2.10", "source.port", "8080", "source.asn", "64496",
			"source.geolocation.cc", "BE", "source.fqdn", "www.univ.example", "tlp", "AMBER"),
		testEvent(t, "line two",
			"time.source", "2025-03-01T11:00:00Z", "feed.name", "abusech-feodo",
			"classification.taxonomy", "malicious-code", "classification.type", "c2-server",
			"source.ip", "192.0.2.200", "source.port", "443", "source.asn", "64496"),
		testEvent(t, "",
			"time.source", "2025-03-01T12:00:00Z", "feed.name", "abusech-feodo",
			"classification.taxonomy", "malicious-code", "classification.type", "c2-server",
			"source.ip", "198.51.100.7", "source.port", "443"),
	}
	insertEvents(t, st, events...)
	if err := st.AddDeadLetters(ctx, []store.DeadLetter{{Feed: "abusech-feodo", Parser: "csv", Input: []byte("2025-03-01,not-an-ip,443"), Error: "column 2: not an IP address", Time: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddFeedCounters(ctx, store.FeedKey{Feed: "abusech-feodo"}, store.FeedCounters{LinesRead: 3, EventsOut: 2, DeadLetters: 1}, time.Now(), time.Now().Add(-95*time.Minute), "line 2: column 2: not an IP address", i18n.Message{}); err != nil {
		t.Fatal(err)
	}
	return events
}

// searchDetailSteps is what the steps of TestBrowserLoginSearchDetail
// share: the logged-in browser, the console's address, and the hash of
// the event whose page is opened.
type searchDetailSteps struct {
	ctx  context.Context
	base string
	hash string
}

// searchByCIDR searches 192.0.2.0/24 and counts the two events in it.
func (s *searchDetailSteps) searchByCIDR(t *testing.T) {
	tctx := s.ctx
	err := chromedp.Do(tctx,
		chromedp.SendKeys(chromedp.ID("cidr"), "192.0.2.0/24"),
		chromedp.Click(chromedp.ID("search")),
		chromedp.WaitVisible(chromedp.ID("results")),
	)
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	// The page before the search has a result table too (every event):
	// count only once the browser is on the search's own page.
	rows := searchRows(t, tctx, "cidr=")
	cidrValue := run(t, tctx, chromedp.Value(chromedp.ID("cidr")))
	screenshot(t, tctx, "events-search")
	if cidrValue != "192.0.2.0/24" {
		t.Errorf("search form shows cidr %q after the search", cidrValue)
	}
	if len(rows) != 2 {
		t.Fatalf("CIDR 192.0.2.0/24 found %d rows, want 2", len(rows))
	}
}

// eventPage opens the older of the two events (newest first: the 11:00
// event, then the 10:00 one), reads its fields, and goes back to the
// search.
func (s *searchDetailSteps) eventPage(t *testing.T) {
	tctx := s.ctx
	err := chromedp.Do(tctx,
		chromedp.Click(chromedp.CSS("#results tbody tr:nth-child(2) a.event-link")),
		chromedp.WaitVisible(chromedp.ID("fields")),
	)
	if err != nil {
		t.Fatalf("open event detail: %v", err)
	}
	heading := run(t, tctx, chromedp.Text(chromedp.CSS("h1")))
	sourceIP := run(t, tctx, chromedp.Text(chromedp.CSS(`td[data-field="source.ip"]`)))
	classification := run(t, tctx, chromedp.Text(chromedp.CSS(`td[data-field="classification.type"]`)))
	tlp := run(t, tctx, chromedp.Text(chromedp.CSS(`td[data-field="tlp"]`)))
	raw := run(t, tctx, chromedp.Text(chromedp.ID("raw")))
	hash := run(t, tctx, chromedp.Text(chromedp.ID("hash")))
	scripts := run(t, tctx, chromedp.Nodes(chromedp.CSSAll("script"), chromedp.AtLeast(0)))
	back := run(t, tctx, chromedp.AttributeValue(chromedp.ID("back"), "href"))
	screenshot(t, tctx, "event-detail")
	if heading != "Event" || sourceIP != "192.0.2.10" || classification != "vulnerable-system" || tlp != "AMBER" {
		t.Errorf("detail page: heading %q, source.ip %q, type %q, tlp %q", heading, sourceIP, classification, tlp)
	}
	if hash != s.hash {
		t.Errorf("hash %q, want %q", hash, s.hash)
	}
	// The raw line holds markup: it must arrive as text, not as a script.
	if !strings.Contains(raw, "<script>alert(1)</script>") {
		t.Errorf("raw input shown as %q", raw)
	}
	if len(scripts) != 0 {
		t.Errorf("page holds %d script elements", len(scripts))
	}
	if back.Value != "/events?cidr=192.0.2.0%2F24" {
		t.Errorf("back link %q", back.Value)
	}
	err = chromedp.Do(tctx,
		chromedp.Click(chromedp.ID("back")),
		chromedp.WaitVisible(chromedp.ID("results")),
	)
	if err != nil {
		t.Fatalf("back to the search: %v", err)
	}
	if rows := run(t, tctx, chromedp.Nodes(chromedp.CSSAll("#results tbody tr"))); len(rows) != 2 {
		t.Errorf("back on the search: %d rows, want 2", len(rows))
	}
}

// otherPages opens the other pages an analyst uses, for the screenshots.
func (s *searchDetailSteps) otherPages(t *testing.T) {
	for _, page := range []struct{ path, name, ready string }{
		{"/", "home", ".counts"},
		{"/feeds", "feeds", "#feeds"},
		{"/deadletters", "deadletters", "#deadletters"},
		{"/events?cidr=192.0.2.0/33", "search-error", ".fielderror"},
		{"/account", "account", "#language"},
	} {
		if err := chromedp.Do(s.ctx, chromedp.Navigate(s.base+page.path), chromedp.WaitVisible(chromedp.CSS(page.ready))); err != nil {
			t.Fatalf("%s: %v", page.path, err)
		}
		screenshot(t, s.ctx, page.name)
	}
}

// TestBrowserConsoleOverHTTPS logs in to the console in Chromium over
// HTTPS, served the way `vigil serve` serves it with certificate files (a
// certificate from a CA made for the test), and checks what the browser
// kept: a __Host- session cookie that is Secure and HttpOnly, and the
// Strict-Transport-Security header on the pages.
func TestBrowserConsoleOverHTTPS(t *testing.T) {
	st := openStore(t)
	addUser(t, st, "alice", auth.RoleAnalyst, "alice's long passphrase")
	if _, err := st.InsertEvents(context.Background(), []*event.Event{testEvent(t, "",
		"time.source", "2025-03-01T10:00:00Z", "feed.name", "shadowserver-scan-rdp",
		"classification.taxonomy", "vulnerable", "classification.type", "vulnerable-system",
		"source.ip", "192.0.2.10", "source.port", "3389")}, nil); err != nil {
		t.Fatal(err)
	}
	ca := newTestCA(t)
	certFile, keyFile := ca.issue(t, t.TempDir(), "console", 42)
	certs, err := LoadCertificateFiles(certFile, keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Deps{Console: consoleConfig(t, st, "test")})
	if err != nil {
		t.Fatal(err)
	}
	base := serveTLS(t, h, certs)
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("server at %s", base)
	}

	// The test CA is not in Chromium's store; the certificate itself is
	// checked by TestCertificateReload with a verifying client.
	tctx := startChromium(t, base+"/events", chromedp.Flag("ignore-certificate-errors", true))
	logIn(t, tctx, "alice", "alice's long passphrase", "cidr")

	cookies := run(t, tctx, func(ctx context.Context, target *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, target, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/"}})
	})
	var session *network.Cookie
	for _, c := range cookies.Cookies {
		switch c.Name {
		case "__Host-vigil-session":
			session = c
		case "vigil-session", "vigil-form":
			t.Errorf("the browser holds an unprefixed cookie %s", c.Name)
		}
	}
	if session == nil {
		t.Fatalf("no __Host-vigil-session cookie in the browser; it has %d cookies", len(cookies.Cookies))
	}
	if !session.Secure || !session.HTTPOnly || session.Path != "/" || session.Domain != "127.0.0.1" || session.SameSite != network.CookieSameSiteLax {
		t.Errorf("session cookie: secure %v, httpOnly %v, path %q, domain %q, sameSite %q", session.Secure, session.HTTPOnly, session.Path, session.Domain, session.SameSite)
	}

	res := run(t, tctx, chromedp.NavigateResponse(base+"/events?cidr=192.0.2.0/24"))
	hsts := ""
	for name, v := range res.Headers {
		if strings.EqualFold(name, "Strict-Transport-Security") {
			hsts, _ = v.(string)
		}
	}
	if hsts != DefaultHSTS {
		t.Errorf("Strict-Transport-Security %q, want %q (headers %v)", hsts, DefaultHSTS, res.Headers)
	}
	if res.Status != 200 || res.SecurityDetails == nil || (res.SecurityDetails.Protocol != "TLS 1.3" && res.SecurityDetails.Protocol != "TLS 1.2") {
		t.Errorf("events page: status %d, security %+v", res.Status, res.SecurityDetails)
	}
	if rows := run(t, tctx, chromedp.Nodes(chromedp.CSSAll("#results tbody tr"))); len(rows) != 1 {
		t.Errorf("search over HTTPS found %d rows, want 1", len(rows))
	}
	screenshot(t, tctx, "https-events")
}

// startChromium opens a page in headless Chromium and returns the page's
// context, bounded to 90 seconds; the page closes with the test. The page
// is a tab of the package's shared browser (sharedChromium) in a browser
// context of its own, Chromium's incognito profile: no cookies, storage,
// cache or permissions pass between tests. extra adds command-line options,
// which only a browser of the test's own can have: such a test starts one,
// which stops with it.
func startChromium(t *testing.T, url string, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	var bctx context.Context
	if len(extra) > 0 {
		var stop func()
		bctx, stop = launchChromium(t, t.TempDir(), extra...)
		t.Cleanup(stop)
	} else {
		bctx = sharedChromium(t)
	}
	tabCtx, closeTab := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
	t.Cleanup(closeTab)
	// The first Run opens the tab and must not carry a deadline (it would
	// close the tab); the steps after it do.
	if err := chromedp.Do(tabCtx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open a page in chromium: %v", err)
	}
	tctx, cancelTimeout := context.WithTimeout(tabCtx, 90*time.Second)
	t.Cleanup(cancelTimeout)
	return tctx
}

// launchChromium starts headless Chromium with its profile in dir and
// returns the browser's context and the function that stops it. Starting
// a browser costs seconds, so the tests share one (sharedChromium).
func launchChromium(t *testing.T, dir string, extra ...chromedp.ExecAllocatorOption) (context.Context, func()) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s not found: install Debian's chromium (apt-get install chromium) to run the browser test: %v", chromiumPath, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1400, 1000),
	)
	opts = append(opts, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	stop := func() { cancelBrowser(); cancelAlloc() }
	// The first Run starts the browser and must not carry a deadline (it
	// would stop the browser).
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		stop()
		t.Fatalf("start chromium: %v", err)
	}
	return bctx, stop
}

// shared is the browser the package's tests share, started by the first
// test that asks for it and stopped by TestMain after the last.
var shared struct {
	mu   sync.Mutex
	dir  string // its profile, removed when it stops
	ctx  context.Context
	stop func()
}

// sharedChromium returns the shared browser's context, starting the
// browser if it has not started or has died.
func sharedChromium(t *testing.T) context.Context {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.ctx != nil && shared.ctx.Err() == nil {
		return shared.ctx
	}
	stopSharedChromium()
	dir, err := os.MkdirTemp("", "vigil-web-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	shared.dir = dir
	shared.ctx, shared.stop = launchChromium(t, dir)
	return shared.ctx
}

// stopSharedChromium stops the shared browser, if one runs, and removes
// its profile. The caller holds shared.mu.
func stopSharedChromium() {
	if shared.stop != nil {
		shared.stop()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	shared.ctx, shared.stop, shared.dir = nil, nil, ""
}

// TestMain runs the package's tests with argon2id at its least cost (they
// check who may log in, not the hash's cost, which internal/auth's tests
// check at the default) and stops the shared browser after the last.
func TestMain(m *testing.M) {
	auth.DefaultPasswordParams = auth.PasswordParams{Memory: 8, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	code := m.Run()
	shared.mu.Lock()
	stopSharedChromium()
	shared.mu.Unlock()
	os.Exit(code)
}

// run runs one browser action and returns its value, failing the test on
// an error.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// searchRows waits until the browser's address holds query (the form's
// submission has loaded) and returns the result table's rows there.
// Asking while the browser navigates fails; it is asked again.
func searchRows(t *testing.T, ctx context.Context, query string) []*chromedp.Node {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err == nil && strings.Contains(loc, query) {
			if rows, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("#results tbody tr"))); err == nil {
				return rows
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page for %q did not load (last address %q, %v)", query, loc, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// screenshot saves a full-page PNG in the test's directory and, when
// VIGIL_SCREENSHOTS names a directory, there too.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	dirs := []string{t.TempDir()}
	if d := os.Getenv("VIGIL_SCREENSHOTS"); d != "" {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		p := filepath.Join(d, fmt.Sprintf("console-%s.png", name))
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Errorf("save screenshot: %v", err)
			continue
		}
		t.Logf("screenshot %s", p)
	}
}
