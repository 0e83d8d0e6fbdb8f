package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/store"
)

const incidentsKey = "demo/incidents"

// demoReport is a report of the demo: what reached the team, by which
// channel. Texts are what reporters write, so they are in the reporter's
// language and are not the interface's.
type demoReport struct {
	channel incident.Channel
	kind    incident.Kind
	lang    string
	name    string
	email   string
	phone   string
	org     string // a constituent's handle, for portal reports and known contacts
	subject string
	text    string
	ago     time.Duration
}

var demoIncidentReports = []demoReport{
	// Three citizens report the same phishing site: one incident, grouped
	// by its URL as they arrive.
	{channel: incident.ChannelWeb, kind: incident.KindPhishing, lang: "nl", email: "jan@mail.example.net",
		subject: "Valse sms van de bank", text: "Ik kreeg een sms: uw kaart is geblokkeerd, ga naar hxxps://kbc-verify-login[.]com/nl/activeer", ago: 26 * time.Hour},
	{channel: incident.ChannelEmail, kind: incident.KindPhishing, lang: "fr", name: "Marie Dubois", email: "marie@courrier.example.org",
		subject: "Fwd: Votre carte est bloquée", text: "Reçu ce matin.\n\nFrom: service@kbc-verify-login.com\nSubject: Votre carte est bloquée\n\nActivez-la sur https://kbc-verify-login.com/nl/activeer", ago: 25 * time.Hour},
	{channel: incident.ChannelWeb, kind: incident.KindPhishing, lang: "en", subject: "Bank phishing",
		text: "Same SMS as everyone: https://kbc-verify-login.com/nl/activeer", ago: 20 * time.Hour},
	// One report of each other channel, waiting in the triage queue.
	{channel: incident.ChannelPhone, kind: incident.KindFraud, lang: "nl", name: "Mevr. Peeters", phone: "+32 9 123 45 67",
		subject: "Helpdeskfraude", text: "Belde op over een 'Microsoft-technicus' die toegang vroeg tot haar pc; verwees naar support-ms-helpdesk.com.", ago: 5 * time.Hour},
	{channel: incident.ChannelPortal, kind: incident.KindDoS, lang: "en", org: ConstituentOrg, name: "CSIRT Université A",
		subject: "Traffic spike on our VPN", text: "Since 06:00 UTC our VPN gateway 198.51.100.20 receives 3 Gbit/s of UDP from many sources.", ago: 3 * time.Hour},
	{channel: incident.ChannelAlert, kind: incident.KindMalware, lang: "en",
		subject: "Sinkhole hits: 12 hosts of one organisation", text: "The pipeline saw 12 hosts of Demo University A contacting the andromeda sinkhole.", ago: 2 * time.Hour},
	{channel: incident.ChannelEvent, kind: incident.KindVulnerability, lang: "en",
		subject: "Exposed RDP at a hospital", text: "From the console's events: 203.0.113.45 answers on 3389/tcp (CVE-2019-0708 unpatched).", ago: 90 * time.Minute},
	{channel: incident.ChannelEmail, kind: incident.KindHackedAccount, lang: "de", name: "Lukas Weber", email: "lukas@post.example.de",
		subject: "Konto gehackt", text: "Mein Mailkonto verschickt Spam, ich habe das Passwort schon geändert.", ago: 40 * time.Minute},
}

// demoIncident is an incident the demo opens from reports and leaves in a
// status, through the workflow as an analyst would move it.
type demoIncident struct {
	// ago is how long before the demo was loaded the incident was opened;
	// each change after that comes an hour later.
	ago      time.Duration
	title    string
	kind     incident.Kind
	severity incident.Severity
	steps    []incident.Status
	reason   string
	overdue  bool
	note     string
	// org is the handle of the constituent it concerns, "" for none.
	org string
}

