package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/store"
)

// axeDir holds the package.json and package-lock.json that pin axe-core,
// the accessibility engine the pass runs inside Chromium. ./test.sh
// installs it from the npm registry; node_modules is not committed.
const axeDir = "testdata/axe"

// axeInstall is the command that installs axe-core, for the failure
// message when it is missing.
const axeInstall = "npm ci --prefix internal/web/testdata/axe"

// axeRun runs axe-core on the whole document with the WCAG 2.0 and 2.1
// level A and AA rules, and returns the violations with what the report
// needs: the rule, its impact and help text, and the offending elements.
const axeRun = `axe.run(document, {
  runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
  resultTypes: ['violations'],
}).then(r => ({
  passed: r.passes.length,
  violations: r.violations.map(v => ({
    id: v.id, impact: v.impact || '', help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.map(String), summary: n.failureSummary || ''})),
  })),
}))`

// axeResult is what axeRun returns: how many rules the page passed (a
// page that passed none was not checked) and the violations.
type axeResult struct {
	Passed     int            `json:"passed"`
	Violations []axeViolation `json:"violations"`
}

// axeViolation is one rule a page breaks, as axeRun reports it.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []string `json:"target"`
		Summary string   `json:"summary"`
	} `json:"nodes"`
}

// blocking reports whether the violation fails the pass: the issue asks
// for no serious issue on any page, so serious and critical ones fail;
// moderate and minor ones are logged.
func (v axeViolation) blocking() bool { return v.Impact == "serious" || v.Impact == "critical" }

func (v axeViolation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s", v.ID, v.Impact, v.Help)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n    %s", strings.Join(n.Target, " "))
		if n.Summary != "" {
			fmt.Fprintf(&b, " — %s", strings.ReplaceAll(n.Summary, "\n", " "))
		}
	}
	return b.String()
}

// axeSource reads axe-core's script. Without it the pass cannot run,
// which fails the test: a missing tool must not pass for an accessible
// console.
func axeSource(t *testing.T) string {
	t.Helper()
	p := filepath.Join(axeDir, "node_modules", "axe-core", "axe.min.js")
	src, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("axe-core is not installed (%v): run `%s` from the repository's root (./test.sh does)", err, axeInstall)
	}
	return string(src)
}

// axeCheck runs axe-core on the page the browser shows and fails the test
// for each serious or critical violation, naming the page; the others are
// logged. It also checks that the document says it is in lang.
func axeCheck(t *testing.T, ctx context.Context, axe, page, lang string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axe)); err != nil {
		t.Fatalf("%s: load axe-core: %v", page, err)
	}
	// What a click opens (a destructive action's confirmation, the
	// column choice) is checked open: axe-core skips hidden elements.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('details').forEach(d => { d.open = true; })`)); err != nil {
		t.Fatalf("%s: open the details: %v", page, err)
	}
	found, err := chromedp.Run(ctx, chromedp.Evaluate[axeResult](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: run axe-core: %v", page, err)
	}
	if found.Passed == 0 {
		t.Errorf("%s: axe-core passed no rule: the page was not checked", page)
	}
	for _, v := range found.Violations {
		if v.blocking() {
			t.Errorf("%s [%s]: %v", page, lang, v)
		} else {
			t.Logf("%s [%s], not blocking: %v", page, lang, v)
		}
	}
	if got := run(t, ctx, chromedp.Evaluate[string](`document.documentElement.lang`)); got != lang {
		t.Errorf("%s: <html lang=%q>, want %q", page, got, lang)
	}
}

// setAcceptLanguage makes the browser ask for lang, which the pages
// before a login speak.
func setAcceptLanguage(t *testing.T, ctx context.Context, lang string) {
	t.Helper()
	_, err := chromedp.Run(ctx, func(ctx context.Context, target *chromedp.Target) (cdp.Empty, error) {
		return cdp.Call(ctx, target, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": lang}})
	})
	if err != nil {
		t.Fatalf("set Accept-Language: %v", err)
	}
}

// browserLogin logs name in through the login form.
func browserLogin(t *testing.T, ctx context.Context, base, name string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.SendKeys(chromedp.ID("password"), "a long enough passphrase"),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.CSS("nav")),
	)
	if err != nil {
		t.Fatalf("%s logs in: %v", name, err)
	}
}

