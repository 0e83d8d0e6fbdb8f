package web

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/chromedp/chromedp"
	"github.com/emersion/go-smtp"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/mailreport"
	"github.com/vigil-cert/vigil/internal/mailin"
	"github.com/vigil-cert/vigil/internal/mailin/mailindb"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/pgpmime"
)

// The "Done when" walk of issue 12, and the inert display of mail on an
// incident's timeline, in headless Chromium.

// relayMail is one message the walk's SMTP server received.
type relayMail struct {
	to   []string
	data []byte
}

// walkRelay is a real SMTP server (go-smtp) on 127.0.0.1 that keeps what
// it receives: where the outbox delivers the team's mail in the walk.
type walkRelay struct {
	mu   sync.Mutex
	mail []relayMail
}

type relaySession struct {
	r  *walkRelay
	to []string
}

func (r *walkRelay) NewSession(*smtp.Conn) (smtp.Session, error) { return &relaySession{r: r}, nil }
func (s *relaySession) Reset()                                   { s.to = nil }
func (s *relaySession) Logout() error                            { return nil }
func (s *relaySession) Mail(string, *smtp.MailOptions) error     { return nil }
func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *relaySession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.mail = append(s.r.mail, relayMail{to: s.to, data: b})
	return nil
}

// startRelay serves a walkRelay until the test ends and returns it with
// its port.
func startRelay(t *testing.T) (*walkRelay, int) {
	t.Helper()
	r := &walkRelay{}
	srv := smtp.NewServer(r)
	srv.Domain = "relay.test"
	srv.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return r, l.Addr().(*net.TCPAddr).Port
}

