package console

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/publication/newsletter"
)

// newNewsletterEnv is a console serving the newsletter on its database;
// the mails' links point at the test server.
func newNewsletterEnv(t *testing.T) (*testEnv, *newsletter.Service) {
	t.Helper()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	mails, err := newsletter.NewMails(cat, &mail.Address{Name: "Test CERT", Address: "news@cert.example"}, "", "",
		[]byte("a secret of thirty-two bytes...."))
	if err != nil {
		t.Fatal(err)
	}
	var svc *newsletter.Service
	e := newEnv(t, func(cfg *Config) {
		svc = &newsletter.Service{Store: cfg.Store.(*database.DB).Newsletter, Mails: mails, Config: newsletter.DefaultConfig()}
		cfg.Newsletter = svc
	})
	mails.BaseURL = e.server.URL
	return e, svc
}

// confirmations returns the confirmation mails in the outbox, newest
// first.
func confirmations(t *testing.T, e *testEnv) []outbox.Message {
	t.Helper()
	list, err := e.store.ListMessages(context.Background(), outbox.MessageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range list {
		if list[i], err = e.store.GetMessage(context.Background(), list[i].ID); err != nil {
			t.Fatal(err)
		}
	}
	return list
}

var mailLink = regexp.MustCompile(`http://127\.0\.0\.1:\d+(/newsletter/(?:confirm|unsubscribe)\?t=[^\s"<>]+)`)

// linkIn returns the path of the first newsletter link of a mail body,
// quoted-printable soft breaks undone.
func linkIn(t *testing.T, body []byte) string {
	t.Helper()
	text := strings.ReplaceAll(strings.ReplaceAll(string(body), "=\r\n", ""), "=3D", "=")
	m := mailLink.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no newsletter link in %s", text)
	}
	return m[1]
}