// TestBrowserAccessibility runs axe-core, the accessibility engine, in
// headless Chromium on every page of the console (as an administrator),
// of the portal (as a constituent) and of the pages before a login, in
// English, and on a few pages in Dutch, French and German; a serious or
// critical violation of a WCAG 2.1 A or AA rule on any of them fails.
func TestBrowserAccessibility(t *testing.T) {
	axe := axeSource(t)
	langs := []string{"en", "nl", "fr", "de"}
	st := openStore(t)
	org, ev := seedLanguageWalk(t, st, langs)
	ctx := context.Background()
	if err := st.AddChangeRequest(ctx, &constituency.ChangeRequest{OrgID: org.ID, Text: "Our abuse address is now abuse@ugent.example."}); err != nil {
		t.Fatal(err)
	}
	admin, err := st.GetUserByName(ctx, "admin-en")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := auth.NewAPIToken(ctx, st, admin.ID, "nightly export"); err != nil {
		t.Fatal(err)
	}
	deadLetters, err := st.ListDeadLetters(ctx, store.DeadLetterQuery{})
	if err != nil || len(deadLetters) == 0 {
		t.Fatalf("dead letters: %v, %v", deadLetters, err)
	}
	cc := consoleConfig(t, st, "test")
	cc.Feeds = &config.FeedManager{File: []config.Feed{config.DefaultInboxFeed()}, Store: st}
	h, err := New(Deps{Console: cc})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	eventURL := "/events/" + ev.Hash().String()
	orgURL := "/constituency/" + strconv.FormatInt(org.ID, 10)
	console := []string{"/", "/events", "/events?cidr=192.0.2.0/24", "/events?cidr=192.0.2.0/33",
		"/events?group=source.ip", eventURL, "/deadletters", "/deadletters/" + strconv.FormatInt(deadLetters[0].ID, 10),
		"/feeds", "/feeds/inbox", "/feeds/inbox/edit", "/feeds/new", "/users", "/users/throttles", "/audit", "/account",
		"/constituency", "/constituency?lookup=192.0.2.10", "/constituency?lookup=not+an+address", "/constituency/new",
		orgURL, orgURL + "/edit", orgURL + "/delete", orgURL + "/policy", "/constituency/import",
		"/constituency/requests", "/notifications", "/notifications/settings", "/notifications/policy",
		"/notifications/templates/nl/digest", "/notifications/identity", "/no-such-page"}
	portal := []string{"/portal/", "/portal/events/" + ev.Hash().String(), "/portal/notifications", "/portal/organisation",
		"/portal/products", "/portal/advisories",
		"/portal/incidents", "/portal/reports/new", "/events"} // a page for the team: the access-denied message
	// The other languages: the pages with most chrome.
	fewConsole := []string{"/", "/events?cidr=192.0.2.0/24", eventURL, orgURL, "/account"}
	fewPortal := []string{"/portal/", "/portal/organisation", "/portal/reports/new"}

	// Each walk has a browser of its own, as startChromium bounds a
	// browser's life to 90 seconds; long lists go in parts.
	for _, lang := range langs {
		consolePages, portalPages := fewConsole, fewPortal
		if lang == "en" {
			consolePages, portalPages = console, portal
		}
		t.Run(lang+"/login", func(t *testing.T) {
			tctx := startChromium(t, "about:blank")
			setAcceptLanguage(t, tctx, lang)
			// Before a login: the form, and the form after a wrong password.
			if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/login"), chromedp.WaitVisible(chromedp.ID("name"))); err != nil {
				t.Fatalf("login page: %v", err)
			}
			axeCheck(t, tctx, axe, "/login", lang)
			err := chromedp.Do(tctx,
				chromedp.SendKeys(chromedp.ID("name"), "admin-"+lang),
				chromedp.SendKeys(chromedp.ID("password"), "not the passphrase"),
				chromedp.Click(chromedp.ID("login")),
				chromedp.WaitVisible(chromedp.CSS(".problem")),
			)
			if err != nil {
				t.Fatalf("wrong password: %v", err)
			}
			axeCheck(t, tctx, axe, "/login (wrong password)", lang)
		})
		for _, who := range []struct {
			name  string
			pages []string
		}{{"admin-" + lang, consolePages}, {"member-" + lang, portalPages}} {
			for part := range slices.Chunk(who.pages, 10) {
				t.Run(who.name, func(t *testing.T) {
					tctx := startChromium(t, "about:blank")
					setAcceptLanguage(t, tctx, lang)
					browserLogin(t, tctx, srv.URL, who.name)
					for _, page := range part {
						if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+page), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
							t.Fatalf("%s %s: %v", lang, page, err)
						}
						axeCheck(t, tctx, axe, page, lang)
					}
				})
			}
		}
	}
	t.Run("en/states", func(t *testing.T) {
		tctx := startChromium(t, "about:blank")
		setAcceptLanguage(t, tctx, "en")
		browserLogin(t, tctx, srv.URL, "admin-en")
		axeCheckStates(t, tctx, axe, srv.URL)
	})
}

