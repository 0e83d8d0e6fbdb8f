package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/chromedp/chromedp"
	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
	"github.com/mmcdole/gofeed"

	"github.com/vigil-cert/vigil/internal/demo"
	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/publication/channel"
)

// TestBrowserPublishingWalk is issue 13's "Done when" walk, end to end
// on `vigil serve --demo` with a social webhook and the newsletter
// configured: in headless Chromium the demo's publisher drafts an
// advisory from a CVE JSON 5 record she uploads, writes its Dutch and
// French texts and sends it to review; the demo login, a second person,
// approves and publishes it. Then it is looked for everywhere it must
// be: the public site in English, Dutch and French (over the demo's
// HTTPS), the RSS and Atom feeds, the CSAF provider (gocsaf's checker
// passes), the signed webhook, the next newsletter (a reader subscribes
// on the French form, confirms through the mailed link, and the digest
// made with the console's button reaches her with the advisory), and
// the one demo constituent that runs the affected product: its contact
// gets the signed and encrypted notification, no other organisation
// does, and its portal highlights the advisory.
//
// The demo catches every mail in its mailbox (a real SMTP server on
// 127.0.0.1 writing .eml files), as a user of the demo sees them: the
// walk reads them there.
func TestBrowserPublishingWalk(t *testing.T) {
	if _, err := os.Stat(walkChromium); err != nil {
		t.Fatalf("%s not found: install Debian's chromium to run the browser test: %v", walkChromium, err)
	}
	started := time.Now()
	bin := buildVigil(t)
	data := t.TempDir()
	hook := startWalkWebhook(t, []byte("walk webhook secret"))
	t.Setenv("VIGIL_WALK_WEBHOOK_SECRET", "walk webhook secret")
	port := freePort(t)
	console := "http://127.0.0.1:" + port
	cfg := filepath.Join(data, "vigil.yml")
	// No public_url: the links in the posts and the mails lead to the
	// demo's https site, the address serve found for the site itself.
	yml := fmt.Sprintf(`newsletter:
  enabled: true
  from: "Vigil Demo CERT <news@demo-cert.example>"
  poll: 1s
  digest:
    enabled: true
    auto_publish: true
social:
  poll: 1s
  webhooks:
    - name: bridge
      url: %[1]s
      secret: env:VIGIL_WALK_WEBHOOK_SECRET
`, hook.url)
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	startServeWith(t, bin, data, "--demo", "--config", cfg, "--listen", "127.0.0.1:"+port)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(data, "serve.log"))
			t.Logf("serve.log:\n%s", b[max(0, len(b)-6000):])
		}
	})
	var site string
	https := regexp.MustCompile(`Over HTTPS too \(self-signed certificate\): (https://127\.0\.0\.1:[0-9]+),`)
	waitFor(t, 2*time.Minute, func() bool {
		b, _ := os.ReadFile(filepath.Join(data, "serve.log"))
		if m := https.FindSubmatch(b); m != nil {
			site = string(m[1])
		}
		if bytes.Contains(b, []byte("vigil serve: ")) {
			t.Fatalf("vigil serve stopped:\n%s", b)
		}
		return site != ""
	})
	record := filepath.Join(t.TempDir(), "CVE-2026-55501.json")
	if err := os.WriteFile(record, []byte(walkCVERecord), 0o600); err != nil {
		t.Fatal(err)
	}
	w := &publishingWalk{console: console, site: site, mail: filepath.Join(data, "demo", "mail"), data: data, hook: hook,
		record: record, ctx: startWalkChromium(t, console+"/publications/new")}
	w.keys = w.keyRing(t)
	runWalk(t,
		walkStep{"draft from the CVE record", w.draft},
		walkStep{"approve and publish as a second user", w.publish},
		walkStep{"the site in three languages", w.siteLanguages},
		walkStep{"the feeds", w.feeds},
		walkStep{"the CSAF provider", w.csaf},
		walkStep{"the social webhook", w.webhook},
		walkStep{"the next newsletter", w.newsletter},
		walkStep{"the constituent running the product", w.constituent},
		walkStep{"the constituent's portal", w.portal},
	)
	t.Logf("the walk took %v", time.Since(started).Round(time.Second))
}

