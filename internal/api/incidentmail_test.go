package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/pgpmime"
)

// TestIncidentMailAPI: POST /incidents/{tag}/mail writes from a template
// to a reporter the incident offers, signed and queued with its timeline
// line and an audit entry naming the token; a report of another incident,
// an injected subject and a publisher's token are refused, and nothing
// more is queued.
func TestIncidentMailAPI(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := t.Context()
	armored, err := pgpmime.GenerateIdentity("Example CERT", "cert@example.org", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := notify.StoreIdentity(ctx, f.store, armored); err != nil {
		t.Fatal(err)
	}
	svc := &incident.Service{Store: f.store, Audit: f.store}
	r := incident.Report{Channel: incident.ChannelWeb, Kind: incident.KindPhishing, Text: "a fake bank", Language: "de",
		Reporter: incident.Reporter{Email: "jonas@mail.example"}}
	rec, err := svc.Receive(ctx, &r)
	if err != nil {
		t.Fatal(err)
	}
	inc, err := svc.CreateIncident(ctx, incident.Actor{Name: "ada"}, incident.Incident{Title: "Fake bank"}, []int64{rec.ReportID})
	if err != nil {
		t.Fatal(err)
	}
	other, err := svc.CreateIncident(ctx, incident.Actor{Name: "ada"}, incident.Incident{Title: "Other"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := "/incidents/" + inc.Tag.String() + "/mail"
	res := f.sendJSON(http.MethodPost, path, "ana", `{"reports":[`+strconv.FormatInt(rec.ReportID, 10)+`],"template":"ack"}`)
	if res.status != http.StatusCreated {
		t.Fatalf("send: %d %s", res.status, res.body)
	}
	var out mailJSON
	if err := json.Unmarshal(res.body, &out); err != nil {
		t.Fatal(err)
	}
	want := inc.Tag.Subject() + " Wir haben Ihre Meldung erhalten " + rec.Tracking
	if out.Subject != want || len(out.MessageIDs) != 1 || len(out.Recipients) != 1 || out.Recipients[0] != "jonas@mail.example" {
		t.Errorf("answer %+v, want subject %q", out, want)
	}
	msgs, err := f.store.ListMessages(ctx, outbox.MessageQuery{})
	if err != nil || len(msgs) != 1 || msgs[0].Subject != want {
		t.Fatalf("queued %+v, %v", msgs, err)
	}
	tl, err := f.store.Timeline(ctx, inc.ID)
	if err != nil || tl[len(tl)-1].Kind != incident.EntryMailOut || tl[len(tl)-1].Details["lang"] != "de" {
		t.Errorf("timeline %+v, %v", tl, err)
	}
	audit, err := f.store.ListAudit(ctx, auth.AuditQuery{Limit: 1})
	if err != nil || len(audit) != 1 || audit[0].Action != "incident.mail" || audit[0].Actor != "ana" || !strings.Contains(audit[0].Detail, "API token") {
		t.Errorf("audit %+v, %v", audit, err)
	}

	for name, call := range map[string]struct {
		user, path, body string
		status           int
	}{
		"another incident's reporter": {"ana", "/incidents/" + other.Tag.String() + "/mail", `{"reports":[` + strconv.FormatInt(rec.ReportID, 10) + `],"template":"ack"}`, http.StatusBadRequest},
		"subject injection":           {"ana", path, `{"to":["x@example.net"],"subject":"Hi\r\nBcc: all@example.net","text":"x"}`, http.StatusBadRequest},
		"recipient injection":         {"ana", path, `{"to":["x@example.net\r\nBcc: all@example.net"],"subject":"Hi","text":"x"}`, http.StatusBadRequest},
		"too many":                    {"ana", path, `{"to":[` + strings.TrimSuffix(strings.Repeat(`"x@example.net",`, 21), ",") + `],"subject":"Hi","text":"x"}`, http.StatusBadRequest},
		"publisher":                   {"pub", path, `{"to":["x@example.net"],"subject":"Hi","text":"x"}`, http.StatusForbidden},
	} {
		if res := f.sendJSON(http.MethodPost, call.path, call.user, call.body); res.status != call.status {
			t.Errorf("%s: %d %s, want %d", name, res.status, res.body, call.status)
		}
	}
	if msgs, _ := f.store.ListMessages(ctx, outbox.MessageQuery{}); len(msgs) != 1 {
		t.Errorf("%d messages queued after the refusals, want 1", len(msgs))
	}
}