// TestBrowserAccessibilitySetup runs the accessibility pass on the page
// that creates the first administrator, which exists only while there is
// no account.
func TestBrowserAccessibilitySetup(t *testing.T) {
	axe := axeSource(t)
	st := openStore(t)
	token, err := auth.EnsureSetupToken(context.Background(), st)
	if err != nil || token == "" {
		t.Fatalf("setup token %q: %v", token, err)
	}
	srv := newServer(t, Deps{Console: consoleConfig(t, st, "test")})
	tctx := startChromium(t, "about:blank")
	setAcceptLanguage(t, tctx, "en")
	if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/setup?token="+token), chromedp.WaitVisible(chromedp.CSS("form"))); err != nil {
		t.Fatalf("setup page: %v", err)
	}
	axeCheck(t, tctx, axe, "/setup", "en")
}

// TestAxeFindsViolations shows that the pass can fail: a page with an
// unlabelled input, an image without a text alternative and grey text on
// white breaks rules axe-core rates serious or critical.
func TestAxeFindsViolations(t *testing.T) {
	axe := axeSource(t)
	page := `<!doctype html><html lang="en"><head><title>Bad</title></head><body><main><h1>Bad</h1>` +
		`<input name="q"><img src="x.png"><p style="color:#bbb">faint</p></main></body></html>`
	tctx := startChromium(t, "data:text/html;base64,"+base64.StdEncoding.EncodeToString([]byte(page)))
	if _, err := chromedp.Run(tctx, chromedp.Evaluate[chromedp.Void](axe)); err != nil {
		t.Fatal(err)
	}
	found, err := chromedp.Run(tctx, chromedp.Evaluate[axeResult](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]bool{}
	for _, v := range found.Violations {
		if v.blocking() {
			rules[v.ID] = true
		}
	}
	for _, want := range []string{"label", "image-alt", "color-contrast"} {
		if !rules[want] {
			out, _ := json.Marshal(found.Violations)
			t.Errorf("axe-core did not report %s as serious or critical on the broken page: %s", want, out)
		}
	}
}

// axeCheckStates runs the pass on the pages that show more after a form
// was sent, as the English administrator: a new API token, a second
// factor being set up (QR code and confirmation), the team's key once
// generated, and the plan and the problems of a constituency import.
func axeCheckStates(t *testing.T, ctx context.Context, axe, base string) {
	t.Helper()
	importFile := filepath.Join(t.TempDir(), "orgs.csv")
	csv := "handle,name,language,networks,contact_name,contact_email,contact_role,contact_notify\n" +
		"univ-gent,Univ Gent,nl,192.0.2.0/24,Abuse desk,abuse@ugent.example,abuse,yes\n" +
		"city-x,City X,fr,198.51.100.0/24,SOC,soc@city.example,abuse,yes\n"
	if err := os.WriteFile(importFile, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	badFile := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(badFile, []byte("handle,name,networks\nbad,Bad,not-a-network\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, state := range []struct {
		name    string
		actions []chromedp.Action[chromedp.Void]
	}{
		{"/account (new token)", []chromedp.Action[chromedp.Void]{chromedp.Navigate(base + "/account"),
			chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), "weekly report"),
			chromedp.Submit(chromedp.CSS(`input[name="name"]`)), chromedp.WaitVisible(chromedp.ID("new-token"))}},
		{"/account (TOTP enrolment)", []chromedp.Action[chromedp.Void]{chromedp.Navigate(base + "/account"),
			chromedp.Click(chromedp.ID("totp-enable")), chromedp.WaitVisible(chromedp.ID("totp-confirm"))}},
		{"/notifications/identity (key generated)", []chromedp.Action[chromedp.Void]{chromedp.Navigate(base + "/notifications/identity"),
			chromedp.SendKeys(chromedp.ID("key-name"), "Example CERT"), chromedp.SendKeys(chromedp.ID("key-email"), "cert@cert.example"),
			chromedp.Click(chromedp.ID("generate")), chromedp.WaitVisible(chromedp.ID("public-key"))}},
		{"/constituency/import (plan)", []chromedp.Action[chromedp.Void]{chromedp.Navigate(base + "/constituency/import"),
			chromedp.SetUploadFiles(chromedp.ID("file"), []string{importFile}),
			chromedp.Click(chromedp.ID("check")), chromedp.WaitVisible(chromedp.ID("apply-form"))}},
		{"/constituency/import (problems)", []chromedp.Action[chromedp.Void]{chromedp.Navigate(base + "/constituency/import"),
			chromedp.SetUploadFiles(chromedp.ID("file"), []string{badFile}),
			chromedp.Click(chromedp.ID("check")), chromedp.WaitVisible(chromedp.ID("import-problems"))}},
	} {
		if err := chromedp.Do(ctx, state.actions...); err != nil {
			t.Fatalf("%s: %v", state.name, err)
		}
		axeCheck(t, ctx, axe, state.name, "en")
	}
}

// focusedElement describes the element holding the keyboard focus: a
// short name for messages, whether the focus shows (an outline or a
// shadow), and whether it lies in the page's main region.
const focusedElement = `(() => {
  const e = document.activeElement;
  if (!e || e === document.body) return {tag: 'BODY'};
  const s = getComputedStyle(e);
  const name = e.id || e.getAttribute('href') || e.getAttribute('name') || e.textContent.trim();
  return {
    tag: e.tagName, name: name.slice(0, 60), className: e.className,
    shows: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none',
    inMain: !!e.closest('main'),
  };
})()`

// focused is what focusedElement returns.
type focused struct {
	Tag       string `json:"tag"`
	Name      string `json:"name"`
	ClassName string `json:"className"`
	Shows     bool   `json:"shows"`
	InMain    bool   `json:"inMain"`
}

// pressTab moves the focus to the next element, as a keyboard user does,
// and returns the element that has it then.
func pressTab(t *testing.T, ctx context.Context) focused {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
		t.Fatalf("press Tab: %v", err)
	}
	return run(t, ctx, chromedp.Evaluate[focused](focusedElement))
}