// The advisory's record names Apache HTTP Server before 2.4.64: the demo
// constituent (demo.ConstituentOrg) declares 2.4.62, and no other demo
// organisation declares anything.
const walkCVERecord = `{
  "dataType": "CVE_RECORD", "dataVersion": "5.1",
  "cveMetadata": {"cveId": "CVE-2026-55501", "assignerOrgId": "00000000-0000-4000-8000-000000000009",
    "assignerShortName": "apache", "state": "PUBLISHED", "datePublished": "2026-11-30T10:00:00.000Z"},
  "containers": {"cna": {
    "providerMetadata": {"orgId": "00000000-0000-4000-8000-000000000009", "shortName": "apache"},
    "title": "Request smuggling in Apache HTTP Server",
    "descriptions": [{"lang": "en", "value": "A crafted chunked request lets a remote attacker smuggle a second request past the proxy rules of Apache HTTP Server before 2.4.64."}],
    "affected": [{"vendor": "Apache", "product": "HTTP Server", "defaultStatus": "unaffected",
      "versions": [{"version": "2.4.0", "lessThan": "2.4.64", "status": "affected", "versionType": "semver"}]}],
    "problemTypes": [{"descriptions": [{"lang": "en", "description": "CWE-444 Inconsistent Interpretation of HTTP Requests", "cweId": "CWE-444", "type": "CWE"}]}],
    "references": [{"url": "https://httpd.apache.example/security/vulnerabilities_24.html", "name": "Apache HTTP Server 2.4 vulnerabilities"}],
    "metrics": [{"format": "CVSS", "cvssV3_1": {"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:L/A:N", "baseScore": 8.2, "baseSeverity": "HIGH"}}],
    "solutions": [{"lang": "en", "value": "Upgrade to 2.4.64."}]
  }}
}`

// walkTitles are the advisory's title in each language: English from
// the record, Dutch and French written in the editor.
var walkTitles = map[string]string{
	"en": "Request smuggling in Apache HTTP Server",
	"nl": "Verzoeksmokkel in Apache HTTP Server",
	"fr": "Dissimulation de requêtes dans Apache HTTP Server",
}

var walkSummaries = map[string]string{
	"nl": "Een aanvaller smokkelt een tweede verzoek langs de proxyregels. Werk bij naar 2.4.64.",
	"fr": "Un attaquant fait passer une deuxième requête au-delà des règles du proxy. Passez à la 2.4.64.",
}

// publishingWalk is what the walk's steps share.
type publishingWalk struct {
	console, site string // the console (plain HTTP) and the demo's HTTPS site, where the links lead
	mail          string // the demo's mailbox directory
	data          string
	hook          *walkWebhook
	record        string             // the CVE record's file
	keys          openpgp.EntityList // what opens the demo's mail (keyRing)
	ctx           context.Context
	ident         string // the advisory's, once drafted
	pubURL        string // its console page
}

func (w *publishingWalk) draft(t *testing.T) {
	logInWalk(t, w.ctx, demo.Publisher, "publication-new-form")
	walkScreenshot(t, w.ctx, "walk-new")
	// The form offers AMBER first; the publisher chooses CLEAR for an
	// advisory meant for everyone, and the draft takes it.
	if err := chromedp.Do(w.ctx,
		chromedp.SetValue(chromedp.CSS("#new-tlp"), "CLEAR"),
		chromedp.SetUploadFiles(chromedp.CSS("#new-cve"), []string{w.record}),
		chromedp.Click(chromedp.CSS("#new-submit")),
		chromedp.WaitVisible(chromedp.CSS("#publication-editor")),
	); err != nil {
		t.Fatalf("upload the CVE record: %v", err)
	}
	w.ident = walkRun(t, w.ctx, chromedp.Text(chromedp.CSS("#publication-heading .mono")))
	w.pubURL = walkRun(t, w.ctx, chromedp.Location())
	if !strings.HasPrefix(w.ident, "VIGIL-") {
		t.Fatalf("the draft's ident %q", w.ident)
	}
	if got := walkRun(t, w.ctx, chromedp.Value(chromedp.CSS("#en-title"))); got != walkTitles["en"] {
		t.Errorf("the English title from the record is %q", got)
	}
	if got := walkRun(t, w.ctx, chromedp.Value(chromedp.CSS("#p-product-0"))); got != "HTTP Server" {
		t.Errorf("the product from the record is %q", got)
	}
	if got := walkRun(t, w.ctx, chromedp.Value(chromedp.CSS("#field-tlp"))); got != "CLEAR" {
		t.Errorf("the draft's TLP is %q, want CLEAR", got)
	}
	for _, lang := range []string{"nl", "fr"} {
		if err := chromedp.Do(w.ctx,
			chromedp.SendKeys(chromedp.CSS("#"+lang+"-title"), walkTitles[lang]),
			chromedp.SendKeys(chromedp.CSS("#"+lang+"-summary"), walkSummaries[lang]),
			chromedp.SendKeys(chromedp.CSS("#"+lang+"-body"), walkSummaries[lang]),
		); err != nil {
			t.Fatalf("write the %s text: %v", lang, err)
		}
	}
	if err := chromedp.Do(w.ctx, chromedp.Click(chromedp.CSS("#save"))); err != nil {
		t.Fatal(err)
	}
	waitWalkText(t, w.ctx, "#preview-fr h3", walkTitles["fr"])
	waitWalkText(t, w.ctx, "#preview-nl h3", walkTitles["nl"])
	walkScreenshot(t, w.ctx, "walk-editor")
	if err := chromedp.Do(w.ctx, chromedp.Click(chromedp.CSS("#action-submit"))); err != nil {
		t.Fatal(err)
	}
	waitWalkText(t, w.ctx, "#publication-status", "In review")
	if n := walkRun(t, w.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#action-approve').length`)); n != 0 {
		t.Errorf("the author is offered to approve her own advisory")
	}
}

