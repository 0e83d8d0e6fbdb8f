package web

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/taxonomy"
)

// chromeText is the text of a page's chrome: the text nodes and the
// visible attributes (placeholder, title, aria-label, alt, a button's
// value) of the page without the elements that hold data (table cells,
// definitions, preformatted input, select options, monospaced values, the
// signed-in user's name). The document's title counts too.
const chromeText = `(() => {
  const root = document.body.cloneNode(true);
  root.querySelectorAll('td, dd, pre, option, datalist, textarea, select, code, .mono, .who a, footer').forEach(e => e.remove());
  const parts = [document.title];
  const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) parts.push(walk.currentNode.nodeValue);
  root.querySelectorAll('*').forEach(e => {
    for (const a of ['placeholder', 'title', 'aria-label', 'alt']) {
      if (e.hasAttribute(a)) parts.push(e.getAttribute(a));
    }
    if (e.tagName === 'INPUT' && ['submit', 'button', 'reset'].includes(e.type)) parts.push(e.value);
  });
  return parts.join(' \n ');
})()`

// wordsOf returns the lower-cased words of text of three letters or more:
// shorter ones ("de", "in", "of") are words of several languages.
func wordsOf(text string) []string {
	var words []string
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) }) {
		if len([]rune(w)) >= 3 {
			words = append(words, strings.ToLower(w))
		}
	}
	return words
}

// catalogueWords returns the set of words of every message of lang.
func catalogueWords(cat *i18n.Catalog, lang string) map[string]bool {
	set := map[string]bool{}
	for _, id := range cat.IDs(lang) {
		for _, w := range wordsOf(cat.Text(lang, id)) {
			set[w] = true
		}
	}
	return set
}

// translatedWords returns the words lang's messages use where the
// English message does not (so that English copied into a message does
// not count as lang's), and the words lang shares with English.
func translatedWords(cat *i18n.Catalog, lang string) map[string]bool {
	set := map[string]bool{}
	for _, id := range cat.IDs(lang) {
		english := wordsOf(cat.Text(i18n.Source, id))
		for _, w := range wordsOf(cat.Text(lang, id)) {
			if !slices.Contains(english, w) {
				set[w] = true
			}
		}
	}
	for _, w := range i18n.SharedWithEnglish(lang) {
		set[w] = true
	}
	return set
}

// untranslated returns the words of text that are English catalogue
// words but not lang's own (translatedWords): English left on a page in
// lang. Words the two languages share ("organisation" in French, "feed"
// in Dutch) are lang's too and so never suspect. The data values
// are taken out of text first: RSIT's taxonomy and type names, which are
// identifiers the same in every language, and the test's feed names.
func untranslated(text string, english, own map[string]bool, data []string) []string {
	var kept []string
	for _, token := range strings.FieldsFunc(text, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-'
	}) {
		if !slices.Contains(data, token) {
			kept = append(kept, token)
		}
	}
	text = strings.Join(kept, " ")
	var found []string
	for _, w := range wordsOf(text) {
		if english[w] && !own[w] && !slices.Contains(found, w) {
			found = append(found, w)
		}
	}
	return found
}

