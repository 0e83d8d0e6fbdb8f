package console

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/publication"
)

// newPublicationEnv is the case pages' environment (an analyst, a
// second analyst, a publisher and a constituent) with the publication
// pages on the test's database.
func newPublicationEnv(t *testing.T) *caseEnv {
	t.Helper()
	env := newCaseEnv(t)
	env.console.publications = PublicationPages{Service: &publication.Service{Store: env.store.Publications, Audit: env.store}}
	return env
}

// insertRDP stores three events of one type from two addresses over two
// days.
func (e *caseEnv) insertRDP() {
	day := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	e.insert(makeEvent(e.t, "rdp", "192.0.2.1", day), makeEvent(e.t, "rdp", "192.0.2.2", day.Add(time.Hour)),
		makeEvent(e.t, "rdp", "192.0.2.2", day.Add(30*time.Hour)))
}

var pubIDPath = regexp.MustCompile(`^/publications/(\d+)`)

// createDraft creates a draft through the form and returns its page's
// path.
func createDraft(t *testing.T, b *browser, title string) string {
	t.Helper()
	b.get("/publications/new")
	res := b.post("/publications/new", url.Values{"kind": {"advisory"}, "tlp": {"CLEAR"}, "severity": {"high"}, "title": {title}})
	m := pubIDPath.FindStringSubmatch(res.location)
	if res.status != http.StatusSeeOther || m == nil {
		t.Fatalf("create: status %d location %q: %.400s", res.status, res.location, res.body)
	}
	return "/publications/" + m[1]
}

