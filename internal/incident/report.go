package incident

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/taxonomy"
)

// Channel is the way a report reached the team.
type Channel string

// The channels.
const (
	ChannelWeb    Channel = "web"    // the public web form
	ChannelEmail  Channel = "email"  // the SMTP listener or a polled mailbox
	ChannelPhone  Channel = "phone"  // a call or a visit logged by an analyst
	ChannelPortal Channel = "portal" // a constituent's portal
	ChannelAlert  Channel = "alert"  // the pipeline, by rule
	ChannelEvent  Channel = "event"  // the console's events
)

// Channels lists every channel.
var Channels = []Channel{ChannelWeb, ChannelEmail, ChannelPhone, ChannelPortal, ChannelAlert, ChannelEvent}

// Valid reports whether c is one of the channels.
func (c Channel) Valid() bool { return oneOf(c, Channels) }

// Kind is what happened, in the words a reporter chooses on the form.
type Kind string

// The kinds of report.
const (
	KindPhishing      Kind = "phishing"
	KindFakeWebsite   Kind = "fake_website"
	KindHackedAccount Kind = "hacked_account"
	KindMalware       Kind = "malware"
	KindFraud         Kind = "fraud"
	KindDataLeak      Kind = "data_leak"
	KindDoS           Kind = "dos"
	KindVulnerability Kind = "vulnerability"
	KindOther         Kind = "other"
)

// Kinds lists every kind, in the order the form shows them.
var Kinds = []Kind{KindPhishing, KindFakeWebsite, KindHackedAccount, KindMalware, KindFraud,
	KindDataLeak, KindDoS, KindVulnerability, KindOther}

// kindTypes maps each kind to its RSIT classification type
// (internal/taxonomy); TestKindTypes checks that each is one there.
var kindTypes = map[Kind]string{
	KindPhishing:      "phishing",
	KindFakeWebsite:   "masquerade",
	KindHackedAccount: "unprivileged-account-compromise",
	KindMalware:       "infected-system",
	KindFraud:         "masquerade",
	KindDataLeak:      "data-leak",
	KindDoS:           "dos",
	KindVulnerability: "vulnerable-system",
	KindOther:         "undetermined",
}

// Valid reports whether k is one of the kinds.
func (k Kind) Valid() bool { return oneOf(k, Kinds) }

// Classification returns the RSIT taxonomy and type the kind is filed
// under; "other" and "undetermined" for an unknown kind.
func (k Kind) Classification() (taxonomyName, classificationType string) {
	t, ok := kindTypes[k]
	if !ok {
		t = "undetermined"
	}
	tax, _ := taxonomy.TaxonomyOf(t)
	return tax, t
}

// ReportState is where a report is in triage.
type ReportState string

// The states of a report.
const (
	ReportNew     ReportState = "new"     // in the triage queue
	ReportTriaged ReportState = "triaged" // looked at, kept apart from any incident
	ReportLinked  ReportState = "linked"  // part of an incident
	ReportClosed  ReportState = "closed"  // closed with a reason, no incident
)

// ReportStates lists every state.
var ReportStates = []ReportState{ReportNew, ReportTriaged, ReportLinked, ReportClosed}

// Valid reports whether s is one of the states.
func (s ReportState) Valid() bool { return oneOf(s, ReportStates) }

// Reporter is who made a report; every field may be empty (a citizen
// need not say who they are).
type Reporter struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
	// OrgID is the organisation of the constituency the reporter belongs
	// to (a portal user, a known contact), 0 for none.
	OrgID int64 `json:"org_id,omitempty"`
}

// Report is one report that reached the team: a filled-in form, a mail,
// a logged call, an alert.
type Report struct {
	ID int64
	// Tracking is the number the reporter is given, R-2026-000042.
	Tracking string
	// TokenHash is the SHA-256 of the private status token; the token
	// itself is given to the reporter once (Receipt) and kept nowhere.
	TokenHash []byte
	Channel   Channel
	Kind      Kind
	Received  time.Time
	Reporter  Reporter
	// Language is the reporter's language (en, nl, fr, de), for replies.
	Language string
	Subject  string
	Text     string
	// Concerned is the URL or the sender the report is about, as the
	// reporter gave it.
	Concerned   string
	Observables []extract.Observable
	Attachments []Attachment
	State       ReportState
	// CloseReason says why a closed report was closed.
	CloseReason string
	// IncidentID is the incident the report is linked to, 0 for none.
	IncidentID int64
	// SplitFrom is the report this one was split from, 0 for none.
	SplitFrom int64
}

