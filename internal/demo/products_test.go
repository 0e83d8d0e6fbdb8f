package demo_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/demo"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/channel"
	"github.com/vigil-cert/vigil/internal/publication/products"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

// The demo constituent runs the demo router's affected firmware and the
// building manager (no version declared): publishing the demo tells it of
// those two advisories, each once, and not of the package it runs fixed.
func TestDemoConstituentIsToldOfItsProducts(t *testing.T) {
	ctx := context.Background()
	st := database.On(dbtest.SQLite(t, database.Schemas...))
	set, err := demo.Prepare(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	set.Publishing = &publication.Service{Store: st.Publications, Audit: st,
		Channels: append(slices.Clone(publication.DefaultChannels), products.Channel)}
	for range 2 {
		if err := set.Load(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	org, err := st.GetOrganisationByHandle(ctx, demo.ConstituentOrg)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := st.Products.CountDeclarations(ctx, org.ID); err != nil || n != 4 {
		t.Fatalf("the demo constituent declares %d products (%v), want 4", n, err)
	}
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	sender := &products.Sender{Store: st.Products, Organisations: st, Policies: st, State: st, Catalog: cat,
		From: "Vigil Demo CERT <cert@demo-cert.example>", PortalURL: "https://127.0.0.1:8443/portal"}
	// The publication outbox's worker runs the sender, as `vigil serve`
	// does.
	reg := &channel.Registry{}
	if err := reg.Register(sender); err != nil {
		t.Fatal(err)
	}
	worker := &channel.Worker{Deliveries: st.Publications, Publications: st.Publications, Registry: reg,
		Now: func() time.Time { return time.Now().UTC().Add(time.Minute) }}
	if _, err := worker.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	msgs, err := st.ListMessages(ctx, outbox.MessageQuery{OrgID: org.ID})
	if err != nil {
		t.Fatal(err)
	}
	subjects := map[string]bool{}
	for _, m := range msgs {
		if m.Kind == "advisory" {
			subjects[m.Subject] = true
		}
	}
	var got []string
	for s := range subjects {
		got = append(got, s)
	}
	slices.Sort(got)
	joined := strings.Join(got, "\n")
	if len(got) != 2 || !strings.Contains(joined, "EdgeRouter") || !strings.Contains(joined, "Building Manager") || strings.Contains(joined, "example-parser") {
		t.Errorf("the demo constituent was told of:\n%s", joined)
	}
}
