// Package notifytest is the contract of the notifier's data: the
// settings (policies and the templates' overrides), what was told to
// whom, and the commit of a pass, answered alike by notifydb on SQLite and
// on PostgreSQL.
package notifytest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

var base = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// Run runs the contract. open returns a fresh database of its own for
// every call, migrated with every capability's schema (the commit writes
// the outbox's table), and the notifier's data on it.
func Run(t *testing.T, open func(t *testing.T) (store.Store, Notifier)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st store.Store, s Notifier)
	}{
		{"notification policies and templates", testPoliciesAndTemplates},
		{"a deleted organisation's policy goes", testDeletedOrganisation},
		{"commit notifications", testCommitNotifications},
		{"notified keys", testNotifiedKeys},
		{"a deleted organisation's records go", testDeletedOrganisationRecords},
		{"event entries", testEventEntries},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, s := open(t)
			tt.fn(t, st, s)
		})
	}
}

// testDeletedOrganisation: deleting an organisation deletes its policy
// (the settings' hook, which the database gives the constituency, runs
// in the delete's transaction) and leaves the team default alone.
func testDeletedOrganisation(t *testing.T, st store.Store, s Notifier) {
	ctx := t.Context()
	a := createOrg(t, st, "a")
	for _, p := range []notify.Policy{{OrgID: 0, Enabled: true, Digest: notify.DigestDaily}, {OrgID: a.ID, Digest: notify.DigestHourly}} {
		if err := s.PutNotificationPolicy(ctx, p); err != nil {
			t.Fatalf("PutNotificationPolicy(%d): %v", p.OrgID, err)
		}
	}
	if err := database.Constituency(st.DB()).DeleteOrganisation(ctx, a.ID); err != nil {
		t.Fatalf("DeleteOrganisation: %v", err)
	}
	if _, err := s.GetNotificationPolicy(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("policy of a deleted organisation: %v, want ErrNotFound", err)
	}
	if p, err := s.GetNotificationPolicy(ctx, 0); err != nil || p.Digest != notify.DigestDaily {
		t.Errorf("team default after the delete = %+v, %v", p, err)
	}
	if err := s.PutNotificationPolicy(ctx, notify.Policy{OrgID: a.ID}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PutNotificationPolicy(deleted organisation) = %v, want ErrNotFound", err)
	}
}

