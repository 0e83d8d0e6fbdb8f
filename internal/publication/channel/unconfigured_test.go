package channel

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth/authdb"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/lease"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/pubdb"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
	"github.com/vigil-cert/vigil/internal/syncbuf"
)

// TestRemovedChannelIsSkipped: an advisory published while the webhooks
// "gone" and "bridge" were configured; the outbox then starts, under its
// lease as `vigil serve` runs it, with only "bridge" configured. The
// deliveries of "gone" (one of them retrying) are skipped, saying in the
// reader's language that the channel is no longer configured, the log
// says how many, and "bridge" still gets its posts.
func TestRemovedChannelIsSkipped(t *testing.T) {
	dbtest.Each(t, database.Schemas, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		accounts := authdb.New(st.DB())
		ann, bob := publisher(t, accounts, "ann"), publisher(t, accounts, "bob")

		var (
			mu      sync.Mutex
			arrived = map[string]int{}
		)
		hook := func(name string) *httptest.Server {
			return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				arrived[name]++
				mu.Unlock()
			}))
		}
		bridge, gone := hook("bridge"), hook("gone")
		defer bridge.Close()
		defer gone.Close()

		before := DefaultConfig()
		before.SiteURL = "https://cert.example"
		before.Webhooks = []WebhookConfig{{Name: "bridge", URL: bridge.URL, Secret: "env:HOOK"}, {Name: "gone", URL: gone.URL, Secret: "env:HOOK"}}
		pubs := pubdb.New(st.DB())
		svc := &publication.Service{Store: pubs, Audit: accounts,
			Channels: append(slices.Clone(publication.DefaultChannels), Specs(before)...)}
		c := publication.Content{Severity: "high", TLP: publication.TLPClear, Texts: []publication.Text{
			{Lang: "en", Title: "Flaw in a router", Summary: "Patch."}, {Lang: "nl", Title: "Lek in een router", Summary: "Patch."}}}
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
		// One of "gone"'s deliveries failed once and waits for its retry.
		due, err := pubs.DueDeliveries(ctx, "webhook:gone", time.Now(), 10)
		if err != nil || len(due) != 2 {
			t.Fatalf("webhook:gone's deliveries: %+v, %v", due, err)
		}
		due[0].Attempts, due[0].NextAttempt = 1, time.Now().Add(time.Hour)
		due[0].LastError = i18n.M("channel.error.statusonly", 502).Encode()
		if err := pubs.FinishDelivery(ctx, due[0]); err != nil {
			t.Fatal(err)
		}

		after := before
		after.Webhooks = before.Webhooks[:1]
		senders, err := NewSenders(after, "", func(string) string { return "whsec" }, nil)
		if err != nil {
			t.Fatal(err)
		}
		reg := &Registry{}
		for _, s := range senders {
			reg.Register(s)
		}
		var logs syncbuf.Buffer
		w := &Worker{Deliveries: pubs, Publications: pubs, Registry: reg, Poll: 10 * time.Millisecond,
			UnconfiguredAfter: time.Millisecond, Log: slog.New(slog.NewTextHandler(&logs, nil))}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			done <- lease.Hold(runCtx, st, "publication-outbox", lease.Options{Logger: slog.New(slog.DiscardHandler)}, w.Run)
		}()
		deliveries := func() []publication.Delivery {
			ds, err := pubs.ListDeliveries(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			return ds
		}
		waitFor(t, "nothing queued", func() bool {
			return !slices.ContainsFunc(deliveries(), func(d publication.Delivery) bool { return d.Status == publication.DeliveryQueued })
		})
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}

		cat := i18n.Embedded()
		n := 0
		for _, d := range deliveries() {
			switch d.Channel {
			case "webhook:gone":
				n++
				m, ok := i18n.Decode(d.LastError)
				if d.Status != publication.DeliverySkipped || !ok || m != i18n.M("channel.reason.unconfigured", "webhook:gone") {
					t.Errorf("webhook:gone/%s: %s %q", d.Lang, d.Status, d.LastError)
				}
				if got := cat.Stored("de", d.LastError); got != "Nicht gesendet: der Kanal webhook:gone ist nicht mehr konfiguriert." {
					t.Errorf("in German: %q", got)
				}
			case "webhook:bridge":
				if d.Status != publication.DeliverySent || d.LastError != "" {
					t.Errorf("webhook:bridge/%s: %s %q", d.Lang, d.Status, d.LastError)
				}
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if n != 2 || arrived["gone"] != 0 || arrived["bridge"] != 2 {
			t.Errorf("%d deliveries of webhook:gone; posts %v, want bridge 2 and gone none", n, arrived)
		}
		if log := logs.String(); !strings.Contains(log, "channel=webhook:gone skipped=2") || !strings.Contains(log, "skipped=2 channels=1") {
			t.Errorf("the log does not say what was skipped:\n%s", log)
		}
	})
}
