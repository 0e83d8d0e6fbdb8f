package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/store"
)

func TestPolicyForms(t *testing.T) {
	env := newTeamEnv(t, nil)
	ctx := context.Background()
	o := env.createOrganisation(constituency.Organisation{Handle: "uni", Name: "Uni", Language: "nl"})
	b := env.browser()
	b.login("analyst", analystPassword)

	page := b.get(orgPath(o))
	mustSay(t, page.body, "Team default", "Digest daily", "Language Dutch", "Give it a policy of its own")
	if r := b.get(orgPath(o) + "/policy"); r.status != http.StatusOK {
		t.Fatalf("policy form: %d", r.status)
	}
	good := url.Values{
		"enabled": {"on"}, "digest": {"hourly"}, "format": {"json"}, "language": {"fr"},
		"taxonomies": {"vulnerable", "malicious-code"}, "types": {"infected-system", "vulnerable-system"},
		"immediate": {"infected-system"}, "feeds": {"shadowserver-scan-rdp\r\nshadowserver-sinkhole\r\n"},
	}
	r := b.post(orgPath(o)+"/policy", good)
	if r.status != http.StatusSeeOther || r.location != orgPath(o)+"?done=policy" {
		t.Fatalf("save: %d %q %.800s", r.status, r.location, text(r.body))
	}
	p, err := env.store.GetNotificationPolicy(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Enabled || p.Digest != "hourly" || p.Format != "json" || p.Language != "fr" ||
		!slices.Equal(p.Feeds, []string{"shadowserver-scan-rdp", "shadowserver-sinkhole"}) ||
		!slices.Equal(p.Immediate, []string{"infected-system"}) || len(p.Types) != 2 || len(p.Taxonomies) != 2 {
		t.Fatalf("stored %+v", p)
	}
	page = b.get(orgPath(o))
	mustSay(t, page.body, "Own policy", "Digest hourly", "Format summary with IntelMQ JSON", "Language French",
		"Sent at once infected-system", "Feeds shadowserver-scan-rdp, shadowserver-sinkhole")
	form := b.get(orgPath(o) + "/policy").body
	mustContain(t, form, `<option selected>infected-system</option>`, `value="hourly" selected`, "shadowserver-scan-rdp\nshadowserver-sinkhole")

	t.Run("bad values are refused", func(t *testing.T) {
		for name, change := range map[string]url.Values{
			"digest":  {"digest": {"weekly"}},
			"type":    {"types": {"no-such-type"}},
			"nothing": {"digest": {"off"}, "immediate": nil},
		} {
			bad := url.Values{}
			for k, v := range good {
				bad[k] = v
			}
			for k, v := range change {
				bad[k] = v
			}
			r := b.post(orgPath(o)+"/policy", bad)
			if r.status != http.StatusBadRequest {
				t.Errorf("%s: status %d", name, r.status)
				continue
			}
			mustSay(t, r.body, "The policy was not saved: correct the marked fields.")
		}
		r := b.post(orgPath(o)+"/policy", url.Values{"enabled": {"on"}, "digest": {"weekly"}, "format": {"summary"}})
		mustSay(t, r.body, `"weekly": want hourly, daily or off`)
		// The same problem in the reader's language.
		env.addUser("admin-de", auth.RoleAdmin, "the German admin's passphrase")
		de := env.browser()
		de.login("admin-de", "the German admin's passphrase")
		de.post("/account/language", url.Values{"language": {"de"}})
		de.get(orgPath(o) + "/policy")
		r = de.post(orgPath(o)+"/policy", url.Values{"enabled": {"on"}, "digest": {"weekly"}, "format": {"summary"}})
		mustSay(t, r.body, `"weekly": erwartet wird hourly, daily oder off`)
		if p, _ := env.store.GetNotificationPolicy(ctx, o.ID); p.Digest != "hourly" {
			t.Fatalf("a refused policy was stored: %+v", p)
		}
	})
	t.Run("team default", func(t *testing.T) {
		r := b.post("/notifications/policy", url.Values{"enabled": {"on"}, "digest": {"daily"}, "format": {"xarf"}})
		if r.status != http.StatusSeeOther || r.location != "/notifications/settings?done=policy" {
			t.Fatalf("save: %d %q", r.status, r.location)
		}
		def, err := env.store.GetNotificationPolicy(ctx, 0)
		if err != nil || def.Format != "xarf" {
			t.Fatalf("team default %+v %v", def, err)
		}
		mustSay(t, b.get("/notifications/settings").body, "Set by the team.", "Format X-ARF, one report per event")
	})
	t.Run("use the team default", func(t *testing.T) {
		r := b.post(orgPath(o)+"/policy", url.Values{"action": {"default"}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("status %d", r.status)
		}
		if _, err := env.store.GetNotificationPolicy(ctx, o.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("own policy still there: %v", err)
		}
		mustSay(t, b.get(orgPath(o)).body, "Team default", "Format X-ARF, one report per event", "Language Dutch")
	})
	for _, want := range []string{"policy.update", "policy.delete"} {
		if !contains(env.auditActions(), want) {
			t.Errorf("audit lacks %s", want)
		}
	}
}

func TestTemplateEditor(t *testing.T) {
	env := newTeamEnv(t, nil)
	ctx := context.Background()
	b := env.browser()
	b.login("analyst", analystPassword)
	r := b.get("/notifications/settings")
	for _, name := range notify.BuiltinNames() {
		for _, lang := range notify.Languages {
			mustContain(t, r.body, `href="/notifications/templates/`+lang+"/"+name+`"`)
		}
	}
	if strings.Contains(r.body, "overridden") {
		t.Fatal("a template shows as changed before any change")
	}
	path := "/notifications/templates/en/digest"
	r = b.get(path)
	if r.status != http.StatusOK {
		t.Fatalf("editor: %d", r.status)
	}
	mustContain(t, r.body, `id="preview-subject">`, "Example University")

	t.Run("preview a draft", func(t *testing.T) {
		r := b.post(path, url.Values{"action": {"preview"}, "subject": {"Draft for {{.Org.Name}}"}, "body": {"Hello {{.Org.Handle}}\r\n"}})
		if r.status != http.StatusOK {
			t.Fatalf("status %d %.500s", r.status, text(r.body))
		}
		mustContain(t, r.body, `<dd id="preview-subject">Draft for Example University</dd>`, "Hello example-university")
		if _, err := env.store.GetNotificationTemplate(ctx, "en", "digest"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a preview stored the template: %v", err)
		}
	})
	t.Run("a broken template is refused with its line", func(t *testing.T) {
		r := b.post(path, url.Values{"action": {"save"}, "subject": {"ok"}, "body": {"line one\nline two {{.Org.Nope}}\n"}})
		if r.status != http.StatusBadRequest {
			t.Fatalf("status %d", r.status)
		}
		mustSay(t, r.body, "The template was not saved.", "The template does not work (body, line 2)", "Nope")
		mustContain(t, r.body, "line two {{.Org.Nope}}")
		if _, err := env.store.GetNotificationTemplate(ctx, "en", "digest"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a broken template was stored: %v", err)
		}
		r = b.post(path, url.Values{"action": {"save"}, "subject": {"{{if}}"}, "body": {"fine"}})
		mustSay(t, r.body, "The template does not work (subject, line 1)")
	})
	t.Run("save and revert", func(t *testing.T) {
		r := b.post(path, url.Values{"action": {"save"}, "subject": {"[CERT] {{.Total}} for {{.Org.Name}}"}, "body": {"Dear {{.Org.Name}},\r\nsee attached.\r\n"}})
		if r.status != http.StatusSeeOther || r.location != path+"?done=template" {
			t.Fatalf("save: %d %q %.500s", r.status, r.location, text(r.body))
		}
		saved, err := env.store.GetNotificationTemplate(ctx, "en", "digest")
		if err != nil || saved.Body != "Dear {{.Org.Name}},\nsee attached.\n" || saved.UpdatedBy != "analyst" {
			t.Fatalf("stored %+v %v", saved, err)
		}
		page := b.get(path + "?done=template")
		mustSay(t, page.body, "The template was saved.", "changed", "by analyst")
		mustContain(t, page.body, `id="preview-subject">[CERT]`, "Dear Example University,")
		mustContain(t, b.get("/notifications/settings").body, `class="badge soon overridden"`)
		r = b.post(path, url.Values{"action": {"revert"}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("revert: %d", r.status)
		}
		if _, err := env.store.GetNotificationTemplate(ctx, "en", "digest"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("override still there: %v", err)
		}
	})
	t.Run("type explanations have no subject", func(t *testing.T) {
		r := b.get("/notifications/templates/nl/type/generic")
		if r.status != http.StatusOK || strings.Contains(r.body, `name="subject"`) {
			t.Fatalf("status %d, subject field shown: %v", r.status, strings.Contains(r.body, `name="subject"`))
		}
	})
	for _, p := range []string{"/notifications/templates/xx/digest", "/notifications/templates/en/nonsense", "/notifications/templates/en/type/nonsense"} {
		if r := b.get(p); r.status != http.StatusNotFound {
			t.Errorf("%s: %d", p, r.status)
		}
	}
	for _, want := range []string{"template.save", "template.revert"} {
		if !contains(env.auditActions(), want) {
			t.Errorf("audit lacks %s", want)
		}
	}
}

func TestNotificationLog(t *testing.T) {
	env := newTeamEnv(t, nil)
	ctx := context.Background()
	a := env.createOrganisation(constituency.Organisation{Handle: "uni-a", Name: "University A", Language: "en"})
	bOrg := env.createOrganisation(constituency.Organisation{Handle: "uni-b", Name: "University B", Language: "en"})
	// As the constituency enricher tags them: ev concerns both, other b.
	ev := makeEvent(t, "feed-a", "192.0.2.1", time.Now().Add(-time.Hour), store.ConstituencyField, `["uni-a","uni-b"]`)
	other := makeEvent(t, "feed-a", "192.0.2.2", time.Now().Add(-time.Hour), store.ConstituencyField, `["uni-b"]`)
	env.insert(ev, other)
	queued, err := env.store.ListPendingNotifications(ctx, "uni-b", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	idOf := map[event.Hash]int64{} // the events' ids in the store
	for _, p := range queued {
		idOf[p.Hash] = p.Seq
	}
	msg := func(o constituency.Organisation, subject string, hashes ...event.Hash) outbox.Message {
		var ids []int64
		for _, h := range hashes {
			ids = append(ids, idOf[h])
		}
		return outbox.Message{OrgID: o.ID, Org: o.Handle, Kind: "digest", Sender: "cert@cert.example",
			Recipients: []string{"csirt@" + o.Handle + ".example"}, Subject: subject, MessageID: subject + "@cert.example",
			Body: []byte("body"), Events: len(hashes), EventIDs: ids, Encrypted: o.ID == a.ID}
	}
	var msgs []outbox.Message
	msgs = append(msgs, msg(a, "digest-a", ev.Hash()), msg(bOrg, "digest-b", ev.Hash(), other.Hash()))
	for i := range 55 {
		msgs = append(msgs, msg(a, fmt.Sprintf("filler-%02d", i)))
	}
	commit := &notify.NotificationCommit{Messages: msgs}
	if err := env.store.CommitNotifications(ctx, commit); err != nil {
		t.Fatal(err)
	}
	failed := commit.Messages[1]
	if err := env.store.FailMessage(ctx, failed.ID, 3, "550 5.1.1 <csirt@uni-b.example>: mailbox unknown"); err != nil {
		t.Fatal(err)
	}
	if err := env.store.MarkMessageSent(ctx, commit.Messages[0].ID, time.Now(), "250 2.0.0 Ok: queued as 4BC2"); err != nil {
		t.Fatal(err)
	}
	b := env.browser()
	b.login("analyst", analystPassword)

	r := b.get("/notifications")
	if n := strings.Count(r.body, "<tr"); n != messagesPerPage+1 {
		t.Fatalf("%d rows on the first page, want %d and the header", n-1, messagesPerPage)
	}
	next := b.get(strings.ReplaceAll(regexpFind(t, r.body, `href="(/notifications\?[^"]*before=[^"]*)" id="next"`), "&amp;", "&"))
	mustSay(t, next.body, "digest-a", "250 2.0.0 Ok: queued as 4BC2", "digest-b", "550 5.1.1 <csirt@uni-b.example>: mailbox unknown")

	r = b.get("/notifications?status=failed")
	mustSay(t, r.body, "digest-b", "University B", "failed", "550 5.1.1")
	mustContain(t, r.body, `<tr class="warn failed">`)
	if strings.Contains(r.body, "digest-a") || strings.Contains(r.body, "filler") {
		t.Error("status filter ignored")
	}
	r = b.get(fmt.Sprintf("/notifications?org=%d", bOrg.ID))
	if strings.Count(r.body, "<tr") != 2 || !strings.Contains(r.body, "digest-b") {
		t.Errorf("organisation filter: %.500s", text(r.body))
	}

	t.Run("on the event's page", func(t *testing.T) {
		r := b.get("/events/" + ev.Hash().String())
		table := r.body[strings.Index(r.body, `id="event-notifications"`):]
		mustSay(t, table, "uni-a", "uni-b", "delivered to the mail server", "encrypted", "failed", "mailbox unknown")
		mustSay(t, b.get("/events/"+other.Hash().String()).body, "uni-b")
		if strings.Contains(b.get("/events/"+other.Hash().String()).body, "uni-a") {
			t.Error("a notification that did not report the event is listed")
		}
	})
	t.Run("on the organisation's page", func(t *testing.T) {
		r := b.get(orgPath(a))
		mustSay(t, r.body, "All notifications of this organisation")
		if n := strings.Count(r.body[strings.Index(r.body, `id="messages"`):], "<tr"); n != organisationRecentMessages+1 {
			t.Errorf("%d rows", n-1)
		}
	})
}

// regexpFind returns the first group of pattern in s.
func regexpFind(t *testing.T, s, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in %.500s", pattern, s)
	}
	return m[1]
}