func testPoliciesAndTemplates(t *testing.T, st store.Store, s Notifier) {
	ctx := t.Context()
	a := createOrg(t, st, "a")
	if _, err := s.GetNotificationPolicy(ctx, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetNotificationPolicy(none) = %v, want ErrNotFound", err)
	}
	def := notify.Policy{OrgID: 0, Enabled: true, Immediate: []string{"phishing", "infected-system"},
		Digest: notify.DigestDaily, Format: notify.FormatSummary, Updated: base}
	own := notify.Policy{OrgID: a.ID, Enabled: true, Taxonomies: []string{"vulnerable"}, Types: []string{"ddos-amplifier"},
		Feeds: []string{"Shadowserver open-dns", "Shadowserver open-ntp"}, Digest: notify.DigestHourly, Format: notify.FormatJSON,
		Language: "nl", Updated: base.Add(time.Minute)}
	for _, p := range []notify.Policy{own, def} {
		if err := s.PutNotificationPolicy(ctx, p); err != nil {
			t.Fatalf("PutNotificationPolicy(%d): %v", p.OrgID, err)
		}
	}
	if err := s.PutNotificationPolicy(ctx, notify.Policy{OrgID: 999999}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PutNotificationPolicy(unknown organisation) = %v, want ErrNotFound", err)
	}
	samePolicy := func(got, want notify.Policy) bool {
		return got.OrgID == want.OrgID && got.Enabled == want.Enabled && slices.Equal(got.Taxonomies, want.Taxonomies) &&
			slices.Equal(got.Types, want.Types) && slices.Equal(got.Feeds, want.Feeds) && slices.Equal(got.Immediate, want.Immediate) &&
			got.Digest == want.Digest && got.Format == want.Format && got.Language == want.Language && got.Updated.Equal(want.Updated)
	}
	for _, want := range []notify.Policy{def, own} {
		got, err := s.GetNotificationPolicy(ctx, want.OrgID)
		if err != nil || !samePolicy(got, want) {
			t.Errorf("GetNotificationPolicy(%d) = %+v, %v; want %+v", want.OrgID, got, err, want)
		}
	}
	list, err := s.ListNotificationPolicies(ctx)
	if err != nil || len(list) != 2 || !samePolicy(list[0], def) || !samePolicy(list[1], own) {
		t.Errorf("ListNotificationPolicies = %+v, %v; want the default, then a's", list, err)
	}
	changed := notify.Policy{OrgID: a.ID, Digest: notify.DigestOff, Format: notify.FormatXARF}
	if err := s.PutNotificationPolicy(ctx, changed); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetNotificationPolicy(ctx, a.ID)
	if err != nil || got.Enabled || got.Taxonomies != nil || got.Feeds != nil || got.Digest != notify.DigestOff || got.Updated.IsZero() {
		t.Errorf("replaced policy = %+v, %v", got, err)
	}
	if err := s.DeleteNotificationPolicy(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetNotificationPolicy(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted policy: %v, want ErrNotFound", err)
	}
	if err := s.DeleteNotificationPolicy(ctx, a.ID); err != nil {
		t.Errorf("deleting a missing policy: %v", err)
	}

	sameTemplate := func(got, want notify.TemplateSource) bool {
		return got.Language == want.Language && got.Name == want.Name && got.Subject == want.Subject && got.Body == want.Body &&
			got.Updated.Equal(want.Updated) && got.UpdatedBy == want.UpdatedBy
	}
	templates := []notify.TemplateSource{
		{Language: "nl", Name: "digest", Subject: "[CERT] {{.Count}} meldingen", Body: "Beste {{.Org}},\n…", Updated: base, UpdatedBy: "alice"},
		{Language: "en", Name: "type/phishing", Body: "A phishing site is hosted on your network.", Updated: base, UpdatedBy: "bob"},
		{Language: "en", Name: "digest", Subject: "[CERT] {{.Count}} reports", Body: "Dear {{.Org}},\n…", Updated: base, UpdatedBy: "alice"},
	}
	for _, tpl := range templates {
		if err := s.PutNotificationTemplate(ctx, tpl); err != nil {
			t.Fatalf("PutNotificationTemplate: %v", err)
		}
	}
	if got, err := s.GetNotificationTemplate(ctx, "nl", "digest"); err != nil || !sameTemplate(got, templates[0]) {
		t.Errorf("GetNotificationTemplate = %+v, %v; want %+v", got, err, templates[0])
	}
	if _, err := s.GetNotificationTemplate(ctx, "fr", "digest"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetNotificationTemplate(not overridden) = %v, want ErrNotFound", err)
	}
	all, err := s.ListNotificationTemplates(ctx)
	if err != nil || len(all) != 3 || !sameTemplate(all[0], templates[2]) || !sameTemplate(all[1], templates[1]) || !sameTemplate(all[2], templates[0]) {
		t.Errorf("ListNotificationTemplates = %+v, %v; want by language, then name", all, err)
	}
	upd := templates[2]
	upd.Body, upd.UpdatedBy, upd.Updated = "Hello {{.Org}}", "carol", time.Time{}
	if err := s.PutNotificationTemplate(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetNotificationTemplate(ctx, "en", "digest"); got.Body != "Hello {{.Org}}" || got.UpdatedBy != "carol" || got.Updated.IsZero() {
		t.Errorf("replaced template = %+v", got)
	}
	if err := s.DeleteNotificationTemplate(ctx, "en", "digest"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetNotificationTemplate(ctx, "en", "digest"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted template: %v, want ErrNotFound", err)
	}
	if err := s.DeleteNotificationTemplate(ctx, "en", "digest"); err != nil {
		t.Errorf("deleting a missing template: %v", err)
	}
}

// The shared helpers of the contract suites.
var (
	createOrg = storetest.Organisation
)