func (w *publishingWalk) publish(t *testing.T) {
	if w.ident == "" {
		t.Fatal("no draft")
	}
	logOutWalk(t, w.ctx)
	if err := chromedp.Do(w.ctx, chromedp.Navigate(w.pubURL)); err != nil {
		t.Fatal(err)
	}
	logInWalk(t, w.ctx, demo.User, "action-approve")
	if err := chromedp.Do(w.ctx, chromedp.Click(chromedp.CSS("#action-approve"))); err != nil {
		t.Fatal(err)
	}
	waitWalkText(t, w.ctx, "#publication-status", "Approved")
	if err := chromedp.Do(w.ctx, chromedp.Click(chromedp.CSS("#action-publish"))); err != nil {
		t.Fatal(err)
	}
	waitWalkText(t, w.ctx, "#publication-status", "Published")
	walkScreenshot(t, w.ctx, "walk-published")
}

func (w *publishingWalk) siteLanguages(t *testing.T) {
	for _, lang := range []string{"en", "nl", "fr"} {
		if err := chromedp.Do(w.ctx, chromedp.Navigate(w.site+"/"+lang+"/p/"+w.ident)); err != nil {
			t.Fatal(err)
		}
		waitWalkText(t, w.ctx, "article.publication h1", walkTitles[lang])
		if got := walkRun(t, w.ctx, chromedp.Evaluate[string](`document.documentElement.lang`)); got != lang {
			t.Errorf("/%s/p/%s is in %q", lang, w.ident, got)
		}
		if fallback := walkRun(t, w.ctx, chromedp.Evaluate[int](`document.querySelectorAll('article.publication .note').length`)); fallback != 0 {
			t.Errorf("/%s/p/%s falls back to another language", lang, w.ident)
		}
		walkScreenshot(t, w.ctx, "walk-site-"+lang)
	}
}

func (w *publishingWalk) feeds(t *testing.T) {
	client := walkHTTPS()
	for _, lang := range []string{"en", "nl", "fr"} {
		for _, kind := range []string{"rss", "atom"} {
			u := w.site + "/" + lang + "/feed." + kind
			var found *gofeed.Item
			waitFor(t, 30*time.Second, func() bool {
				resp, err := client.Get(u)
				if err != nil {
					return false
				}
				defer resp.Body.Close()
				feed, err := gofeed.NewParser().Parse(resp.Body)
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Logf("%s: %s, %v", u, resp.Status, err)
					return false
				}
				if feed.FeedType != kind {
					t.Errorf("%s is %s", u, feed.FeedType)
				}
				for _, it := range feed.Items {
					if strings.Contains(it.Link, "/p/"+w.ident) {
						found = it
					}
				}
				return found != nil
			})
			if found.Title != walkTitles[lang] && !strings.Contains(found.Title, walkTitles[lang]) {
				t.Errorf("%s: the item's title is %q, want %q", u, found.Title, walkTitles[lang])
			}
		}
	}
}