// startMailIn serves the SMTP intake on 127.0.0.1 over st's spool until
// the test ends, and returns its address.
func startMailIn(t *testing.T, st *database.DB) string {
	t.Helper()
	cfg := mailin.DefaultConfig()
	cfg.Listen, cfg.Hostname = "127.0.0.1:0", "mx.cert.example"
	cfg.Recipients = []string{"report@", "suspicious@"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	srv, err := mailin.NewServer(cfg, mailindb.New(st.DB()), nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() { cancel(); <-done })
	return l.Addr().String()
}

// walkTeam stores the team's OpenPGP identity in st and returns it.
func walkTeam(t *testing.T, st *database.DB) *pgpmime.Identity {
	t.Helper()
	armored, err := pgpmime.GenerateIdentity("Example CERT", "cert@example.org", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := notify.StoreIdentity(context.Background(), st, armored); err != nil {
		t.Fatal(err)
	}
	id, err := pgpmime.ParseIdentity(armored, "")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// pngFile writes a small PNG, a reporter's screenshot.
func pngFile(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "screenshot.png")
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var tagInPath = regexp.MustCompile(`/incidents/([0-9]+-[0-9]+)`)

// walk is the state the walk's steps share.
type walk struct {
	st      *database.DB
	ctx     context.Context
	url     string
	team    *pgpmime.Identity
	relay   *walkRelay
	sender  *outbox.Sender
	worker  *mailreport.Worker
	smtp    string
	webRep  incident.Report
	mailRep incident.Report
	// tracking and link are the citizen's; tag the incident that stays.
	tracking, link, tag string
}

// TestBrowserIncidentWalk is issue 12's "Done when": a citizen reports
// on the public form with an attachment and gets a tracking number; a
// phishing forward arrives by SMTP from swaks; an analyst triages both
// (an incident from each), merges the duplicate, adds the playbook's
// tasks, replies to the citizen from a template (the reply reaches a
// local SMTP server through the outbox, signed with the team's key),
// resolves the incident; the citizen's status link shows the outcome.
// Each page is saved as a screenshot (VIGIL_SCREENSHOTS keeps them).
func TestBrowserIncidentWalk(t *testing.T) {
	if _, err := exec.LookPath("swaks"); err != nil {
		t.Fatalf("swaks not found: install Debian's swaks to run the walk: %v", err)
	}
	st := openStore(t)
	const password = "the analyst's long passphrase"
	addUser(t, st, "analyst", auth.RoleAnalyst, password)
	w := &walk{st: st, team: walkTeam(t, st)}
	cc := consoleConfig(t, st, "test")
	cc.ReportForm.MinAge = time.Nanosecond
	cc.ReportForm.From = "Example CERT <cert@example.org>"
	w.url = serveConsole(t, cc).URL
	var port int
	w.relay, port = startRelay(t)
	ocfg := outbox.DefaultConfig()
	ocfg.Host, ocfg.Port, ocfg.TLS, ocfg.Timeout = "127.0.0.1", port, outbox.TLSNone, 10*time.Second
	var err error
	if w.sender, err = outbox.NewSender(ocfg, st, nil); err != nil {
		t.Fatal(err)
	}
	w.smtp = startMailIn(t, st)
	w.worker = &mailreport.Worker{DB: st.DB(), Service: &incident.Service{Store: st, Audit: st}, Mails: mailindb.New(st.DB())}
	w.ctx = startChromium(t, w.url+"/report?lang=en")
	runSteps(t,
		browserStep{"citizen reports on the form", w.citizen},
		browserStep{"a forward arrives by SMTP", w.forward},
		browserStep{"the analyst opens an incident from each", w.triage},
		browserStep{"merge the duplicate", w.merge},
		browserStep{"tasks from the playbook", w.playbook},
		browserStep{"reply to the citizen", w.reply},
		browserStep{"the reply reaches the relay, signed", w.delivered},
		browserStep{"resolve", w.resolve},
		browserStep{"the citizen's status link", w.status},
	)
}

func (w *walk) citizen(t *testing.T) {
	err := chromedp.Do(w.ctx,
		chromedp.WaitVisible(chromedp.ID("report-form")),
		chromedp.Click(chromedp.ID("kind-phishing")),
		chromedp.SendKeys(chromedp.ID("concerned"), "https://secure-bank-login.example/verify"),
		chromedp.SendKeys(chromedp.ID("text"), "A mail from my bank asked me to log in on this site. It looks fake."),
		chromedp.SendKeys(chromedp.ID("email"), "citizen@mail.example"),
		chromedp.SetUploadFiles(chromedp.ID("files"), []string{pngFile(t)}),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, w.ctx, "walk-1-form")
	if err := chromedp.Do(w.ctx, chromedp.Click(chromedp.ID("send")), chromedp.WaitVisible(chromedp.ID("tracking"))); err != nil {
		t.Fatal(err)
	}
	w.tracking = run(t, w.ctx, chromedp.Text(chromedp.ID("tracking")))
	w.link = run(t, w.ctx, chromedp.AttributeValue(chromedp.ID("status-link"), "href")).Value
	screenshot(t, w.ctx, "walk-2-tracking")
	if w.webRep, err = w.st.GetReportByTracking(context.Background(), w.tracking); err != nil {
		t.Fatal(err)
	}
	if len(w.webRep.Attachments) != 1 || w.webRep.Attachments[0].ContentType != "image/png" || w.webRep.State != incident.ReportNew {
		t.Errorf("the citizen's report %+v", w.webRep)
	}
}

func (w *walk) forward(t *testing.T) {
	body := "Look at this one:\n\n---------- Forwarded message ---------\nFrom: Secure Bank <security@bank-verify-login.example>\n" +
		"Subject: Your account is blocked\n\nLog in at http://bank-verify-login.example/account to unblock it.\n"
	out, err := exec.Command("swaks", "--server", w.smtp, "--helo", "client.example.org", "--from", "someone@mail.example",
		"--to", "suspicious@cert.example", "--header", "Subject: Fwd: Your account is blocked", "--body", body).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "250 2.0.0") {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	if n, err := w.worker.RunOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("the mail reports: %d, %v", n, err)
	}
	page, err := w.st.ListReports(context.Background(), incident.ReportQuery{Channels: []incident.Channel{incident.ChannelEmail}})
	if err != nil || len(page.Reports) != 1 {
		t.Fatalf("reports by mail: %+v, %v", page, err)
	}
	w.mailRep = page.Reports[0]
	if w.mailRep.Kind != incident.KindPhishing || w.mailRep.State != incident.ReportNew {
		t.Errorf("the forward's report %+v", w.mailRep)
	}
}

// openFrom opens an incident from one report in the queue and returns
// its tag.
func (w *walk) openFrom(t *testing.T, rep incident.Report, title string) string {
	t.Helper()
	err := chromedp.Do(w.ctx,
		chromedp.Navigate(w.url+"/reports"),
		chromedp.WaitVisible(chromedp.ID("reports")),
		chromedp.Click(chromedp.ID(fmt.Sprintf("select-%d", rep.ID))),
		chromedp.SendKeys(chromedp.ID("open-title"), title),
		chromedp.Click(chromedp.ID("open-incident")),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitText(t, w.ctx, "#incident-title", title)
	m := tagInPath.FindStringSubmatch(run(t, w.ctx, chromedp.Location()))
	if m == nil {
		t.Fatal("no incident tag in the address")
	}
	return m[1]
}

func (w *walk) triage(t *testing.T) {
	if err := chromedp.Do(w.ctx, chromedp.Navigate(w.url+"/reports")); err != nil {
		t.Fatal(err)
	}
	logIn(t, w.ctx, "analyst", "the analyst's long passphrase", "reports")
	queue := run(t, w.ctx, chromedp.Text(chromedp.ID("reports")))
	if !strings.Contains(queue, w.tracking) || !strings.Contains(queue, w.mailRep.Tracking) {
		t.Fatalf("the queue lacks a report: %q", queue)
	}
	screenshot(t, w.ctx, "walk-3-queue")
	w.tag = w.openFrom(t, w.webRep, "Fake bank login page")
	other := w.openFrom(t, w.mailRep, "Fake bank login page (forward)")
	if other == w.tag {
		t.Fatal("both reports went to one incident")
	}
	// The second incident is open: merge it into the first.
	if err := chromedp.Do(w.ctx,
		chromedp.SendKeys(chromedp.ID("merge-into"), w.tag),
		chromedp.SendKeys(chromedp.ID("merge-reason"), "The same fake bank site"),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, w.ctx, "walk-4-duplicate")
}

func (w *walk) merge(t *testing.T) {
	if err := chromedp.Do(w.ctx, chromedp.Click(chromedp.ID("merge-submit"))); err != nil {
		t.Fatal(err)
	}
	waitText(t, w.ctx, "#incident-heading", w.tag)
	waitText(t, w.ctx, "#incident-reports", w.mailRep.Tracking)
	if reports := run(t, w.ctx, chromedp.Text(chromedp.ID("incident-reports"))); !strings.Contains(reports, w.tracking) {
		t.Errorf("the merged incident's reports: %q", reports)
	}
	screenshot(t, w.ctx, "walk-5-merged")
}

func (w *walk) playbook(t *testing.T) {
	if err := chromedp.Do(w.ctx, chromedp.Click(chromedp.ID("playbook-submit"))); err != nil {
		t.Fatal(err)
	}
	waitText(t, w.ctx, "#tasks", "Collect the full headers")
	screenshot(t, w.ctx, "walk-6-tasks")
}

func (w *walk) reply(t *testing.T) {
	err := chromedp.Do(w.ctx,
		chromedp.SetValue(chromedp.ID("mail-start-template"), "ack"),
		chromedp.Click(chromedp.ID("mail-start-submit")),
		chromedp.WaitVisible(chromedp.ID("mail-template-form")),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name="to"][value="report:%d"]`, w.webRep.ID))),
		chromedp.Click(chromedp.ID("mail-fill")),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitText(t, w.ctx, "#mail-recipients", "citizen@mail.example")
	subject := run(t, w.ctx, chromedp.Value(chromedp.ID("mail-subject")))
	if want := "[VIGIL#" + w.tag + "] We received your report " + w.tracking; subject != want {
		t.Errorf("subject %q, want %q", subject, want)
	}
	// The analyst edits the text before sending.
	text := run(t, w.ctx, chromedp.Value(chromedp.ID("mail-text")))
	if err := chromedp.Do(w.ctx, chromedp.SetValue(chromedp.ID("mail-text"), text+"\nPS: the fake site is being taken down.\n")); err != nil {
		t.Fatal(err)
	}
	screenshot(t, w.ctx, "walk-7-compose")
	axeCheck(t, w.ctx, axeSource(t), "/incidents/"+w.tag+"/mail", "en")
	if err := chromedp.Do(w.ctx, chromedp.Click(chromedp.ID("mail-send"))); err != nil {
		t.Fatal(err)
	}
	waitText(t, w.ctx, "#timeline", "the fake site is being taken down")
	if tl := run(t, w.ctx, chromedp.Text(chromedp.ID("timeline"))); !strings.Contains(tl, "citizen@mail.example") || !strings.Contains(tl, subject) {
		t.Errorf("the timeline's mail: %q", tl)
	}
	screenshot(t, w.ctx, "walk-8-sent")
	axeCheck(t, w.ctx, axeSource(t), "/incidents/"+w.tag+" (a mail sent)", "en")
}

func (w *walk) delivered(t *testing.T) {
	if err := w.sender.SendDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.relay.mu.Lock()
	defer w.relay.mu.Unlock()
	var reply []byte
	for _, m := range w.relay.mail {
		if len(m.to) == 1 && m.to[0] == "citizen@mail.example" && bytes.Contains(m.data, []byte("[VIGIL#"+w.tag+"]")) {
			reply = m.data
		}
	}
	if reply == nil {
		t.Fatalf("the reply did not reach the relay; it got %d mails", len(w.relay.mail))
	}
	opened, err := pgpmime.Open(reply, openpgp.EntityList{w.team.Entity()})
	if err != nil || !opened.Signed || opened.SignerFingerprint != w.team.Fingerprint() {
		t.Fatalf("the reply's signature: %+v, %v", opened, err)
	}
	if !bytes.Contains(opened.Content, []byte("taken down")) || !bytes.Contains(opened.Content, []byte(w.tracking)) {
		t.Errorf("the signed text:\n%s", opened.Content)
	}
	// Another key does not verify it: the check can fail.
	other, err := pgpmime.GenerateIdentity("Not the team", "x@example.net", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	otherID, _ := pgpmime.ParseIdentity(other, "")
	if o, err := pgpmime.Open(reply, openpgp.EntityList{otherID.Entity()}); err == nil && o.Signed {
		t.Error("the reply verifies with a key that is not the team's")
	}
}

func (w *walk) resolve(t *testing.T) {
	err := chromedp.Do(w.ctx,
		chromedp.SetValue(chromedp.ID("status-to"), "resolved"),
		chromedp.SendKeys(chromedp.ID("status-reason"), "The host took the site down"),
		chromedp.Click(chromedp.ID("status-submit")),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitText(t, w.ctx, "#incident-status", "resolved (The host took the site down)")
	screenshot(t, w.ctx, "walk-9-resolved")
}

func (w *walk) status(t *testing.T) {
	link := w.link
	if strings.HasPrefix(link, "/") {
		link = w.url + link
	}
	if err := chromedp.Do(w.ctx, chromedp.Navigate(link)); err != nil {
		t.Fatal(err)
	}
	waitText(t, w.ctx, "#incident", "The incident is resolved.")
	screenshot(t, w.ctx, "walk-10-status")
}

// TestBrowserMailInertOnTimeline: a mail threaded onto an incident by
// its tag, whose text is HTML with a script and an image with onerror,
// is shown on the timeline as text: no script of it runs and no element
// of it is in the page.
func TestBrowserMailInertOnTimeline(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	const password = "the analyst's long passphrase"
	addUser(t, st, "analyst", auth.RoleAnalyst, password)
	svc := &incident.Service{Store: st, Audit: st}
	inc, err := svc.CreateIncident(ctx, incident.Actor{Name: "analyst"}, incident.Incident{Title: "Phishing wave"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	html := `<html><body><script>window.pwned = 1</script><img id="evil" src="x" onerror="window.pwned = 2"><b id="bold">Thanks</b></body></html>`
	r := incident.Report{Channel: incident.ChannelEmail, Kind: incident.KindOther, Received: time.Now(),
		Subject: "Re: " + inc.Tag.Subject() + " <script>window.pwned = 3</script>", Text: html,
		Reporter: incident.Reporter{Name: "<img src=y onerror=window.pwned=4>", Email: "reporter@mail.example"}}
	if _, err := svc.Receive(ctx, &r); err != nil {
		t.Fatal(err)
	}
	srv := serveConsole(t, consoleConfig(t, st, "test"))
	tctx := startChromium(t, srv.URL+"/incidents/"+inc.Tag.String())
	logIn(t, tctx, "analyst", password, "timeline")
	waitText(t, tctx, "#timeline .mail-text", "<script>window.pwned = 1</script>")
	screenshot(t, tctx, "mail-inert")
	js := `(() => {
		if (window.pwned !== undefined) return "a script ran: " + window.pwned;
		if (document.getElementById("evil") || document.getElementById("bold")) return "an element of the mail is in the page";
		for (const s of document.scripts) { if (s.textContent.includes("pwned")) return "a script of the mail is in the page"; }
		for (const i of document.images) { if (i.getAttribute("onerror")) return "an image with onerror is in the page"; }
		return "inert";
	})()`
	if verdict := run(t, tctx, chromedp.Evaluate[string](js)); verdict != "inert" {
		t.Errorf("the mail on the timeline: %s", verdict)
	}
	if from := run(t, tctx, chromedp.Text(chromedp.CSS("#timeline .mail-from"))); !strings.Contains(from, "<img src=y") || !strings.Contains(from, "reporter@mail.example") {
		t.Errorf("the sender shown %q", from)
	}
}