func TestNewsletterSubscription(t *testing.T) {
	e, svc := newNewsletterEnv(t)
	b := e.browser()
	if r := b.get("/newsletter/xx"); r.status != http.StatusNotFound {
		t.Errorf("a language the newsletter has not: %d", r.status)
	}
	r := b.get("/newsletter/fr")
	if r.status != http.StatusOK {
		t.Fatalf("GET /newsletter/fr: %d", r.status)
	}
	mustContain(t, r.body, `lang="fr"`, "S&#39;abonner", `id="warnings-yes"`)

	if r := b.post("/newsletter/fr", url.Values{"csrf": {""}, "address": {"x@example.org"}}); r.status != http.StatusForbidden {
		t.Errorf("a post without the form token: %d", r.status)
	}
	if r := b.post("/newsletter/fr", url.Values{"address": {"not an address"}}); r.status != http.StatusBadRequest {
		t.Errorf("a bad address: %d", r.status)
	} else {
		mustContain(t, r.body, `id="problems"`, "Indiquez une adresse")
	}
	first := b.post("/newsletter/fr", url.Values{"address": {"Reader@Example.org"}, "warnings": {"yes"}})
	if first.status != http.StatusOK {
		t.Fatalf("subscribe: %d %s", first.status, first.body)
	}
	again := b.post("/newsletter/fr", url.Values{"address": {"reader@example.org"}, "warnings": {"no"}})
	other := b.post("/newsletter/fr", url.Values{"address": {"new@example.org"}})
	if again.status != first.status || again.body != other.body {
		t.Error("a known address is answered differently from a new one")
	}
	msgs := confirmations(t, e)
	if len(msgs) != 2 {
		t.Fatalf("%d confirmations, want 2 (one per address within the hour)", len(msgs))
	}
	link := linkIn(t, msgs[1].Body)
	if r := b.get("/newsletter/confirm?t=1.wrong"); r.status != http.StatusNotFound {
		t.Errorf("a wrong confirmation: %d", r.status)
	}
	// The link's GET, as a mail gateway's scanner fetches it, shows the
	// button and confirms nothing.
	r = e.browser().get(link)
	if r.status != http.StatusOK {
		t.Fatalf("the confirmation link: %d", r.status)
	}
	mustContain(t, r.body, `id="confirm"`, `action="/newsletter/confirm?lang=fr"`, "r…@example.org", "Confirmer l&#39;abonnement")
	if strings.Contains(r.body, "reader@example.org") {
		t.Error("the confirmation page shows the whole address")
	}
	if subs, _, _ := svc.Store.ListSubscribers(context.Background(), newsletter.Query{Text: "reader@"}); len(subs) != 1 || subs[0].Status != newsletter.StatusPending {
		t.Fatalf("after the link's GET alone: %+v; want still pending", subs)
	}
	token, _ := url.QueryUnescape(strings.TrimPrefix(link, "/newsletter/confirm?t="))
	for _, bad := range []string{"", "1.wrong", token + "x"} {
		if r := e.browser().post("/newsletter/confirm?lang=fr", url.Values{"t": {bad}}); r.status != http.StatusNotFound {
			t.Errorf("the button with the token %q: %d", bad, r.status)
		} else {
			mustContain(t, r.body, "Le lien est erroné ou a expiré", `href="/newsletter/fr"`)
		}
	}
	// The button: no cookie and no form token needed, the link's token
	// is the secret.
	r = e.browser().post("/newsletter/confirm", url.Values{"t": {token}})
	if r.status != http.StatusOK {
		t.Fatalf("confirm: %d", r.status)
	}
	mustContain(t, r.body, "Votre abonnement est confirmé")
	subs, _, _ := svc.Store.ListSubscribers(context.Background(), newsletter.Query{Text: "reader@"})
	if len(subs) != 1 || subs[0].Status != newsletter.StatusConfirmed || subs[0].Lang != "fr" || !subs[0].Warnings {
		t.Fatalf("subscriber = %+v", subs)
	}

	unsubscribe := "/newsletter/unsubscribe?t=" + url.QueryEscape(newsletter.UnsubscribeToken(svc.Mails.Secret, subs[0].ID))
	r = b.get(unsubscribe)
	mustContain(t, r.body, "reader@example.org", `id="unsubscribe"`)
	if r := b.post("/newsletter/unsubscribe?t=1.forged", url.Values{"List-Unsubscribe": {"One-Click"}}); r.status != http.StatusNotFound {
		t.Errorf("a forged one-click: %d", r.status)
	}
	if r := e.browser().post(unsubscribe, url.Values{"csrf": {""}}); r.status != http.StatusForbidden {
		t.Errorf("a post that is neither the page's form nor a one-click: %d", r.status)
	}
	// RFC 8058: the mail program posts the body alone, with no cookie.
	req, _ := http.NewRequest(http.MethodPost, e.server.URL+unsubscribe, strings.NewReader("List-Unsubscribe=One-Click"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("one-click unsubscribe: %d", res.StatusCode)
	}
	if s, _ := svc.Store.GetSubscriber(context.Background(), subs[0].ID); s.Status != newsletter.StatusUnsubscribed {
		t.Errorf("after the one-click: %s", s.Status)
	}
}

func TestNewsletterSubscribersPage(t *testing.T) {
	e, svc := newNewsletterEnv(t)
	for _, a := range []string{"=1+2@example.org", "plain@example.org"} {
		if err := svc.Subscribe(context.Background(), a, "nl", false); err != nil {
			t.Fatal(err)
		}
	}
	e.addUser("analyst", auth.RoleAnalyst, "analyst password 1")
	e.addUser("publisher", auth.RolePublisher, "publisher password 1")
	analyst := e.browser()
	analyst.login("analyst", "analyst password 1")
	if r := analyst.get("/newsletter/subscribers"); r.status != http.StatusForbidden {
		t.Errorf("an analyst sees the subscribers: %d", r.status)
	}
	if r := analyst.get("/newsletter/subscribers/export.csv"); r.status != http.StatusForbidden {
		t.Errorf("an analyst exports the subscribers: %d", r.status)
	}
	if r := e.browser().get("/newsletter/subscribers"); r.status != http.StatusSeeOther {
		t.Errorf("an anonymous visitor: %d, want the login", r.status)
	}
	b := e.browser()
	b.login("publisher", "publisher password 1")
	r := b.get("/newsletter/subscribers")
	if r.status != http.StatusOK {
		t.Fatalf("subscribers page: %d", r.status)
	}
	mustContain(t, r.body, `id="total">2<`, "plain@example.org", `id="issues-heading"`)
	if r := b.get("/newsletter/subscribers?q=plain"); strings.Contains(r.body, "=1+2@example.org") {
		t.Error("the search did not filter")
	}
	r = b.get("/newsletter/subscribers/export.csv")
	rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil || len(rows) != 3 {
		t.Fatalf("export: %v, %d rows", err, len(rows))
	}
	if rows[1][0] != "'=1+2@example.org" {
		t.Errorf("the formula-like address was exported as %q, not defused", rows[1][0])
	}
	list, _, _ := svc.Store.ListSubscribers(context.Background(), newsletter.Query{Text: "plain"})
	id := strconv.FormatInt(list[0].ID, 10)
	if r := analyst.post("/newsletter/subscribers/"+id+"/bounced", url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("an analyst marks a bounce: %d", r.status)
	}
	if r := b.post("/newsletter/subscribers/"+id+"/bounced", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("mark bounced: %d", r.status)
	}
	if s, _ := svc.Store.GetSubscriber(context.Background(), list[0].ID); s.Status != newsletter.StatusBounced {
		t.Errorf("status %s after marking bounced", s.Status)
	}
	b.get("/newsletter/subscribers")
	if r := b.post("/newsletter/subscribers/"+id+"/delete", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("remove: %d", r.status)
	}
	if r := b.post("/newsletter/subscribers/"+id+"/delete", url.Values{}); r.status != http.StatusNotFound {
		t.Errorf("removing twice: %d", r.status)
	}
	if !contains(e.auditActions(), "newsletter.remove") || !contains(e.auditActions(), "newsletter.export") {
		t.Errorf("audit = %v", e.auditActions())
	}
}

// TestNewsletterFormIsThrottled: one client cannot make the form mail
// address after address; past ten subscriptions it has to wait.
func TestNewsletterFormIsThrottled(t *testing.T) {
	e, _ := newNewsletterEnv(t)
	b := e.browser()
	b.get("/newsletter/en")
	throttled := 0
	for i := range 15 {
		r := b.post("/newsletter/en", url.Values{"address": {"victim" + strconv.Itoa(i) + "@example.org"}})
		if r.status == http.StatusTooManyRequests {
			throttled++
			if r.header.Get("Retry-After") == "" {
				t.Error("a throttled post has no Retry-After")
			}
		}
	}
	if n := len(confirmations(t, e)); n > 10 || throttled == 0 {
		t.Errorf("%d confirmations queued, %d posts throttled; want at most 10 and some throttled", n, throttled)
	}
}