// seedLanguageWalk stores an organisation, an administrator and a
// constituent for each of langs (speaking it), an event of the
// organisation, a dead letter and a feed's counters, so that the pages
// show their tables and not only their empty states.
func seedLanguageWalk(t *testing.T, st *database.DB, langs []string) (*constituency.Organisation, *event.Event) {
	t.Helper()
	ctx := context.Background()
	org := &constituency.Organisation{Handle: "univ-gent", Name: "Univ Gent", Language: "nl",
		Networks: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, Domains: []string{"ugent.example"}}
	if err := st.CreateOrganisation(ctx, org); err != nil {
		t.Fatal(err)
	}
	for _, lang := range langs {
		admin := addUser(t, st, "admin-"+lang, auth.RoleAdmin, "a long enough passphrase")
		admin.Language = lang
		if err := st.UpdateUser(ctx, admin); err != nil {
			t.Fatal(err)
		}
		member := addUser(t, st, "member-"+lang, auth.RoleConstituent, "a long enough passphrase")
		member.Language, member.OrgID = lang, org.ID
		if err := st.UpdateUser(ctx, member); err != nil {
			t.Fatal(err)
		}
	}
	ev := testEvent(t, "192.0.2.10,3389", "time.source", "2025-03-01T10:00:00Z", "feed.name", "scan-rdp",
		"classification.taxonomy", "vulnerable", "classification.type", "vulnerable-system",
		"source.ip", "192.0.2.10", "source.port", "3389", "source.asn", "64496")
	ev.SetTrusted(store.ConstituencyField, `["univ-gent"]`)
	if _, err := st.InsertEvents(ctx, []*event.Event{ev}, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.AddDeadLetters(ctx, []store.DeadLetter{{Feed: "scan-rdp", Parser: "csv", Input: []byte("x,y"), Error: "column 1: x", Time: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddFeedCounters(ctx, store.FeedKey{Feed: "scan-rdp"}, store.FeedCounters{LinesRead: 2, EventsOut: 1, DeadLetters: 1}, time.Now(), time.Now().Add(-time.Hour), "", i18n.Message{}); err != nil {
		t.Fatal(err)
	}
	return org, ev
}

// TestBrowserEveryLanguage walks the console as an administrator and the
// portal as a constituent in Dutch, French and German in headless
// Chromium, and fails when the chrome of a page (headings, labels,
// buttons, table headers, navigation, hints, placeholders) holds an
// English word that the page's language does not use.
func TestBrowserEveryLanguage(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	langs := []string{"nl", "fr", "de"}
	st := openStore(t)
	org, ev := seedLanguageWalk(t, st, langs)
	cc := consoleConfig(t, st, "test")
	cc.Feeds = &config.FeedManager{File: []config.Feed{config.DefaultInboxFeed()}, Store: st}
	h, err := New(Deps{Console: cc})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	english := catalogueWords(cat, "en")
	// YAML names the format feed options are written in.
	data := append(append([]string{"scan-rdp", "inbox", "YAML"}, taxonomy.Names()...), taxonomy.Types()...)
	eventURL := "/events/" + ev.Hash().String()
	orgURL := "/constituency/" + strconv.FormatInt(org.ID, 10)
	console := []string{"/", "/events", eventURL, "/deadletters", "/feeds", "/feeds/inbox", "/feeds/new", "/users", "/audit", "/account",
		"/constituency", "/constituency/new", orgURL, orgURL + "/delete", orgURL + "/policy", "/constituency/import",
		"/constituency/requests", "/notifications", "/notifications/settings", "/notifications/policy",
		"/notifications/templates/nl/digest", "/notifications/identity", "/no-such-page"}
	portal := []string{"/portal/", "/portal/events/" + ev.Hash().String(), "/portal/notifications", "/portal/organisation",
		"/portal/products", "/portal/advisories",
		"/events"} // a page for the team: the access-denied message

	// The pages worth looking at in each language.
	shots := map[string]string{"/": "home", "/events": "events", eventURL: "event", "/feeds": "feeds",
		"/portal/": "portal", "/portal/organisation": "organisation"}
	tctx := startChromium(t, "about:blank")
	for _, lang := range langs {
		own := translatedWords(cat, lang)
		check := func(page string) {
			t.Helper()
			text := run(t, tctx, chromedp.Evaluate[string](chromeText))
			if words := untranslated(text, english, own, data); len(words) > 0 {
				t.Errorf("%s %s: English words %q in %q", lang, page, words, strings.Join(strings.Fields(text), " "))
			}
		}
		// The login page speaks the browser's language.
		_, err := chromedp.Run(tctx, func(ctx context.Context, target *chromedp.Target) (cdp.Empty, error) {
			return cdp.Call(ctx, target, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": lang}})
		})
		if err != nil {
			t.Fatalf("set Accept-Language: %v", err)
		}
		for _, who := range []struct {
			name  string
			pages []string
		}{{"admin-" + lang, console}, {"member-" + lang, portal}} {
			if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/login"), chromedp.WaitVisible(chromedp.ID("name"))); err != nil {
				t.Fatalf("login page: %v", err)
			}
			check("/login")
			err := chromedp.Do(tctx,
				chromedp.SendKeys(chromedp.ID("name"), who.name),
				chromedp.SendKeys(chromedp.ID("password"), "a long enough passphrase"),
				chromedp.Click(chromedp.ID("login")),
				chromedp.WaitVisible(chromedp.CSS("nav")),
			)
			if err != nil {
				t.Fatalf("%s logs in: %v", who.name, err)
			}
			for _, page := range who.pages {
				if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+page), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
					t.Fatalf("%s %s: %v", lang, page, err)
				}
				check(page)
				if name := shots[page]; name != "" {
					screenshot(t, tctx, "language-"+who.name+"-"+name)
				}
			}
			if err := chromedp.Do(tctx, chromedp.Click(chromedp.CSS(".who button")), chromedp.WaitVisible(chromedp.ID("name"))); err != nil {
				t.Fatalf("%s logs out: %v", who.name, err)
			}
		}
	}

	// The check can fail: the English rendering of the login page is
	// nothing but suspects for a Dutch reader.
	if _, err := chromedp.Run(tctx, func(ctx context.Context, target *chromedp.Target) (cdp.Empty, error) {
		return cdp.Call(ctx, target, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": "en"}})
	}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/login"), chromedp.WaitVisible(chromedp.ID("name"))); err != nil {
		t.Fatal(err)
	}
	text := run(t, tctx, chromedp.Evaluate[string](chromeText))
	if words := untranslated(text, english, translatedWords(cat, "nl"), data); len(words) < 3 {
		t.Errorf("the English login page shows only %q as untranslated Dutch: the check is blind (page %q)", words, text)
	}
}
