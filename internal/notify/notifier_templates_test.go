package notify

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/store"
)

func TestTemplateOverrides(t *testing.T) {
	e := newEnv(t, nil)
	broken := TemplateSource{Language: "en", Name: NameDigest, Subject: "{{.Total}} things", Body: "Hello\n{{.NoSuchField}}\n"}
	err := e.n.SaveTemplate(e.ctx, broken)
	var te *TemplateError
	if !errors.As(err, &te) || te.Line != 2 {
		t.Fatalf("SaveTemplate of a broken template: %v", err)
	}
	if _, err := e.db.GetNotificationTemplate(e.ctx, "en", NameDigest); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("the broken template was saved")
	}
	// One stored past the check (an older version, another tool) must not
	// stop notifications: the built-in is used and the failure logged.
	if err := e.db.PutNotificationTemplate(e.ctx, broken); err != nil {
		t.Fatal(err)
	}
	e.put([]map[string]string{scan("192.0.2.53")})
	if rep := e.run(day1); rep.Messages != 1 {
		t.Fatalf("a broken override stopped sending: %+v", rep)
	}
	msgs := e.messages()
	if !strings.HasPrefix(msgs[0].Subject, "[Example CERT] 1 security event") {
		t.Errorf("subject %q, want the built-in's", msgs[0].Subject)
	}
	if !strings.Contains(e.logs.String(), "override fails") || !strings.Contains(e.logs.String(), "NoSuchField") {
		t.Errorf("the failure was not logged:\n%s", e.logs)
	}
	good := TemplateSource{Language: "en", Name: NameDigest, Subject: "CERT report: {{.Total}}", Body: "Hi {{.Org.Name}}\n{{range .Sections}}{{.Explanation}}\n{{.Table}}\n{{end}}", UpdatedBy: "analyst"}
	if err := e.n.SaveTemplate(e.ctx, good); err != nil {
		t.Fatal(err)
	}
	spam := TemplateSource{Language: "en", Name: "type/ddos-amplifier", Body: "Our own words about {{.Type}}."}
	if err := e.n.SaveTemplate(e.ctx, spam); err != nil {
		t.Fatal(err)
	}
	e.put([]map[string]string{scan("192.0.2.54")})
	e.run(day1.Add(24 * time.Hour))
	msgs = e.messages()
	last := msgs[len(msgs)-1]
	text, _ := e.read(last)
	if last.Subject != "CERT report: 1" || !strings.Contains(text, "Hi Example University") || !strings.Contains(text, "Our own words about ddos-amplifier.") {
		t.Errorf("override not used: %q\n%s", last.Subject, text)
	}
}

func TestPreview(t *testing.T) {
	e := newEnv(t, nil)
	p, err := e.n.Preview(e.ctx, "nl", NameDigest, constituency.Organisation{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Subject, "beveiligingsmeldingen voor het netwerk van Example University") ||
		!strings.Contains(p.Text, "Besmette systemen") || len(p.Attachments) != 1 || len(p.Entity) == 0 {
		t.Errorf("preview %q:\n%s", p.Subject, p.Text)
	}
	p, err = e.n.Preview(e.ctx, "fr", "type/spam", e.org, SampleEvents()[:1])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Text, "Spam envoyé depuis votre réseau") {
		t.Errorf("type preview:\n%s", p.Text)
	}
	_, err = e.n.PreviewDraft(e.ctx, TemplateSource{Language: "en", Name: NameImmediate, Subject: "x", Body: "a\n{{.Nope}}"}, e.org, nil)
	var te *TemplateError
	if !errors.As(err, &te) || te.Line != 2 {
		t.Errorf("draft with an error: %v", err)
	}
	p, err = e.n.PreviewDraft(e.ctx, TemplateSource{Language: "en", Name: NameImmediate, Subject: "Now: {{.Type}}", Body: "{{.Total}} events"}, e.org, nil)
	if err != nil || p.Subject != "Now: ddos-amplifier" || !strings.HasPrefix(p.Text, "4 events") {
		t.Errorf("draft preview %q %q: %v", p.Subject, p.Text, err)
	}
	// A broken stored override is an error in a preview, not a fallback.
	if err := e.db.PutNotificationTemplate(e.ctx, TemplateSource{Language: "de", Name: NameDigest, Subject: "s", Body: "{{.Nope}}"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.n.Preview(e.ctx, "de", NameDigest, e.org, nil); !errors.As(err, &te) {
		t.Errorf("preview of a broken override: %v", err)
	}
}

// TestSignedMessageGolden pins the complete message as queued: the outer
// header, the RFC 3156 structure and the protected headers. What changes
// from run to run (the Message-ID, the signing boundary, the signature)
// is normalised.
func TestSignedMessageGolden(t *testing.T) {
	e := newEnv(t, nil)
	e.put([]map[string]string{scan("192.0.2.53")})
	e.run(day1)
	msgs := e.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	body := string(msgs[0].Body)
	body = strings.ReplaceAll(body, msgs[0].MessageID, "MESSAGE-ID")
	body = regexp.MustCompile(`vigil-[0-9a-f]{30}`).ReplaceAllString(body, "SIGNING-BOUNDARY")
	body = regexp.MustCompile(`(?s)-----BEGIN PGP SIGNATURE-----.*?-----END PGP SIGNATURE-----`).ReplaceAllString(body, "SIGNATURE")
	golden(t, "signed-en-summary.golden", []byte(strings.ReplaceAll(body, "\r\n", "\n")))
	if strings.Contains(body, "vigil-") {
		t.Error("a random boundary was not normalised")
	}
}

// TestRenderBuffersReturned: the file buffers of every rendered message go
// back to the renderer, after a pass and after a pass whose messages cannot
// be signed (the team key is not valid yet at its time), which ends the
// organisation's work at the first of its messages.
func TestRenderBuffersReturned(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxEventsPerMessage = 1 })
	e.put([]map[string]string{scan("192.0.2.1"), scan("192.0.2.2")})
	rep, err := e.n.RunOnce(e.ctx, keyTime.Add(-24*time.Hour))
	if err != nil || len(rep.Errors) != 1 {
		t.Fatalf("pass before the team key: %+v, %v; want the organisation's work failed", rep, err)
	}
	if n := e.n.pass.render.lent.Load(); n != 0 {
		t.Errorf("after a pass that could not sign: %d buffers not given back", n)
	}
	if rep := e.run(day1); rep.Messages != 2 {
		t.Fatalf("%+v, want the digest in two parts", rep)
	}
	if n := e.n.pass.render.lent.Load(); n != 0 {
		t.Errorf("after a pass: %d buffers not given back", n)
	}
}
