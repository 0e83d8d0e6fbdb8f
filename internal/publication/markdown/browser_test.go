package markdown

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium, which the browser tests drive.
const chromiumPath = "/usr/bin/chromium"

// pageShell wraps one rendered body in a page of its own. The server
// sets no Content-Security-Policy: the test is that the HTML itself is
// inert, so nothing else may stop a script.
const pageShell = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vector</title></head>
<body><main id="content">%s</main><p id="end">end</p></body></html>`

// TestBrowserXSSInert serves each attack of xssVectors rendered by
// Render in a page of its own, loads it in headless Chromium, clicks
// every link it has (the mouse passing over the content on its way),
// and checks that no script ran: window.__pwned stays undefined, no
// dialog opens, and nothing asks the server for /pwned. Pages with the
// same attacks served raw show the checks catch a script that runs.
func TestBrowserXSSInert(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s not found: install Debian's chromium (apt-get install chromium) to run the browser test: %v", chromiumPath, err)
	}
	var beacons atomic.Int64
	controls := []string{
		`<a href="javascript:window.__pwned=1">click</a>`,
		`<img src="x" onerror="alert(1)">`,
		`<script>fetch('/pwned')</script>`,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/pwned", func(w http.ResponseWriter, r *http.Request) {
		beacons.Add(1)
		fmt.Fprint(w, "pwned")
	})
	mux.HandleFunc("/vector/{i}", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.PathValue("i"))
		if err != nil || i < 0 || i >= len(xssVectors) {
			http.NotFound(w, r)
			return
		}
		servePage(w, Render(xssVectors[i].src))
	})
	mux.HandleFunc("/control/{i}", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.PathValue("i"))
		if err != nil || i < 0 || i >= len(controls) {
			http.NotFound(w, r)
			return
		}
		servePage(w, template.HTML(controls[i]))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	b := startBrowser(t, srv.URL+"/vector/0")
	t.Run("controls", func(t *testing.T) {
		for i, c := range controls {
			beacons.Store(0)
			if !b.visit(t, srv.URL+"/control/"+strconv.Itoa(i), &beacons) {
				t.Errorf("the raw control %s ran no script the test saw: the test cannot see an attack", c)
			}
		}
	})
	for i, v := range xssVectors {
		t.Run(v.name, func(t *testing.T) {
			beacons.Store(0)
			if b.visit(t, srv.URL+"/vector/"+strconv.Itoa(i), &beacons) {
				t.Errorf("a script ran: source %q rendered %q", v.src, Render(v.src))
			}
		})
	}
}

// servePage writes one test page.
func servePage(w http.ResponseWriter, body template.HTML) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, pageShell, body)
}

// browser is one headless Chromium tab and the dialogs it has opened.
type browser struct {
	ctx     context.Context
	mu      sync.Mutex
	dialogs int
}

// startBrowser starts headless Chromium on url, answers (dismisses)
// every dialog a page opens and counts them. Host names other than the
// test server's address resolve to nothing, so that a link that leaves
// the page fails at once instead of reaching out.
func startBrowser(t *testing.T, url string) *browser {
	t.Helper()
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
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	// The first Run starts the browser and must not carry a deadline.
	if err := chromedp.Do(bctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	b := &browser{ctx: bctx}
	dialogs := chromedp.Events(bctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs++
			b.mu.Unlock()
			_, _ = chromedp.Call(bctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return b
}

// visit loads url, then loads it again for each link on it and clicks
// that link, and reports whether a script ran at any point: a dialog
// opened, window.__pwned was set, or the server was asked for /pwned.
func (b *browser) visit(t *testing.T, url string, beacons *atomic.Int64) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	b.mu.Lock()
	b.dialogs = 0
	b.mu.Unlock()
	ran := b.load(t, ctx, url)
	links, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#content a').length`))
	if err != nil {
		t.Fatalf("count links on %s: %v", url, err)
	}
	for i := range links {
		ran = b.load(t, ctx, url) || ran
		b.click(t, ctx, i)
		ran = b.ran(t, ctx) || ran
	}
	b.mu.Lock()
	dialogs := b.dialogs
	b.mu.Unlock()
	return ran || dialogs > 0 || beacons.Load() > 0
}

// load navigates to url and waits until the page has loaded and had
// time to run what it would run.
func (b *browser) load(t *testing.T, ctx context.Context, url string) bool {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitReady(chromedp.ID("end"))); err != nil {
		t.Fatalf("load %s: %v", url, err)
	}
	return b.ran(t, ctx)
}

// click clicks the link i of the content with the mouse (which passes
// over the page on the way), or, when it has no box to click, with
// JavaScript's click().
func (b *browser) click(t *testing.T, ctx context.Context, i int) {
	t.Helper()
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("#content a")))
	if err != nil || i >= len(nodes) {
		t.Fatalf("find link %d: %v (%d links)", i, err, len(nodes))
	}
	if err := chromedp.Do(ctx, chromedp.MouseClickNode(nodes[i])); err != nil {
		script := fmt.Sprintf(`document.querySelectorAll('#content a')[%d].click()`, i)
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](script)); err != nil {
			t.Logf("click link %d: %v", i, err)
		}
	}
}

// ran lets the page settle (two frames and the timers due by then) and
// reports whether window.__pwned is set in the document the tab shows.
// When a click has left for another document, that document is asked;
// a script that ran in the page left behind is seen by its dialog or
// its request to /pwned.
func (b *browser) ran(t *testing.T, ctx context.Context) bool {
	t.Helper()
	settle := `new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(() => r(typeof window.__pwned !== 'undefined'), 50))))`
	pwned, err := chromedp.Run(ctx, chromedp.Evaluate[bool](settle, chromedp.EvalAwaitPromise))
	if err != nil {
		// The click's navigation can replace the document while it is
		// asked; ask the new one.
		pwned, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.__pwned !== 'undefined'`))
		if err != nil {
			t.Logf("ask the page: %v", err)
		}
	}
	return pwned
}
