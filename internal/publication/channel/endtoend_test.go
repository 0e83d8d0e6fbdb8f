package channel

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/auth/authdb"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/lease"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/pubdb"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
	"github.com/vigil-cert/vigil/internal/syncbuf"
)

// publisher makes a publisher's account named name and returns it as
// the workflow's actor.
func publisher(t *testing.T, accounts *authdb.Store, name string) publication.Actor {
	t.Helper()
	u := auth.User{Name: name, Email: name + "@cert.example", Role: auth.RolePublisher,
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA", Language: "en"}
	if err := accounts.CreateUser(t.Context(), &u); err != nil {
		t.Fatal(err)
	}
	return publication.Actor{UserID: u.ID, Name: name}
}

// TestEndToEnd: publications written, approved by a second person and
// published through the publication service on either database go out
// on Mastodon, Bluesky and two webhooks, each post once although two
// processes run the outbox, the first stopped halfway; the TLP:AMBER
// one reaches no server.
func TestEndToEnd(t *testing.T) {
	dbtest.Each(t, database.Schemas, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		accounts := authdb.New(st.DB())
		ann, bob := publisher(t, accounts, "ann"), publisher(t, accounts, "bob")

		var mu sync.Mutex
		arrived := map[string][]request{} // by server
		keep := func(name string, status int, body string) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				mu.Lock()
				arrived[name] = append(arrived[name], request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
				mu.Unlock()
				time.Sleep(time.Millisecond) // a slow server: the processes overlap
				w.WriteHeader(status)
				w.Write([]byte(body))
			})
		}
		mastodon := httptest.NewServer(keep("mastodon", 200, `{"id":"1","url":"https://social.example/@cert/1"}`))
		defer mastodon.Close()
		hookA := httptest.NewServer(keep("a", 200, ""))
		defer hookA.Close()
		hookB := httptest.NewServer(keep("b", 202, ""))
		defer hookB.Close()
		bsky, bluesky := newPDS(t)

		cfg := DefaultConfig()
		cfg.SiteURL = "https://cert.example"
		cfg.Mastodon = &MastodonConfig{Instance: mastodon.URL, Token: "env:TOKEN", Target: Target{Languages: []string{"nl", "fr"}}}
		cfg.Bluesky = &BlueskyConfig{Service: bluesky.Service, Identifier: "cert.example", AppPassword: "env:BSKY"}
		cfg.Webhooks = []WebhookConfig{{Name: "a", URL: hookA.URL, Secret: "env:HOOK"}, {Name: "b", URL: hookB.URL, Secret: "env:HOOK",
			Target: Target{Languages: []string{"en"}}}}
		env := map[string]string{"TOKEN": "tok", "BSKY": "abcd-efgh-ijkl-mnop", "HOOK": "whsec"}
		specs := Specs(cfg)
		svc := &publication.Service{Store: pubdb.New(st.DB()), Audit: accounts,
			Channels: append(slices.Clone(publication.DefaultChannels), specs...)}

		publish := func(tlp publication.TLP, title string) publication.Publication {
			c := publication.Content{Severity: "critical", TLP: tlp, CVEs: []string{"CVE-2026-4242"}, Texts: []publication.Text{
				{Lang: "en", Title: title, Summary: "Patch now."},
				{Lang: "nl", Title: "Kritieke kwetsbaarheid in Ünïcode", Summary: "Patch nu."},
				{Lang: "fr", Title: "Vulnérabilité critique dans Ünïcode", Summary: "Corrigez."}}}
			p, err := svc.Create(ctx, ann, publication.KindAdvisory, c, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, step := range []func() (publication.Publication, error){
				func() (publication.Publication, error) { return svc.Submit(ctx, ann, p.ID) },
				func() (publication.Publication, error) { return svc.Approve(ctx, bob, p.ID) },
				func() (publication.Publication, error) { return svc.Publish(ctx, bob, p.ID) },
			} {
				if p, err = step(); err != nil {
					t.Fatal(err)
				}
			}
			return p
		}
		var clear []publication.Publication
		for range 4 {
			clear = append(clear, publish(publication.TLPClear, "Critical flaw in Unicode Server"))
		}
		amber := publish(publication.TLPAmber, "AMBER-SECRET-TITLE")

		// What the processes warn of (a lease lost or taken over, a send
		// deferred) is shown when the test fails.
		var logged syncbuf.Buffer
		quiet := slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn}))
		defer func() {
			if t.Failed() {
				t.Logf("the processes' warnings:\n%s", logged.String())
			}
		}()
		process := func(name string) (stop func()) {
			senders, err := NewSenders(cfg, "", func(k string) string { return env[k] }, nil)
			if err != nil {
				t.Fatal(err)
			}
			reg := &Registry{}
			for _, s := range senders {
				reg.Register(s)
			}
			w := &Worker{Deliveries: svc.Store, Publications: svc.Store, Registry: reg, Poll: 10 * time.Millisecond, Batch: 2, Log: quiet}
			ctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() {
				done <- lease.Hold(ctx, st, "publication-outbox", lease.Options{Holder: name, TTL: testLeaseTTL, Logger: quiet}, w.Run)
			}()
			return func() {
				cancel()
				if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
					t.Errorf("%s: %v", name, err)
				}
			}
		}
		stopA := process("a")
		stopB := process("b")
		defer stopB()
		total := func() int {
			mu.Lock()
			defer mu.Unlock()
			bsky.mu.Lock()
			defer bsky.mu.Unlock()
			return len(arrived["mastodon"]) + len(arrived["a"]) + len(arrived["b"]) + len(bsky.posts)
		}
		// Per clear advisory: Mastodon nl and fr, Bluesky and webhook a in
		// three languages, webhook b in English.
		want := len(clear) * (2 + 3 + 3 + 1)
		waitFor(t, "some posted", func() bool { return total() >= want/4 })
		stopA()
		waitFor(t, "all posted", func() bool {
			for _, p := range append(clear, amber) {
				ds, err := svc.Store.ListDeliveries(ctx, p.ID)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range ds {
					if d.Status == publication.DeliveryQueued {
						return false
					}
				}
			}
			return true
		})
		if got := total(); got != want {
			t.Errorf("%d posts, want %d", got, want)
		}
		mu.Lock()
		keys := map[string]bool{}
		for _, r := range append(append(arrived["mastodon"], arrived["a"]...), arrived["b"]...) {
			key := r.Header.Get("Idempotency-Key") + r.Header.Get(HeaderDelivery)
			if keys[key] {
				t.Errorf("posted twice: %s", key)
			}
			keys[key] = true
		}
		mu.Unlock()
		for _, p := range clear {
			ds, _ := svc.Store.ListDeliveries(ctx, p.ID)
			for _, d := range ds {
				if d.Status != publication.DeliverySent || (!slices.Contains([]string{"website", "feeds", "csaf"}, d.Channel) && d.Reply == "") {
					t.Errorf("%s delivery %s/%s: %s %q", p.Ident, d.Channel, d.Lang, d.Status, d.LastError)
				}
			}
		}
		ds, _ := svc.Store.ListDeliveries(ctx, amber.ID)
		for _, d := range ds {
			if d.Status != publication.DeliverySkipped {
				t.Errorf("the AMBER advisory's %s/%s delivery: %s", d.Channel, d.Lang, d.Status)
			}
		}
		for _, r := range append(append(arrived["mastodon"], arrived["a"]...), arrived["b"]...) {
			if strings.Contains(string(r.Body), "AMBER") || strings.Contains(string(r.Body), amber.Ident) {
				t.Errorf("AMBER content arrived: %s", r.Body)
			}
		}
		for _, post := range bsky.posts {
			if strings.Contains(post["text"].(string), "AMBER") || strings.Contains(post["text"].(string), amber.Ident) {
				t.Errorf("AMBER content on Bluesky: %v", post["text"])
			}
		}
	})
}