// editorForm is a full editor form for the English, Dutch and French
// columns.
func editorForm(title string) url.Values {
	return url.Values{
		"severity": {"high"}, "tlp": {"CLEAR"},
		"cves": {"cve-2026-1234, CVE-2026-99999"}, "cwes": {"CWE-79"},
		"cvss":       {"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
		"references": {"https://vendor.example/advisory Vendor advisory"},
		"tags":       {"rdp, windows"},
		"p-vendor":   {"Acme", ""}, "p-product": {"Gateway", ""}, "p-versions": {">=1.0 <1.4, 2.0.1", ""},
		"p-cpe": {"cpe:2.3:a:acme:gateway:*:*:*:*:*:*:*:*", ""}, "p-purl": {"", ""},
		"en-title": {title}, "en-summary": {"A flaw in the gateway."}, "en-body": {"# Impact\n\n<script>alert(1)</script> remote code"},
		"en-rec-patch": {"Update to 1.4.\nRestart the service."}, "en-rec-detect": {"Look for odd logins."},
		"nl-title": {"Lek in Acme Gateway"}, "nl-summary": {"Een fout in de gateway."},
	}
}

func TestPublicationWorkflowFourEyes(t *testing.T) {
	env := newPublicationEnv(t)
	analyst := env.analyst()
	page := createDraft(t, analyst, "Flaw in Acme Gateway")

	res := analyst.post(page, editorForm("Flaw in Acme Gateway"))
	if res.status != http.StatusSeeOther {
		t.Fatalf("save: status %d: %.600s", res.status, res.body)
	}
	body := analyst.get(page).body
	mustContain(t, body, "CVE-2026-1234", "CVE-2026-99999", "CWE-79", "&gt;=1.0 &lt;1.4, 2.0.1", "cpe:2.3:a:acme:gateway", `value="Gateway"`, `value="Acme"`,
		"Lek in Acme Gateway", `id="missing-fr"`, "Update to 1.4.\nRestart the service.", "&lt;script&gt;alert(1)&lt;/script&gt;")
	if strings.Contains(body, "<script>alert(1)") {
		t.Error("the preview runs the body's script")
	}
	// The analyst may submit, never approve.
	if strings.Contains(body, `id="action-approve"`) || !strings.Contains(body, `id="action-submit"`) {
		t.Error("an analyst's draft page: want submit, not approve")
	}
	if res := analyst.post(page+"/submit", url.Values{}); res.status != http.StatusSeeOther {
		t.Fatalf("submit: status %d: %.400s", res.status, res.body)
	}
	if res := analyst.post(page+"/approve", url.Values{}); res.status != http.StatusForbidden {
		t.Errorf("an analyst approved: status %d", res.status)
	}

	// A publisher who wrote the last edit may not approve: four eyes.
	publisher := env.browser()
	publisher.login("publisher", casePassword)
	if res := publisher.post(page, editorForm("Flaw in Acme Gateway, revised")); res.status != http.StatusSeeOther {
		t.Fatalf("publisher's edit: status %d: %.400s", res.status, res.body)
	}
	body = publisher.get(page).body
	if strings.Contains(body, `id="action-approve"`) || !strings.Contains(body, `id="four-eyes"`) {
		t.Error("the last editor is offered the approval")
	}
	if res := publisher.post(page+"/approve", url.Values{}); res.status != http.StatusForbidden {
		t.Errorf("the last editor approved: status %d", res.status)
	}
	if p := env.publication(page); p.Status != publication.StatusReview {
		t.Fatalf("after the refused approvals: %s", p.Status)
	}

	// The analyst edits again; now the publisher may approve and publish.
	analyst.get(page)
	if res := analyst.post(page, editorForm("Flaw in Acme Gateway")); res.status != http.StatusSeeOther {
		t.Fatalf("analyst's edit: status %d", res.status)
	}
	body = publisher.get(page).body
	if !strings.Contains(body, `id="action-approve"`) {
		t.Fatalf("a publisher is not offered the approval of an analyst's draft: %.2000s", body)
	}
	for _, action := range []string{"approve", "publish"} {
		if res := publisher.post(page+"/"+action, url.Values{}); res.status != http.StatusSeeOther {
			t.Fatalf("%s: status %d: %.600s", action, res.status, res.body)
		}
	}
	p := env.publication(page)
	if p.Status != publication.StatusPublished || p.Approver != "publisher" || len(p.Products) != 1 || len(p.Products[0].Versions) != 2 {
		t.Fatalf("published: %+v", p)
	}
	body = publisher.get(page).body
	mustContain(t, body, `id="deliveries"`, "website", `id="revisions"`, `id="action-withdraw"`)

	// An update goes to the next revision while the current stays.
	form := editorForm("Flaw in Acme Gateway (update)")
	form.Set("note", "Fixed versions corrected.")
	if res := analyst.post(page, form); res.status != http.StatusSeeOther {
		t.Fatalf("update: status %d: %.400s", res.status, res.body)
	}
	p = env.publication(page)
	if p.Next == nil || p.Next.Note != "Fixed versions corrected." || p.Texts[0].Title != "Flaw in Acme Gateway" {
		t.Fatalf("after the update's edit: next %+v, title %q", p.Next, p.Texts[0].Title)
	}

	// Withdrawing needs a reason.
	res = publisher.post(page+"/withdraw", url.Values{"reason": {""}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "Give a reason.") {
		t.Errorf("withdraw without a reason: status %d", res.status)
	}
}

// publication reads the publication of a page's path.
func (e *caseEnv) publication(path string) publication.Publication {
	e.t.Helper()
	id, _ := strconv.ParseInt(strings.TrimPrefix(path, "/publications/"), 10, 64)
	p, err := e.store.Publications.GetPublication(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func TestPublicationPagesRefuse(t *testing.T) {
	env := newPublicationEnv(t)
	page := createDraft(t, env.analyst(), "Secret draft")

	constituent := env.browser()
	constituent.login("constituent", casePassword)
	for _, path := range []string{"/publications", "/publications/new", page} {
		if res := constituent.get(path); res.status != http.StatusForbidden || strings.Contains(res.body, "Secret draft") {
			t.Errorf("constituent GET %s: status %d", path, res.status)
		}
	}
	if res := constituent.post(page+"/submit", url.Values{}); res.status != http.StatusForbidden {
		t.Errorf("constituent submit: status %d", res.status)
	}
	if strings.Contains(constituent.get("/").body, `href="/publications"`) {
		t.Error("a constituent sees publications in the menu")
	}
	// No such publication: 404.
	if res := env.analyst().get("/publications/999999"); res.status != http.StatusNotFound {
		t.Errorf("unknown publication: status %d", res.status)
	}
	// Without the CSRF token: refused, nothing changed.
	b := env.analyst()
	b.get(page)
	if res := b.post(page+"/submit", url.Values{"csrf": {""}}); res.status != http.StatusForbidden {
		t.Errorf("submit without CSRF: status %d", res.status)
	}
	if p := env.publication(page); p.Status != publication.StatusDraft {
		t.Errorf("after a forged submit: %s", p.Status)
	}
	// Bad input is refused with the field's problem, and what was written
	// stays in the form.
	form := editorForm("Kept title")
	form.Set("cves", "CVE-12")
	res := b.post(page, form)
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, `&#34;CVE-12&#34; is not a CVE id`) || !strings.Contains(res.body, "Kept title") {
		t.Errorf("bad CVE: status %d: %.300s", res.status, res.body)
	}
	form = editorForm("Kept title")
	form.Set("p-versions", "=>1.0")
	if res := b.post(page, form); res.status != http.StatusUnprocessableEntity {
		t.Errorf("bad versions: status %d", res.status)
	}
	// A body over the bound is refused with the body field's message, not
	// cut: a cut at the bound would fall inside "é" and store a broken
	// character.
	form = editorForm("Kept title")
	form.Set("en-body", strings.Repeat("é", publication.MaxBody/2+1))
	res = b.post(page, form)
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "This field is too long") {
		t.Errorf("a body over the bound: status %d: %.300s", res.status, res.body)
	}
	if p := env.publication(page); len(p.Content.Texts) != 1 || p.Content.Texts[0].Body != "" || p.Content.Texts[0].Title != "Secret draft" {
		t.Errorf("after a refused body the draft is %+v", p.Content.Texts)
	}
}

func TestPublicationListAndRows(t *testing.T) {
	env := newPublicationEnv(t)
	b := env.analyst()
	first := createDraft(t, b, "Alpha warning")
	createDraft(t, b, "Bravo advisory")
	b.post(first+"/submit", url.Values{})

	body := b.get("/publications").body
	mustContain(t, body, "Alpha warning", "Bravo advisory", `id="count-draft"`, ">2 publications<")
	if !regexp.MustCompile(`id="count-review"[^>]*>[^<]*<span class="badge">1</span>`).MatchString(body) {
		t.Error("the review count is not 1")
	}
	body = b.get("/publications?status=review").body
	if !strings.Contains(body, "Alpha warning") || strings.Contains(body, "Bravo advisory") {
		t.Error("the status filter does not filter")
	}
	body = b.get("/publications?q=bravo").body
	if strings.Contains(body, "Alpha warning") || !strings.Contains(body, "Bravo advisory") {
		t.Error("the text filter does not filter")
	}

	// Adding a product row saves and comes back with one more row.
	form := editorForm("Alpha warning")
	form.Set("add", "product")
	res := b.post(first, form)
	if res.status != http.StatusSeeOther || !strings.Contains(res.location, "rows=2") {
		t.Fatalf("add a row: status %d location %q", res.status, res.location)
	}
	body = b.get(res.location).body
	if !strings.Contains(body, `id="p-vendor-2"`) || strings.Contains(body, `id="p-vendor-3"`) {
		t.Error("want the saved product and two blank rows")
	}
}

func TestDraftFromIncident(t *testing.T) {
	env := newPublicationEnv(t)
	rec := env.receive(incident.KindPhishing, "phishing at https://evil-bank.be/login from 192.0.2.7")
	b := env.analyst()
	tag := env.openIncident(b, rec.ReportID)
	body := b.get("/incidents/" + tag).body
	mustContain(t, body, `id="draft-from-incident"`)
	res := b.post("/incidents/"+tag+"/publication", url.Values{"kind": {"warning"}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("draft: status %d: %.400s", res.status, res.body)
	}
	p := env.publication(strings.SplitN(res.location, "?", 2)[0])
	inc := env.incident(tag)
	if p.Kind != publication.KindWarning || p.Source != "incident:"+tag || len(p.Texts) != 3 || p.Texts[0].Title != inc.Title {
		t.Fatalf("draft %+v", p)
	}
	if !strings.Contains(p.Texts[1].Body, "Incident "+tag) || !strings.Contains(p.Texts[0].Body, "url") {
		t.Errorf("bodies %q / %q", p.Texts[0].Body, p.Texts[1].Body)
	}
	// A publisher may not read incidents, so may not draft from one.
	pub := env.browser()
	pub.login("publisher", casePassword)
	pub.get("/publications")
	if res := pub.post("/incidents/"+tag+"/publication", url.Values{}); res.status != http.StatusForbidden {
		t.Errorf("publisher drafted from an incident: status %d", res.status)
	}
}

func TestDraftFromEvents(t *testing.T) {
	env := newPublicationEnv(t)
	env.insertRDP()
	b := env.analyst()
	body := b.get("/events?type=infected-system").body
	mustContain(t, body, `id="draft-from-events"`)
	res := b.post("/events/publication", url.Values{"type": {"infected-system"}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("draft: status %d: %.400s", res.status, res.body)
	}
	p := env.publication(strings.SplitN(res.location, "?", 2)[0])
	if len(p.Texts) != 3 || p.Texts[0].Title != "3 exposed infected-system services in our constituency" ||
		!strings.Contains(p.Texts[0].Summary, "from 2 IP addresses") || !strings.Contains(p.Texts[2].Title, "3 services infected-system exposés") {
		t.Fatalf("draft texts %+v", p.Texts)
	}
	if p.Source != "events:type=infected-system" {
		t.Errorf("source %q", p.Source)
	}
	if !strings.Contains(p.Texts[0].Summary, "2026-11-02 to 2026-11-03") {
		t.Errorf("date range: %q", p.Texts[0].Summary)
	}
}

// cveRecord is a CVE JSON 5 record written for the tests.
const cveRecord = `{"dataType":"CVE_RECORD","dataVersion":"5.1",
 "cveMetadata":{"cveId":"CVE-2026-7777","assignerOrgId":"00000000-0000-4000-8000-000000000001","state":"PUBLISHED"},
 "containers":{"cna":{"providerMetadata":{"orgId":"00000000-0000-4000-8000-000000000001"},
  "title":"Heap overflow in Example Router",
  "descriptions":[{"lang":"en","value":"A heap overflow in Example Router before 2.1 lets a remote attacker run code."}],
  "affected":[{"vendor":"example","product":"router","versions":[{"version":"0","lessThan":"2.1","status":"affected","versionType":"semver"}]}],
  "references":[{"url":"https://example.org/sa-1"}]}}}`

// postCVE uploads a record on the new-publication form.
func postCVE(t *testing.T, b *browser, record string) response {
	t.Helper()
	return postImportAt(t, b, "advisory", "AMBER", "CVE-2026-7777.json", record)
}

func TestPublicationFromCVE(t *testing.T) {
	env := newPublicationEnv(t)
	b := env.analyst()
	res := postCVE(t, b, cveRecord)
	if res.status != http.StatusSeeOther {
		t.Fatalf("upload: status %d: %.600s", res.status, res.body)
	}
	p := env.publication(strings.SplitN(res.location, "?", 2)[0])
	if p.Source != "cve:CVE-2026-7777" || p.Texts[0].Title != "Heap overflow in Example Router" || len(p.Products) != 1 || p.Products[0].Vendor != "example" {
		t.Fatalf("draft %+v", p)
	}
	res = postCVE(t, b, strings.Replace(cveRecord, `"cveId":"CVE-2026-7777"`, `"cveId":"CVE-77"`, 1))
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "The CVE record was refused") || !strings.Contains(res.body, "CVE-77") {
		t.Errorf("malformed record: status %d: %.600s", res.status, res.body)
	}
}
