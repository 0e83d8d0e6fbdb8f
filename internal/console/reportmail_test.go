package console

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/pgpmime"
)

// TestReportAcknowledgement: a reporter who gives an address gets a
// signed acknowledgement in the outbox, in the language of the form; one
// who gives none gets none.
func TestReportAcknowledgement(t *testing.T) {
	e, clock := newReportEnv(t, func(f *ReportForm) { f.From = "Example CERT <cert@example.org>" })
	ctx := context.Background()
	armored, err := pgpmime.GenerateIdentity("Example CERT", "cert@example.org", clock.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := notify.StoreIdentity(ctx, e.store, armored); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	fields := openForm(t, b, "fr")
	clock.Add(3 * time.Second)
	tracking, _ := sent(t, b.postReport("/report", validReport(fields, "http://ack.example/")))
	fields = openForm(t, b, "fr")
	clock.Add(3 * time.Second)
	fields = validReport(fields, "http://anonymous.example/")
	delete(fields, "email")
	sent(t, b.postReport("/report", fields))

	msgs, err := e.store.ListMessages(ctx, outbox.MessageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("%d messages queued, want 1: %+v", len(msgs), msgs)
	}
	m, err := e.store.GetMessage(ctx, msgs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != ackKind || m.Subject != "Votre signalement "+tracking+" a été reçu" || len(m.Recipients) != 1 ||
		m.Recipients[0] != "jan@example.org" || m.Sender != "cert@example.org" || m.Status != outbox.MessageQueued {
		t.Errorf("acknowledgement %+v", m)
	}
	// The team's notification log lists it, without an organisation.
	admin := e.addUser("admin", auth.RoleAdmin, "admin's long passphrase")
	ab := e.browser()
	ab.login(admin.Name, "admin's long passphrase")
	if res := ab.get("/notifications"); !strings.Contains(res.body, "a reporter (web form)") || !strings.Contains(res.body, "report acknowledgement") ||
		strings.Contains(res.body, `href="/constituency/0"`) {
		t.Errorf("the notification log:\n%s", res.body)
	}
	body := string(m.Body)
	for _, want := range []string{"multipart/signed", tracking, "/report/status/" + tracking, "Auto-Submitted: auto-replied"} {
		if !strings.Contains(body, want) {
			t.Errorf("the acknowledgement lacks %q:\n%s", want, body)
		}
	}
}