// Bounds of a report, so that one report cannot fill the database; the
// web form and the mail reader refuse more before they get here.
const (
	MaxTextBytes        = 256 << 10 // the text of a report or a note
	MaxSubjectBytes     = 1000
	MaxFieldBytes       = 2000 // a reporter's field, the URL or sender concerned, a title
	MaxObservables      = 1000
	MaxAttachments      = 50
	MaxAttachmentBytes  = 25 << 20
	maxLanguageBytes    = 8
	maxObservableLength = 2000
)

// CheckReport checks a report before it is stored: known channel and
// kind, bounded fields, valid observables. The errors are *InputError.
func CheckReport(r *Report) error {
	if !r.Channel.Valid() {
		return inputError("incident.error.channel", r.Channel)
	}
	if !r.Kind.Valid() {
		return inputError("incident.error.kind", r.Kind)
	}
	if err := checkText("text", r.Text, MaxTextBytes); err != nil {
		return err
	}
	if err := checkText("subject", r.Subject, MaxSubjectBytes); err != nil {
		return err
	}
	for name, v := range map[string]string{"concerned": r.Concerned, "name": r.Reporter.Name,
		"email": r.Reporter.Email, "phone": r.Reporter.Phone} {
		if err := checkText(name, v, MaxFieldBytes); err != nil {
			return err
		}
	}
	if len(r.Language) > maxLanguageBytes {
		return inputError("incident.error.language")
	}
	if len(r.Observables) > MaxObservables {
		return inputError("incident.error.observables", MaxObservables)
	}
	for _, o := range r.Observables {
		if !o.Kind.Valid() || o.Value == "" || len(o.Value) > maxObservableLength || !utf8.ValidString(o.Value) {
			return inputError("incident.error.observable", string(o.Kind))
		}
	}
	if len(r.Attachments) > MaxAttachments {
		return inputError("incident.error.attachments", MaxAttachments)
	}
	for _, a := range r.Attachments {
		if err := CheckAttachment(a); err != nil {
			return err
		}
	}
	return nil
}

// checkText refuses text longer than max bytes or not UTF-8.
func checkText(field, s string, max int) error {
	if len(s) > max {
		return inputError("incident.error.long", field, max)
	}
	if !utf8.ValidString(s) {
		return inputError("incident.error.utf8", field)
	}
	return nil
}

// groupingKinds are the observables that group reports: two reports
// naming the same URL, domain or sender address are about the same thing.
// An IP address or a phone number is shared too widely (a hosting
// provider, a call centre) to group by itself.
var groupingKinds = []extract.Kind{extract.URL, extract.Domain, extract.Email}

// GroupingKeys returns the keys that group r with other reports and
// incidents ("url:https://evil.example/login"), sorted and without
// repeats, so that two transactions take their locks in the same order.
func GroupingKeys(obs []extract.Observable) []string {
	var keys []string
	for _, o := range obs {
		if oneOf(o.Kind, groupingKinds) && o.Value != "" {
			keys = append(keys, string(o.Kind)+":"+o.Value)
		}
	}
	return sortedUnique(keys)
}

// UniqueObservables drops repeated observables, keeping the first of each
// and at most MaxObservables; it reuses list's array.
func UniqueObservables(list []extract.Observable) []extract.Observable {
	seen := make(map[extract.Observable]bool, len(list))
	out := list[:0]
	for _, o := range list {
		if !seen[o] && len(out) < MaxObservables {
			seen[o] = true
			out = append(out, o)
		}
	}
	return out
}

// FormatTracking returns the tracking number of the n-th report of year.
func FormatTracking(year, n int) string { return fmt.Sprintf("R-%d-%06d", year, n) }

// NormalTracking returns a tracking number as it is stored (upper case,
// without spaces), so that "r-2026-000042 " finds R-2026-000042.
func NormalTracking(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }
