package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/channel"
)

// TestServePublishing: with a webhook in social:, serve's publication
// outbox posts a published advisory to it, signed with the secret read
// from the environment, and records the delivery as sent.
func TestServePublishing(t *testing.T) {
	var mu sync.Mutex
	var got []channel.WebhookPayload
	var verified error
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p channel.WebhookPayload
		json.Unmarshal(body, &p)
		mu.Lock()
		got = append(got, p)
		verified = channel.Verify([]byte("hook-secret"), r.Header, body, time.Now(), time.Minute)
		mu.Unlock()
	}))
	defer hook.Close()
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.PublicURL = "https://cert.example"
	cfg.Social.Webhooks = []channel.WebhookConfig{{Name: "bridge", URL: hook.URL, Secret: "env:VIGIL_TEST_HOOK",
		Target: channel.Target{Languages: []string{"en"}}}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string { return map[string]string{"VIGIL_TEST_HOOK": "hook-secret"}[k] }
	a, err := openApp(t.Context(), cfg, io.Discard, env)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	ctx, cancel := context.WithCancel(t.Context())
	group, ctx := newJobs(ctx)
	defer func() { cancel(); group.wait() }()
	worker, err := a.startPublishing(group, env)
	if err != nil || worker == nil {
		t.Fatalf("startPublishing: %v, %v", worker, err)
	}

	svc := &publication.Service{Store: a.store.Publications, Audit: a.store, Channels: publicationChannels(cfg)}
	var actors []publication.Actor
	for _, name := range []string{"ann", "bob"} {
		u := auth.User{Name: name, Email: name + "@cert.example", Role: auth.RolePublisher,
			PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA", Language: "en"}
		if err := a.store.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		actors = append(actors, publication.Actor{UserID: u.ID, Name: name})
	}
	p, err := svc.Create(ctx, actors[0], publication.KindWarning, publication.Content{Severity: "high", TLP: publication.TLPClear,
		Texts: []publication.Text{{Lang: "en", Title: "Phishing wave", Summary: "Do not click."}, {Lang: "nl", Title: "Phishinggolf"}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Submit(ctx, actors[0], p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Approve(ctx, actors[1], p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Publish(ctx, actors[1], p.ID); err != nil {
		t.Fatal(err)
	}
	worker.Kick()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ds, err := a.store.Publications.ListDeliveries(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		var hookDelivery publication.Delivery
		for _, d := range ds {
			if d.Channel == "webhook:bridge" {
				hookDelivery = d
			}
		}
		if hookDelivery.Status == publication.DeliverySent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the webhook delivery is %+v", hookDelivery)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].Ident != p.Ident || got[0].URL != "https://cert.example/en/p/"+p.Ident || got[0].Kind != "warning" || verified != nil {
		t.Errorf("the webhook got %+v (signature: %v)", got, verified)
	}
}
