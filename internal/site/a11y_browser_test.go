package site

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// This file runs the site in headless Chromium, as internal/web's
// browser tests run the console: axe-core's WCAG 2.1 A and AA rules on
// every kind of page in every language, and screenshots at a desktop
// width and a phone's (390 pixels).

const chromiumPath = "/usr/bin/chromium"

// axeScript is axe-core, installed for internal/web's accessibility pass
// (npm ci --prefix internal/web/testdata/axe; ./test.sh does).
const axeScript = "../web/testdata/axe/node_modules/axe-core/axe.min.js"

// axeRun runs axe-core with the WCAG 2.0 and 2.1 A and AA rules.
const axeRun = `axe.run(document, {
  runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
  resultTypes: ['violations'],
}).then(r => ({
  passed: r.passes.length,
  violations: r.violations.map(v => ({id: v.id, impact: v.impact || '', help: v.help,
    nodes: v.nodes.map(n => n.target.map(String).join(' '))})),
}))`

type axeResult struct {
	Passed     int `json:"passed"`
	Violations []struct {
		ID     string   `json:"id"`
		Impact string   `json:"impact"`
		Help   string   `json:"help"`
		Nodes  []string `json:"nodes"`
	} `json:"violations"`
}

// pageFacts are what the test reads from each page besides axe-core's
// verdict.
const pageFacts = `(() => ({
  lang: document.documentElement.lang,
  scripts: document.querySelectorAll('script').length,
  h1: document.querySelectorAll('h1').length,
  main: document.querySelectorAll('main').length,
  firstLink: (document.querySelector('a') || {}).className || '',
  langSwitch: document.querySelectorAll('nav.langs a[hreflang]').length,
  overflow: document.documentElement.scrollWidth > window.innerWidth + 1,
}))()`

type facts struct {
	Lang       string `json:"lang"`
	Scripts    int    `json:"scripts"`
	H1         int    `json:"h1"`
	Main       int    `json:"main"`
	FirstLink  string `json:"firstLink"`
	LangSwitch int    `json:"langSwitch"`
	Overflow   bool   `json:"overflow"`
}

// startChromium starts headless Chromium, which stops with the test, and
// returns the browser's context: the test's pages share it (openPage), as
// starting a browser costs seconds.
func startChromium(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s not found: install Debian's chromium to run the browser test: %v", chromiumPath, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	// The first Run starts the browser and must not carry a deadline (it
	// would stop the browser).
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// openPage opens a tab of browser in a browser context of its own (no
// cookies or cache of another page) at a viewport of width × height and
// returns its context, bounded to 90 seconds; the tab closes with the
// test.
func openPage(t *testing.T, browser context.Context, width, height int) context.Context {
	t.Helper()
	tabCtx, closeTab := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(closeTab)
	// The first Run opens the tab and must not carry a deadline (it would
	// close the tab).
	if err := chromedp.Do(tabCtx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("open a page: %v", err)
	}
	// Headless Chromium's window is at least 500 pixels wide: a phone's
	// width is emulated.
	if err := chromedp.Do(tabCtx, chromedp.EmulateViewport(int64(width), int64(height), chromedp.EmulateMobile)); err != nil {
		t.Fatalf("emulate %dx%d: %v", width, height, err)
	}
	tctx, cancel := context.WithTimeout(tabCtx, 90*time.Second)
	t.Cleanup(cancel)
	return tctx
}

// serveSite serves s as web.New does, with the console's strict
// Content-Security-Policy (no scripts, no inline styles), so a page that
// needed either would break here.
func serveSite(t *testing.T, s *Site) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestBrowserAccessibility runs axe-core on the site's pages in every
// language; a serious or critical violation fails. Each page must also
// say its language, hold no script, have one h1 and one main, start with
// the skip link, offer the language switch, and not scroll sideways.
func TestBrowserAccessibility(t *testing.T) {
	axe, err := os.ReadFile(axeScript)
	if err != nil {
		t.Fatalf("axe-core is not installed (%v): run `npm ci --prefix internal/web/testdata/axe` from the repository's root", err)
	}
	s, err := New(Deps{Source: demoSource(), Catalog: catalog(t), BaseURL: "https://cert.example", Name: "CERT Example",
		Languages: []string{"en", "nl", "fr", "de"}, Now: (&clock{now: testNow}).Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := serveSite(t, s)
	browser := startChromium(t)
	pages := []string{"/", "/advisories", "/advisories?severity=critical", "/warnings", "/news", "/digests",
		"/search", "/search?q=example", "/search?q=nothing+here", "/p/VIGIL-2026-0001", "/p/VIGIL-2026-0003", "/p/VIGIL-2026-0002", "/nowhere"}
	for _, lang := range []string{"en", "nl", "fr", "de"} {
		for _, size := range []struct {
			name          string
			width, height int
		}{{"desktop", 1280, 900}, {"phone", 390, 844}} {
			t.Run(lang+"/"+size.name, func(t *testing.T) {
				ctx := openPage(t, browser, size.width, size.height)
				for _, page := range pages {
					path := "/" + lang + page
					if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+path), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
						t.Fatalf("%s: %v", path, err)
					}
					checkPage(t, ctx, string(axe), path, lang)
					if lang == "en" || page == "/p/VIGIL-2026-0003" {
						screenshot(t, ctx, fmt.Sprintf("%s-%s-%s", lang, size.name, strings.NewReplacer("/", "_", "?", "_", "=", "_", "+", "_").Replace(page)))
					}
				}
			})
		}
	}
}

// checkPage runs axe-core and reads the page's facts.
func checkPage(t *testing.T, ctx context.Context, axe, path, lang string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axe)); err != nil {
		t.Fatalf("%s: load axe-core: %v", path, err)
	}
	found, err := chromedp.Run(ctx, chromedp.Evaluate[axeResult](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: run axe-core: %v", path, err)
	}
	if found.Passed == 0 {
		t.Errorf("%s: axe-core passed no rule", path)
	}
	for _, v := range found.Violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("%s: %s (%s): %s at %v", path, v.ID, v.Impact, v.Help, v.Nodes)
		} else {
			t.Logf("%s, not blocking: %s (%s): %s at %v", path, v.ID, v.Impact, v.Help, v.Nodes)
		}
	}
	f, err := chromedp.Run(ctx, chromedp.Evaluate[facts](pageFacts))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	// axe-core runs as an evaluated expression, not a script element.
	if f.Lang != lang || f.Scripts != 0 || f.H1 != 1 || f.Main != 1 || f.FirstLink != "skip" || f.LangSwitch != 4 || f.Overflow {
		t.Errorf("%s: %+v", path, f)
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
		if err := os.WriteFile(filepath.Join(d, "site-"+name+".png"), png, 0o644); err != nil {
			t.Errorf("save screenshot: %v", err)
		}
	}
}
