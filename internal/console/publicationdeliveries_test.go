package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/channel"
)

// TestDeliveryErrorsInTheReadersLanguage: a webhook that keeps answering
// 503 makes the outbox give up on its delivery. The delivery keeps the
// failure as a catalogue message, not as English; its page says it in the
// reader's language (German here), the server's own words quoted as they
// came, and so is the reason why a TLP-refused channel was skipped.
// publishThroughConsole has the analyst write a draft from form and
// submit it, and the publisher approve and publish it, through the
// console's pages; it returns the publication's page.
func publishThroughConsole(t *testing.T, env *caseEnv, form url.Values) string {
	t.Helper()
	analyst := env.analyst()
	page := createDraft(t, analyst, form.Get("en-title"))
	if res := analyst.post(page, form); res.status != http.StatusSeeOther {
		t.Fatalf("save: status %d: %.600s", res.status, res.body)
	}
	if res := analyst.post(page+"/submit", url.Values{}); res.status != http.StatusSeeOther {
		t.Fatalf("submit: status %d", res.status)
	}
	publisher := env.browser()
	publisher.login("publisher", casePassword)
	for _, action := range []string{"approve", "publish"} {
		if res := publisher.post(page+"/"+action, url.Values{}); res.status != http.StatusSeeOther {
			t.Fatalf("%s: status %d: %.600s", action, res.status, res.body)
		}
	}
	return page
}

func TestDeliveryErrorsInTheReadersLanguage(t *testing.T) {
	env := newPublicationEnv(t)
	env.console.publications.Service.Channels = append(slices.Clone(publication.DefaultChannels),
		publication.ChannelSpec{Name: "webhook:chat", PerLanguage: true, Languages: []string{"en"}})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error":"maintenance until 10:00"}`))
	}))
	defer hook.Close()

	page := publishThroughConsole(t, env, editorForm("Flaw in Acme Gateway"))

	reg := &channel.Registry{}
	reg.Register(&channel.Webhook{Hook: "chat", URL: hook.URL, Secret: []byte("whsec"), SiteURL: "https://cert.example", Client: hook.Client()})
	w := &channel.Worker{Deliveries: env.store.Publications, Publications: env.store.Publications, Registry: reg,
		Retry: channel.Retry{Attempts: 1}}
	if counts, err := w.RunOnce(t.Context()); err != nil || counts.Failed != 1 {
		t.Fatalf("the outbox's pass: %+v, %v", counts, err)
	}
	p := env.publication(page)
	ds, err := env.store.Publications.ListDeliveries(t.Context(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ds, func(d publication.Delivery) bool { return d.Channel == "webhook:chat" })
	if i < 0 {
		t.Fatalf("no webhook delivery in %+v", ds)
	}
	stored := ds[i].LastError
	m, ok := i18n.Decode(stored)
	if ds[i].Status != publication.DeliveryFailed || !ok || m.ID != "channel.error.gaveup" || strings.Contains(stored, "Gave up") {
		t.Fatalf("the failed delivery keeps %q (%s), want the message channel.error.gaveup", stored, ds[i].Status)
	}

	env.addUser("publisher-de", auth.RolePublisher, casePassword)
	de := env.browser()
	de.login("publisher-de", casePassword)
	de.post("/account/language", url.Values{"language": {"de"}})
	body := de.get(page).body
	mustSay(t, body, "Aufgegeben nach Versuch 1: Der Server antwortete 503: maintenance until 10:00")
	if strings.Contains(body, "Gave up") || strings.Contains(body, "The server answered") || strings.Contains(body, "channel.error") {
		t.Errorf("the German page shows the English or the stored form: %.3000s", text(body))
	}
	// The same page in English for the English publisher.
	publisher := env.browser()
	publisher.login("publisher", casePassword)
	mustSay(t, publisher.get(page).body, "Gave up after attempt 1: The server answered 503: maintenance until 10:00")
}

// TestSkippedDeliveryInTheReadersLanguage: a TLP:AMBER advisory is
// skipped by every public channel, its page saying why in the reader's
// language.
func TestSkippedDeliveryInTheReadersLanguage(t *testing.T) {
	env := newPublicationEnv(t)
	form := editorForm("Amber flaw")
	form.Set("tlp", "AMBER")
	page := publishThroughConsole(t, env, form)
	env.addUser("publisher-fr", auth.RolePublisher, casePassword)
	fr := env.browser()
	fr.login("publisher-fr", casePassword)
	fr.post("/account/language", url.Values{"language": {"fr"}})
	body := fr.get(page).body
	mustSay(t, body, "Non envoyé : ce canal ne prend pas les publications TLP:AMBER.")
	if strings.Contains(body, "publication.skip") {
		t.Errorf("the page shows the stored form: %.3000s", text(body))
	}
}