func (w *publishingWalk) csaf(t *testing.T) {
	client := walkHTTPS()
	// The site's page names the advisory's CSAF document, at the
	// standard's path for a TLP:CLEAR advisory of this year.
	if err := chromedp.Do(w.ctx, chromedp.Navigate(w.site+"/en/p/"+w.ident)); err != nil {
		t.Fatal(err)
	}
	href := walkRun(t, w.ctx, chromedp.Evaluate[string](`(document.querySelector('ul.alt a[type="application/json"]') || {}).href || ""`))
	year := time.Now().UTC().Format("2006")
	file := strings.ToLower(w.ident) + ".json"
	if want := w.site + "/.well-known/csaf/white/" + year + "/" + file; href != want {
		t.Fatalf("the page's CSAF link is %q, want %q", href, want)
	}
	var doc struct {
		Document struct {
			Category string `json:"category"`
			Title    string `json:"title"`
			Tracking struct {
				ID string `json:"id"`
			} `json:"tracking"`
		} `json:"document"`
		Vulnerabilities []struct {
			CVE string `json:"cve"`
		} `json:"vulnerabilities"`
	}
	body := walkGet(t, client, href)
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("%s: %v", href, err)
	}
	if doc.Document.Tracking.ID != w.ident || doc.Document.Category != "csaf_security_advisory" ||
		len(doc.Vulnerabilities) != 1 || doc.Vulnerabilities[0].CVE != "CVE-2026-55501" {
		t.Errorf("the CSAF document: %+v", doc)
	}
	for _, list := range []string{"index.txt", "changes.csv"} {
		if text := string(walkGet(t, client, w.site+"/.well-known/csaf/white/"+list)); !strings.Contains(text, year+"/"+file) {
			t.Errorf("white/%s does not list %s:\n%s", list, file, text)
		}
	}
	checkDemoCSAF(t, w.site)
}

func (w *publishingWalk) webhook(t *testing.T) {
	var got map[string]channel.WebhookPayload
	waitFor(t, 30*time.Second, func() bool {
		got = w.hook.posts(w.ident)
		return len(got) == 3
	})
	for _, lang := range []string{"en", "nl", "fr"} {
		p := got[lang]
		want := w.site + "/" + lang + "/p/" + w.ident
		if p.Title != walkTitles[lang] || p.URL != want || !slices.Equal(p.CVEs, []string{"CVE-2026-55501"}) || p.Kind != "advisory" {
			t.Errorf("the %s post: %+v; want the title %q and the link %q", lang, p, walkTitles[lang], want)
		}
		// The link works: it is the advisory's page.
		if body := string(walkGet(t, walkHTTPS(), p.URL)); !strings.Contains(body, ">"+htmlText(walkTitles[lang])+"</h1>") {
			t.Errorf("%s does not show the advisory", p.URL)
		}
	}
	if bad := w.hook.unsigned(); bad > 0 {
		t.Errorf("%d webhook requests failed the signature check", bad)
	}
}

