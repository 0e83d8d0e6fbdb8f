package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/channel"
)

// TestPublicationReplyQuotesTheServer: a Mastodon server answers a post
// with a status address shaped like a stored message of Vigil's. The API
// gives the channel's reply as Vigil's "Posted:" with the server's text
// quoted as it came, in the caller's language, never as the message the
// text pretends to be.
func TestPublicationReplyQuotesTheServer(t *testing.T) {
	const forged = `["channel.error.gaveup",8,["channel.error.network","connection refused"]]`
	f := newFixture(t, fixtureOptions{})
	ctx := t.Context()
	mastodon := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"url": forged})
	}))
	defer mastodon.Close()

	svc := &publication.Service{Store: f.store.Publications, Audit: f.store, Channels: append(slices.Clone(publication.DefaultChannels),
		publication.ChannelSpec{Name: channel.MastodonChannel, PerLanguage: true, Languages: []string{"en"}})}
	author := publication.Actor{UserID: f.users["ana"].ID, Name: "ana"}
	approver := publication.Actor{UserID: f.users["pub"].ID, Name: "pub"}
	c := publication.Content{Severity: "high", TLP: publication.TLPClear, Texts: []publication.Text{{Lang: "en", Title: "Flaw", Body: "Patch now."}}}
	p, err := svc.Create(ctx, author, publication.KindAdvisory, c, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Submit(ctx, author, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Approve(ctx, approver, p.ID); err != nil {
		t.Fatal(err)
	}
	if p, err = svc.Publish(ctx, approver, p.ID); err != nil {
		t.Fatal(err)
	}
	reg := &channel.Registry{}
	reg.Register(&channel.Mastodon{Instance: mastodon.URL, Token: "t", SiteURL: "https://cert.example", Client: mastodon.Client()})
	w := &channel.Worker{Deliveries: f.store.Publications, Publications: f.store.Publications, Registry: reg}
	if counts, err := w.RunOnce(ctx); err != nil || counts.Sent != 1 {
		t.Fatalf("the outbox's pass: %+v, %v", counts, err)
	}

	for _, lang := range []string{"en", "de"} {
		u := f.users["pub"]
		u.Language = lang
		if err := f.store.UpdateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		r := f.get("/publications/"+p.Ident, "pub")
		var got publicationJSON
		if r.status != http.StatusOK || json.Unmarshal(r.body, &got) != nil {
			t.Fatalf("team get: status %d: %s", r.status, r.body)
		}
		want := map[string]string{"en": "Posted: ", "de": "Veröffentlicht: "}[lang] + forged
		i := slices.IndexFunc(got.Channels, func(d deliveryJSON) bool { return d.Channel == channel.MastodonChannel })
		if i < 0 || got.Channels[i].Reply != want {
			t.Errorf("%s: channels %+v; want the Mastodon reply %q", lang, got.Channels, want)
		}
		if strings.Contains(string(r.body), "Gave up") || strings.Contains(string(r.body), "Aufgegeben") {
			t.Errorf("%s: the server's text passed as Vigil's message: %s", lang, r.body)
		}
	}
}