// tabThrough presses Tab through page until the focus leaves the
// document or comes back to where it started, failing for each element
// whose focus does not show. It returns how many elements it visited.
func tabThrough(t *testing.T, ctx context.Context, page string) int {
	t.Helper()
	var first string
	for n := 0; n < 300; n++ {
		f := pressTab(t, ctx)
		key := f.Tag + " " + f.Name
		if f.Tag == "BODY" || key == first {
			return n
		}
		if first == "" {
			first = key
		}
		if !f.Shows {
			t.Errorf("%s: the keyboard focus on <%s> %q (class %q) does not show", page, strings.ToLower(f.Tag), f.Name, f.ClassName)
		}
	}
	t.Fatalf("%s: 300 presses of Tab did not go round the page", page)
	return 0
}

// TestBrowserKeyboardFocus walks pages of the console with the Tab key:
// the first stop is a link that skips the navigation to the page's
// content, and every element that takes the focus shows it.
func TestBrowserKeyboardFocus(t *testing.T) {
	st := openStore(t)
	org, ev := seedLanguageWalk(t, st, []string{"en"})
	srv := newServer(t, Deps{Console: consoleConfig(t, st, "test")})
	tctx := startChromium(t, "about:blank")
	setAcceptLanguage(t, tctx, "en")

	if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/login"), chromedp.WaitVisible(chromedp.ID("name"))); err != nil {
		t.Fatalf("login page: %v", err)
	}
	// The name field has the focus already: Tab goes on to the password
	// and the button.
	if n := tabThrough(t, tctx, "/login"); n < 2 {
		t.Errorf("/login: Tab reached %d elements, want the password and the button", n)
	}
	browserLogin(t, tctx, srv.URL, "admin-en")
	for _, page := range []string{"/events?cidr=192.0.2.0/24", "/events/" + ev.Hash().String(),
		"/constituency/" + strconv.FormatInt(org.ID, 10), "/account", "/deadletters"} {
		if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+page), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
			t.Fatalf("%s: %v", page, err)
		}
		skip := pressTab(t, tctx)
		if skip.ClassName != "skip-link" || !skip.Shows {
			t.Errorf("%s: the first Tab stops on <%s> %q (class %q, shows %v), want the visible skip link", page, strings.ToLower(skip.Tag), skip.Name, skip.ClassName, skip.Shows)
		}
		if err := chromedp.Do(tctx, chromedp.KeyEvent(kb.Enter)); err != nil {
			t.Fatal(err)
		}
		if next := pressTab(t, tctx); !next.InMain {
			t.Errorf("%s: after the skip link, Tab goes to <%s> %q outside the content", page, strings.ToLower(next.Tag), next.Name)
		}
		if n := tabThrough(t, tctx, page); n < 5 {
			t.Errorf("%s: Tab reached only %d elements", page, n)
		}
	}

	// The check can fail: with the focus style taken away, the focus on
	// the page's elements no longer shows.
	// (A rule added through the style sheet's object model: the page's
	// Content-Security-Policy refuses a new <style> element.)
	const hide = `document.styleSheets[0].insertRule('*:focus, *:focus-visible { outline: none !important; box-shadow: none !important; }')`
	if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/account"), chromedp.WaitVisible(chromedp.CSS("h1")), chromedp.Evaluate[chromedp.Void](hide)); err != nil {
		t.Fatal(err)
	}
	if f := pressTab(t, tctx); f.Shows {
		t.Errorf("with the outline removed, the focus on <%s> %q still counts as shown", strings.ToLower(f.Tag), f.Name)
	}
}