func (w *publishingWalk) newsletter(t *testing.T) {
	const reader = "lectrice@example.org"
	if err := chromedp.Do(w.ctx,
		chromedp.Navigate(w.console+"/newsletter/fr"),
		chromedp.WaitVisible(chromedp.CSS("#address")),
		chromedp.SendKeys(chromedp.CSS("#address"), reader),
		chromedp.Click(chromedp.CSS("#subscribe")),
		chromedp.WaitVisible(chromedp.CSS("#result")),
	); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	var confirm string
	waitFor(t, 60*time.Second, func() bool {
		mails, _ := w.mailsTo(reader)
		for _, m := range mails {
			if l := newsletterConfirmLink.FindString(m.html); l != "" {
				confirm = strings.ReplaceAll(l, "&amp;", "&")
			}
		}
		return confirm != ""
	})
	if !strings.HasPrefix(confirm, w.site+"/newsletter/confirm?") {
		t.Errorf("the confirmation link %q is not on the public address", confirm)
	}
	if err := chromedp.Do(w.ctx, chromedp.Navigate(confirm), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatal(err)
	}
	// The link may lead to the result, or to a page whose button
	// confirms: the reader clicks what the page offers.
	if n := walkRun(t, w.ctx, chromedp.Evaluate[int](`document.querySelectorAll('main form button[type=submit], main form button:not([type])').length`)); n > 0 && walkRun(t, w.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#result').length`)) == 0 {
		if err := chromedp.Do(w.ctx, chromedp.Click(chromedp.CSS("main form button"))); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(w.ctx, chromedp.WaitVisible(chromedp.CSS("#result"))); err != nil {
		t.Fatal(err)
	}
	if bad := walkRun(t, w.ctx, chromedp.Evaluate[bool](`document.querySelector('#result').classList.contains('problem')`)); bad {
		t.Fatalf("the confirmation link failed: %s", walkRun(t, w.ctx, chromedp.Text(chromedp.CSS("#result"))))
	}
	walkScreenshot(t, w.ctx, "walk-newsletter-confirmed")

	// The team makes the week's digest now (the demo login is still
	// logged in): with auto_publish it is published and mailed.
	if err := chromedp.Do(w.ctx, chromedp.Navigate(w.console+"/publications"), chromedp.Click(chromedp.CSS("#digest-now")),
		chromedp.WaitVisible(chromedp.CSS("#publication-editor"))); err != nil {
		t.Fatalf("make the digest: %v", err)
	}
	waitWalkText(t, w.ctx, "#publication-status", "Published")
	digest := walkRun(t, w.ctx, chromedp.Text(chromedp.CSS("#publication-heading .mono")))
	walkScreenshot(t, w.ctx, "walk-digest")
	var issue *walkMail
	waitFor(t, 60*time.Second, func() bool {
		mails, _ := w.mailsTo(reader)
		for _, m := range mails {
			if strings.Contains(m.text, w.ident) {
				issue = &m
			}
		}
		return issue != nil
	})
	if !strings.Contains(issue.text, walkTitles["fr"]) {
		t.Errorf("the digest %s lacks the advisory's French title:\n%s", digest, issue.text)
	}
	if issue.header.Get("List-Unsubscribe") == "" || !strings.Contains(issue.header.Get("List-Unsubscribe"), w.site+"/newsletter/unsubscribe?") {
		t.Errorf("the digest's List-Unsubscribe %q is not on the site", issue.header.Get("List-Unsubscribe"))
	}
	// The digest's item links to the advisory's page on the site.
	if want := w.site + "/fr/p/" + w.ident; !strings.Contains(issue.text, want) {
		t.Errorf("the digest lacks the link %s:\n%s", want, issue.text)
	}
}

var newsletterConfirmLink = regexp.MustCompile(`https?://[^"\s<>]+/newsletter/confirm\?[^"\s<>]+`)

func (w *publishingWalk) constituent(t *testing.T) {
	const contact = "csirt@univ-a.example"
	var letter *walkMail
	waitFor(t, 60*time.Second, func() bool {
		mails, _ := w.mailsTo(contact)
		for _, m := range mails {
			if m.encrypted && strings.Contains(m.text, w.ident) {
				letter = &m
			}
		}
		return letter != nil
	})
	if !letter.signed {
		t.Errorf("the notification is not signed by the team's key")
	}
	// The organisation's language is French.
	for _, want := range []string{walkTitles["fr"], "2.4.62", "CVE-2026-55501"} {
		if !strings.Contains(letter.text, want) {
			t.Errorf("the notification lacks %q:\n%s", want, letter.text)
		}
	}
	// No other demo organisation was told: the channel's reply on the
	// advisory's page says so, and their mail holds nothing of it.
	if err := chromedp.Do(w.ctx, chromedp.Navigate(w.pubURL)); err != nil {
		t.Fatal(err)
	}
	waitWalkText(t, w.ctx, "#deliveries", "Organisations told: 1 (told before: 0).")
	others := map[string]bool{}
	for _, org := range demo.Organisations() {
		if org.Handle == demo.ConstituentOrg {
			continue
		}
		for _, c := range org.Contacts {
			others[c.Email] = true
		}
	}
	for addr := range others {
		var mails []walkMail
		var problems []error
		waitFor(t, 10*time.Second, func() bool {
			mails, problems = w.mailsTo(addr)
			return len(problems) == 0
		})
		for _, m := range mails {
			if strings.Contains(m.text, w.ident) || strings.Contains(m.text, "CVE-2026-55501") {
				t.Errorf("%s was told of the advisory:\n%s", addr, m.text)
			}
		}
		t.Logf("%s: %d mails, none of the advisory", addr, len(mails))
	}
}

func (w *publishingWalk) portal(t *testing.T) {
	logOutWalk(t, w.ctx)
	if err := chromedp.Do(w.ctx, chromedp.Navigate(w.console+"/portal/advisories")); err != nil {
		t.Fatal(err)
	}
	logInWalk(t, w.ctx, demo.ConstituentUser, "concerning")
	walkScreenshot(t, w.ctx, "walk-portal")
	if text := walkRun(t, w.ctx, chromedp.Text(chromedp.CSS("#concerning"))); !strings.Contains(text, w.ident) || !strings.Contains(text, walkTitles["fr"]) {
		t.Errorf("the portal's highlighted advisories lack %s:\n%s", w.ident, text)
	}
	if others := walkRun(t, w.ctx, chromedp.Evaluate[string](`(document.querySelector('#others') || {}).textContent || ""`)); strings.Contains(others, w.ident) {
		t.Errorf("%s is also among the advisories that do not concern the constituent", w.ident)
	}
}

// keyRing holds what reads the demo's mail: the private key of Demo
// University A's contact, kept by the demo, and the team's public key.
func (w *publishingWalk) keyRing(t *testing.T) openpgp.EntityList {
	t.Helper()
	f, err := os.Open(filepath.Join(w.data, "demo", "keys", "csirt@univ-a.example.asc"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys, err := openpgp.ReadArmoredKeyRing(f)
	if err != nil {
		t.Fatal(err)
	}
	// The team's public key, as the CSAF provider publishes it (the
	// database keeps it sealed).
	var meta struct {
		Keys []struct {
			URL string `json:"url"`
		} `json:"public_openpgp_keys"`
	}
	if err := json.Unmarshal(walkGet(t, walkHTTPS(), w.site+"/.well-known/csaf/provider-metadata.json"), &meta); err != nil || len(meta.Keys) == 0 {
		t.Fatalf("the provider's public keys: %+v, %v", meta, err)
	}
	public, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(walkGet(t, walkHTTPS(), meta.Keys[0].URL)))
	if err != nil {
		t.Fatal(err)
	}
	return append(keys, public...)
}

// walkMail is one mail of the demo's mailbox, opened.
type walkMail struct {
	header            gomail.Header
	text, html        string // the decoded parts, the subject first in text
	encrypted, signed bool
}

var envelopeTo = regexp.MustCompile(`(?m)^X-Demo-Envelope-To: (\S+)\r?$`)

// mailsTo returns the mails the demo's mailbox holds for addr, opened
// with the walk's keys when they are PGP/MIME, and the problems of those
// it could not open: the mailbox may be writing one now, so a caller
// that polls asks again.
func (w *publishingWalk) mailsTo(addr string) ([]walkMail, []error) {
	files, _ := filepath.Glob(filepath.Join(w.mail, "*.eml"))
	var out []walkMail
	var problems []error
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		to := false
		for _, m := range envelopeTo.FindAllSubmatch(raw, -1) {
			to = to || strings.EqualFold(string(m[1]), addr)
		}
		if !to {
			continue
		}
		m, err := openWalkMail(raw, w.keys)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", filepath.Base(f), err))
			continue
		}
		out = append(out, m)
	}
	return out, problems
}

func openWalkMail(raw []byte, keys openpgp.EntityList) (walkMail, error) {
	var m walkMail
	outer, err := message.Read(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) {
		return m, err
	}
	m.header = gomail.Header{Header: outer.Header}
	content := raw
	opened, err := pgpmime.Open(raw, keys)
	switch {
	case errors.Is(err, pgpmime.ErrNotPGPMIME):
	case err != nil:
		return m, fmt.Errorf("open the PGP/MIME mail: %w", err)
	default:
		content, m.encrypted, m.signed = opened.Content, opened.Encrypted, opened.Signed
	}
	e, err := message.Read(bytes.NewReader(content))
	if err != nil && !message.IsUnknownCharset(err) {
		return m, err
	}
	var text, html strings.Builder
	inner := gomail.Header{Header: e.Header}
	subject, _ := inner.Subject()
	text.WriteString(subject + "\n")
	err = e.Walk(func(_ []int, part *message.Entity, err error) error {
		if err != nil {
			return err
		}
		ct, _, _ := part.Header.ContentType()
		if !strings.HasPrefix(ct, "text/") {
			return nil
		}
		b, err := io.ReadAll(part.Body)
		if err != nil {
			return err
		}
		if ct == "text/html" {
			html.Write(b)
		} else {
			text.Write(b)
		}
		return nil
	})
	m.text, m.html = text.String(), html.String()
	return m, err
}

// walkWebhook is the social webhook's receiver: it keeps the posts whose
// signature verifies, and counts the others.
type walkWebhook struct {
	url    string
	secret []byte
	mu     sync.Mutex
	got    []channel.WebhookPayload
	bad    int
}

func startWalkWebhook(t *testing.T, secret []byte) *walkWebhook {
	h := &walkWebhook{secret: secret}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		var p channel.WebhookPayload
		if err := channel.Verify(h.secret, r.Header, body, time.Now(), 5*time.Minute); err != nil || json.Unmarshal(body, &p) != nil {
			h.bad++
			http.Error(rw, "bad signature", http.StatusUnauthorized)
			return
		}
		h.got = append(h.got, p)
		rw.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	h.url = srv.URL + "/hook"
	return h
}

// posts returns the verified posts of ident, by language.
func (h *walkWebhook) posts(ident string) map[string]channel.WebhookPayload {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]channel.WebhookPayload{}
	for _, p := range h.got {
		if p.Ident == ident {
			out[p.Lang] = p
		}
	}
	return out
}

func (h *walkWebhook) unsigned() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.bad
}

// walkStep is one named step of the walk.
type walkStep struct {
	name string
	run  func(t *testing.T)
}

// runWalk runs the steps in order, each as a subtest starting where the
// one before left the browser: a step that stops (t.Fatal) ends the
// walk, one that only reports an error lets the next one run.
func runWalk(t *testing.T, steps ...walkStep) {
	t.Helper()
	for _, s := range steps {
		finished := false
		t.Run(s.name, func(t *testing.T) {
			s.run(t)
			finished = true
		})
		if !finished {
			return
		}
	}
}

const walkChromium = "/usr/bin/chromium"

// startWalkChromium starts headless Chromium on url; it accepts the
// demo's self-signed certificate, as a reader who was told of it would.
func startWalkChromium(t *testing.T, url string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(walkChromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.IgnoreCertErrors,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 1000))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	// The first Run starts the browser and must not carry a deadline.
	if err := chromedp.Do(bctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	tctx, cancel := context.WithTimeout(bctx, 5*time.Minute)
	t.Cleanup(cancel)
	return tctx
}

func walkRun[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// logInWalk fills in the login form the browser shows and waits for the
// element with the id ready on the page it leads to.
func logInWalk(t *testing.T, ctx context.Context, name, ready string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), name),
		chromedp.SendKeys(chromedp.CSS("#password"), demo.Password),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#"+ready)),
	); err != nil {
		t.Fatalf("log in as %s: %v", name, err)
	}
}

// logOutWalk clicks the console's log-out button.
func logOutWalk(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(strings.TrimSuffix(walkRun(t, ctx, chromedp.Location()), "/")),
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#name"))); err != nil {
		t.Fatalf("log out: %v", err)
	}
}

// waitWalkText waits until the element sel holds want.
func waitWalkText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))); err == nil && n > 0 {
			if text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel))); err == nil {
				if last = text; strings.Contains(text, want) {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never held %q; last %q", sel, want, last)
		}
	}
}

// walkScreenshot saves a full-page PNG in the test's directory and, when
// VIGIL_SCREENSHOTS names a directory, there too.
func walkScreenshot(t *testing.T, ctx context.Context, name string) {
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
		if err := os.WriteFile(filepath.Join(d, name+".png"), png, 0o644); err != nil {
			t.Errorf("save screenshot: %v", err)
		}
	}
}

// walkHTTPS is a client of the demo's HTTPS, whose certificate is
// self-signed.
func walkHTTPS() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
}

func walkGet(t *testing.T, client *http.Client, u string) []byte {
	t.Helper()
	resp, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", u, resp.Status, err)
	}
	return b
}

// htmlText is s as html/template writes it in text.
func htmlText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `'`, "&#39;", `"`, "&#34;").Replace(s)
}

// freePort returns a port of 127.0.0.1 free now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// sharedChecker is gocsaf's checker (from the module cache, the
// version go.mod names), built once for the test binary: the demo's test
// and the walk both run it, and building it is slow.
var sharedChecker = &sharedBuild{name: "csaf_checker", pkg: "github.com/gocsaf/csaf/v3/cmd/csaf_checker"}

// csafCheckerBinary builds the checker on first use and returns its path.
func csafCheckerBinary(t *testing.T) string {
	return sharedChecker.path(t)
}

// removeSharedBuilds removes what the tests built once for all of them;
// TestMain calls it at the end.
func removeSharedBuilds() {
	sharedChecker.remove()
	sharedVigil.remove()
}