var demoIncidents = []demoIncident{
	{ago: 6 * time.Hour, title: "Ransomware at a municipality", kind: incident.KindMalware, severity: incident.SeverityCritical,
		steps: []incident.Status{incident.StatusTriage}},
	{ago: 30 * time.Hour, title: "Defaced website of a school", kind: incident.KindOther, severity: incident.SeverityMedium,
		steps: []incident.Status{incident.StatusTriage, incident.StatusInProgress}, note: "Asked the hosting company for the logs.", overdue: true},
	{ago: 3 * 24 * time.Hour, title: "Credential stuffing on a web shop", kind: incident.KindHackedAccount, severity: incident.SeverityHigh,
		steps: []incident.Status{incident.StatusInProgress, incident.StatusWaiting}, reason: "waiting for the shop's access logs"},
	{ago: 5 * 24 * time.Hour, title: "Data leak on a public bucket", kind: incident.KindDataLeak, severity: incident.SeverityHigh,
		steps: []incident.Status{incident.StatusInProgress, incident.StatusResolved}, reason: "bucket closed by the owner"},
	// The demo constituent sees this one in its portal.
	{ago: 20 * time.Hour, title: "Infected hosts at Demo University A", kind: incident.KindMalware, severity: incident.SeverityMedium,
		steps: []incident.Status{incident.StatusTriage, incident.StatusInProgress}, org: ConstituentOrg},
	{ago: 12 * 24 * time.Hour, title: "Scam web shop", kind: incident.KindFraud, severity: incident.SeverityLow,
		steps: []incident.Status{incident.StatusInProgress, incident.StatusResolved, incident.StatusClosed}, reason: "site taken down by the registrar"},
}

// loadIncidents stores, once, the demo's reports (one of every channel,
// three of one phishing site, grouped into an incident as they arrive)
// and incidents in every status, with tasks from their playbook, notes
// and an overdue one.
func (s *Set) loadIncidents(ctx context.Context, st *database.DB) error {
	if _, err := st.GetState(ctx, incidentsKey); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	svc := &incident.Service{Store: st, Audit: st}
	now := time.Now().UTC()
	for _, d := range demoIncidentReports {
		r := &incident.Report{Channel: d.channel, Kind: d.kind, Language: d.lang, Subject: d.subject, Text: d.text,
			Received: now.Add(-d.ago), Reporter: incident.Reporter{Name: d.name, Email: d.email, Phone: d.phone}}
		if d.org != "" {
			org, err := st.GetOrganisationByHandle(ctx, d.org)
			if err != nil {
				return fmt.Errorf("demo report: %w", err)
			}
			r.Reporter.OrgID = org.ID
		}
		r.Observables = extract.Find(d.subject + "\n" + d.text)
		if _, err := svc.Receive(ctx, r); err != nil {
			return fmt.Errorf("demo report %q: %w", d.subject, err)
		}
	}
	analyst, err := st.GetUserByName(ctx, User)
	if err != nil {
		return fmt.Errorf("demo incidents: %w", err)
	}
	for _, d := range demoIncidents {
		clock := now.Add(-d.ago)
		svc.Now = func() time.Time { clock = clock.Add(time.Hour); return clock }
		var orgIDs []int64
		if d.org != "" {
			org, err := st.GetOrganisationByHandle(ctx, d.org)
			if err != nil {
				return fmt.Errorf("demo incident %q: %w", d.title, err)
			}
			orgIDs = []int64{org.ID}
		}
		if err := openDemoIncident(ctx, svc, analyst, d, orgIDs, now); err != nil {
			return fmt.Errorf("demo incident %q: %w", d.title, err)
		}
	}
	return st.PutState(ctx, incidentsKey, []byte(now.Format(time.RFC3339)))
}

func openDemoIncident(ctx context.Context, svc *incident.Service, analyst auth.User, d demoIncident, orgIDs []int64, now time.Time) error {
	a := incident.Actor{UserID: analyst.ID, Name: analyst.Name}
	inc := incident.Incident{Title: d.title, Kind: d.kind, Severity: d.severity, OrgIDs: orgIDs}
	if d.overdue {
		inc.Due = now.Add(-3 * time.Hour)
	}
	inc, err := svc.CreateIncident(ctx, a, inc, nil)
	if err != nil {
		return err
	}
	if _, err := svc.Assign(ctx, a, inc.ID, analyst.ID, analyst.Name); err != nil {
		return err
	}
	tasks, err := svc.AddPlaybookTasks(ctx, a, inc.ID, "en")
	if err != nil {
		return err
	}
	for _, status := range d.steps {
		if status == incident.StatusResolved || status == incident.StatusClosed {
			for _, t := range tasks {
				if _, err := svc.CompleteTask(ctx, a, inc.ID, t.ID); err != nil {
					return err
				}
			}
			tasks = nil
		}
		reason := ""
		if err := incident.CheckTransition(inc.Status, status, ""); err != nil {
			reason = d.reason
		}
		if inc, err = svc.Transition(ctx, a, inc.ID, status, reason); err != nil {
			return err
		}
	}
	if d.note != "" {
		if _, err := svc.AddNote(ctx, a, inc.ID, d.note); err != nil {
			return err
		}
	}
	return nil
}
