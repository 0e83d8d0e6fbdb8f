package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/channel"
)

// TestDeliveryReplyQuotesTheServer: a Mastodon server answers a post
// with a status address shaped like a stored message of Vigil's ("gave
// up after attempt 8"). The publication's page shows Vigil's "Posted:"
// with the server's text quoted as it came, in English and in German,
// never the message the text pretends to be.
func TestDeliveryReplyQuotesTheServer(t *testing.T) {
	const forged = `["channel.error.gaveup",8,["channel.error.network","connection refused"]]`
	env := newPublicationEnv(t)
	env.console.publications.Service.Channels = append(slices.Clone(publication.DefaultChannels),
		publication.ChannelSpec{Name: channel.MastodonChannel, PerLanguage: true, Languages: []string{"en"}})
	mastodon := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"url":"[\"channel.error.gaveup\",8,[\"channel.error.network\",\"connection refused\"]]"}`))
	}))
	defer mastodon.Close()

	page := publishThroughConsole(t, env, editorForm("Flaw in Acme Gateway"))
	reg := &channel.Registry{}
	reg.Register(&channel.Mastodon{Instance: mastodon.URL, Token: "t", SiteURL: "https://cert.example", Client: mastodon.Client()})
	w := &channel.Worker{Deliveries: env.store.Publications, Publications: env.store.Publications, Registry: reg}
	if counts, err := w.RunOnce(t.Context()); err != nil || counts.Sent != 1 {
		t.Fatalf("the outbox's pass: %+v, %v", counts, err)
	}

	publisher := env.browser()
	publisher.login("publisher", casePassword)
	body := publisher.get(page).body
	mustSay(t, body, "Posted: "+forged)
	env.addUser("publisher-de", auth.RolePublisher, casePassword)
	de := env.browser()
	de.login("publisher-de", casePassword)
	de.post("/account/language", url.Values{"language": {"de"}})
	deBody := de.get(page).body
	mustSay(t, deBody, "Veröffentlicht: "+forged)
	for _, b := range []string{text(body), text(deBody)} {
		if strings.Contains(b, "Gave up") || strings.Contains(b, "Aufgegeben") || strings.Contains(b, "Network error") || strings.Contains(b, "Netzwerkfehler") {
			t.Errorf("the server's text passed as Vigil's message: %.3000s", b)
		}
	}
}
