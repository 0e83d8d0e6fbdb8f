package incident

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/taxonomy"
)

// TestKindTypes: every kind maps to an RSIT type that internal/taxonomy
// knows, and an unknown kind to "undetermined".
func TestKindTypes(t *testing.T) {
	for _, k := range Kinds {
		tax, typ := k.Classification()
		if got, ok := taxonomy.TaxonomyOf(typ); !ok || got != tax || kindTypes[k] != typ {
			t.Errorf("%s → %s/%s: not an RSIT taxonomy and type", k, tax, typ)
		}
	}
	if tax, typ := Kind("spam").Classification(); tax != "other" || typ != "undetermined" {
		t.Errorf("unknown kind → %s/%s", tax, typ)
	}
}

func TestTransitions(t *testing.T) {
	for _, tt := range []struct {
		from, to Status
		reason   string
		ok       bool
	}{
		{StatusNew, StatusTriage, "", true},
		{StatusTriage, StatusInProgress, "", true},
		{StatusInProgress, StatusWaiting, "", false}, // waiting for what?
		{StatusInProgress, StatusWaiting, "asked the host", true},
		{StatusWaiting, StatusInProgress, "", true},
		{StatusInProgress, StatusResolved, "", false},
		{StatusInProgress, StatusResolved, "site taken down", true},
		{StatusResolved, StatusClosed, "", true},
		{StatusClosed, StatusInProgress, "", false}, // reopening is explained
		{StatusClosed, StatusInProgress, "back online", true},
		{StatusClosed, StatusNew, "x", false},
		{StatusResolved, StatusNew, "x", false},
		{StatusNew, "archived", "x", false},
		{StatusNew, StatusClosed, strings.Repeat("x", MaxFieldBytes+1), false},
	} {
		err := CheckTransition(tt.from, tt.to, tt.reason)
		if (err == nil) != tt.ok {
			t.Errorf("%s → %s (%q): %v, want ok=%v", tt.from, tt.to, tt.reason, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInput) {
			t.Errorf("%s → %s: %v is not ErrInput", tt.from, tt.to, err)
		}
	}
	if got := Transitions(StatusClosed); len(got) != 1 || got[0] != StatusInProgress {
		t.Errorf("Transitions(closed) = %v", got)
	}
	for _, s := range Statuses {
		if s != StatusClosed && len(Transitions(s)) == 0 {
			t.Errorf("%s leads nowhere", s)
		}
	}
}

func TestTags(t *testing.T) {
	tag := Tag{Year: 2026, Seq: 123}
	if tag.String() != "2026-123" || tag.Subject() != "[VIGIL#2026-123]" {
		t.Errorf("tag written %q, %q", tag.String(), tag.Subject())
	}
	if got, err := ParseTag("2026-123"); err != nil || got != tag {
		t.Errorf("ParseTag = %v, %v", got, err)
	}
	for _, bad := range []string{"", "2026", "2026-0", "26-1", "2026-12a", "1999-4", " 2026-1", "2026-1234567890"} {
		if _, err := ParseTag(bad); !errors.Is(err, ErrInput) {
			t.Errorf("ParseTag(%q) = %v, want ErrInput", bad, err)
		}
	}
	for subject, want := range map[string]Tag{
		"Re: [VIGIL#2026-123] Phishing mail":           tag,
		"RE: Fwd: [vigil#2026-123]":                    tag,
		"Re: [VIGIL#2026-7] and [VIGIL#2026-123] both": {2026, 7},
		"[VIGIL#2026-] nothing":                        {},
		"[VIGIL 2026-123]":                             {},
		"VIGIL#2026-123":                               {},
	} {
		got, ok := SubjectTag(subject)
		if got != want || ok == want.IsZero() {
			t.Errorf("SubjectTag(%q) = %v, %v; want %v", subject, got, ok, want)
		}
	}
}

func TestSLA(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	if got := DefaultSLA.Due(SeverityCritical, at); !got.Equal(at.Add(4 * time.Hour)) {
		t.Errorf("critical due %v", got)
	}
	if got := DefaultSLA.Due(SeverityLow, at); !got.Equal(at.Add(240 * time.Hour)) {
		t.Errorf("low due %v", got)
	}
	s := DefaultSLA.With(SLA{SeverityHigh: 8 * time.Hour, SeverityLow: 0})
	if got := s.Due(SeverityHigh, at); !got.Equal(at.Add(8 * time.Hour)) {
		t.Errorf("overridden high due %v", got)
	}
	if got := s.Due(SeverityLow, at); !got.IsZero() {
		t.Errorf("low without SLA due %v", got)
	}
	if DefaultSLA[SeverityHigh] != 24*time.Hour {
		t.Error("With changed DefaultSLA")
	}
	if err := (SLA{"urgent": time.Hour}).Check(); err == nil {
		t.Error("an unknown severity passed")
	}
	inc := Incident{Due: at, Status: StatusInProgress}
	if !inc.Overdue(at.Add(time.Second)) || inc.Overdue(at) {
		t.Error("Overdue around the due time")
	}
	inc.Status = StatusResolved
	if inc.Overdue(at.Add(time.Hour)) {
		t.Error("a resolved incident is overdue")
	}
}

// TestPlaybooks: every kind has a playbook, every step's title is in
// every language's catalogue and differs between languages, and the
// phishing playbook has what the team asked for.
func TestPlaybooks(t *testing.T) {
	c := i18n.Embedded()
	for _, k := range Kinds {
		p := PlaybookFor(k, "")
		if len(p.Steps) == 0 || p.Name != string(k) {
			t.Errorf("%s: playbook %+v", k, p)
		}
		if !c.Has(KindKey(k)) {
			t.Errorf("%s has no name in the catalogue", k)
		}
		for _, step := range p.Steps {
			if !c.Has(TaskKey(step)) {
				t.Errorf("%s: step %s has no title in the catalogue", k, step)
			}
			seen := map[string]string{}
			for _, lang := range []string{"en", "nl", "fr", "de"} {
				text := c.Text(lang, TaskKey(step))
				if other, dup := seen[text]; dup {
					t.Errorf("%s: %s is the same in %s and %s", step, text, lang, other)
				}
				seen[text] = lang
			}
		}
	}
	phishing := PlaybookFor(KindPhishing, "phishing")
	for _, step := range []string{"headers", "takedown", "brand", "blocklist"} {
		if !phishing.Has(step) {
			t.Errorf("phishing playbook lacks %s", step)
		}
	}
	if got := PlaybookFor(KindOther, "phishing"); got.Name != "phishing" {
		t.Errorf("an incident of kind other reclassified as phishing gets playbook %s", got.Name)
	}
	if got := PlaybookFor(KindOther, "undetermined"); got.Name != "other" {
		t.Errorf("kind other gets playbook %s", got.Name)
	}
}

// TestStatusToken: a token matches its own hash only; a guess of the
// wrong shape, an empty token or an empty hash never match.
func TestStatusToken(t *testing.T) {
	token, hash := NewStatusToken()
	other, otherHash := NewStatusToken()
	if token == other || len(token) != 43 || len(hash) != 32 {
		t.Fatalf("tokens %q %q, hash of %d bytes", token, other, len(hash))
	}
	if !TokenMatches(token, hash) {
		t.Error("a token does not match its hash")
	}
	for name, tt := range map[string]struct {
		token string
		hash  []byte
	}{
		"another token":   {other, hash},
		"another hash":    {token, otherHash},
		"empty token":     {"", hash},
		"empty hash":      {token, nil},
		"truncated token": {token[:42], hash},
		"padded token":    {token + "=", hash},
		"not base64url":   {strings.Repeat("!", 43), hash},
		"hash of a guess": {strings.Repeat("A", 43), TokenHash(strings.Repeat("B", 43))},
	} {
		if TokenMatches(tt.token, tt.hash) {
			t.Errorf("%s matches", name)
		}
	}
}

func TestCheckReport(t *testing.T) {
	ok := func() Report {
		return Report{Channel: ChannelWeb, Kind: KindPhishing, Text: "a mail", Language: "nl",
			Observables: []extract.Observable{{Kind: extract.URL, Value: "https://evil.example/login"}}}
	}
	r := ok()
	if err := CheckReport(&r); err != nil {
		t.Fatalf("a good report: %v", err)
	}
	for name, change := range map[string]func(*Report){
		"unknown channel":  func(r *Report) { r.Channel = "fax" },
		"unknown kind":     func(r *Report) { r.Kind = "spam" },
		"oversize text":    func(r *Report) { r.Text = strings.Repeat("x", MaxTextBytes+1) },
		"oversize subject": func(r *Report) { r.Subject = strings.Repeat("x", MaxSubjectBytes+1) },
		"oversize name":    func(r *Report) { r.Reporter.Name = strings.Repeat("x", MaxFieldBytes+1) },
		"not UTF-8":        func(r *Report) { r.Text = "caf\xe9" },
		"bad observable":   func(r *Report) { r.Observables = []extract.Observable{{Kind: "colour", Value: "red"}} },
		"empty observable": func(r *Report) { r.Observables = []extract.Observable{{Kind: extract.URL}} },
		"bad hash":         func(r *Report) { r.Attachments = []Attachment{{SHA256: "ABC", Name: "x"}} },
		"huge attachment": func(r *Report) {
			r.Attachments = []Attachment{{SHA256: HashBlob(nil), Name: "x", Size: MaxAttachmentBytes + 1}}
		},
	} {
		r := ok()
		change(&r)
		err := CheckReport(&r)
		var ie *InputError
		if !errors.As(err, &ie) || !errors.Is(err, ErrInput) {
			t.Errorf("%s: %v, want an InputError", name, err)
		}
	}
	r = ok()
	r.Text = strings.Repeat("x", MaxTextBytes+1)
	err := CheckReport(&r)
	if want := "the field text is too long (at most 262144 bytes)"; err == nil || err.Error() != want {
		t.Errorf("oversize text: %v, want %q", err, want)
	}
	if got := err.(*InputError).Message.In(i18n.Embedded(), "fr"); got != "le champ text est trop long (262144 octets au plus)" {
		t.Errorf("in French: %q", got)
	}
}

func TestGroupingKeys(t *testing.T) {
	got := GroupingKeys([]extract.Observable{
		{Kind: extract.IP, Value: "192.0.2.1"},
		{Kind: extract.URL, Value: "https://evil.example/login"},
		{Kind: extract.Domain, Value: "evil.example"},
		{Kind: extract.URL, Value: "https://evil.example/login"},
		{Kind: extract.Email, Value: "bank@evil.example"},
		{Kind: extract.Phone, Value: "+3225551234"},
	})
	want := "domain:evil.example email:bank@evil.example url:https://evil.example/login"
	if strings.Join(got, " ") != want {
		t.Errorf("GroupingKeys = %q, want %q", got, want)
	}
	if FormatTracking(2026, 42) != "R-2026-000042" || NormalTracking(" r-2026-000042 ") != "R-2026-000042" {
		t.Error("tracking numbers")
	}
}

// TestRefusalIDsExist: every catalogue ID this package and incidentdb
// refuse with (inputError, Refuse) is in the catalogue, whose own test
// sees only i18n.M with a literal.
func TestRefusalIDsExist(t *testing.T) {
	c := i18n.Embedded()
	call := regexp.MustCompile(`(?:inputError|Refuse)\("([a-z0-9_.]+)"`)
	n := 0
	for _, dir := range []string{".", "incidentdb"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range files {
			src, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range call.FindAllStringSubmatch(string(src), -1) {
				n++
				if !c.Has(m[1]) {
					t.Errorf("%s: %s is not in the catalogue", name, m[1])
				}
			}
		}
	}
	if n < 20 {
		t.Errorf("found %d refusals; the pattern no longer matches the code", n)
	}
}

// An incident opened from a report is titled by its kind and what it is
// about: the URL or sender concerned, else its subject's first line, else
// its tracking number; in the language asked for.
func TestReportTitle(t *testing.T) {
	s := &Service{}
	for _, c := range []struct {
		r    Report
		lang string
		want string
	}{
		{Report{Kind: KindPhishing, Concerned: " https://evil.example/ ", Subject: "Fwd: blocked"}, "", "Phishing mail or SMS: https://evil.example/"},
		{Report{Kind: KindPhishing, Subject: "Fwd: blocked\nsecond line"}, "", "Phishing mail or SMS: Fwd: blocked"},
		{Report{Kind: KindPhishing, Tracking: "R-2026-000042"}, "nl", "Phishingmail of -sms: R-2026-000042"},
		{Report{Kind: KindPhishing, Subject: strings.Repeat("é", 150)}, "", "Phishing mail or SMS: " + strings.Repeat("é", 100)},
	} {
		if got := s.ReportTitle(c.lang, c.r); got != c.want {
			t.Errorf("ReportTitle(%q, %+v) = %q, want %q", c.lang, c.r, got, c.want)
		}
	}
}

// A tag in a subject threads a mail onto its incident, never a report
// from a constituent's portal, which could name another organisation's.
func TestPrepareThreadsByTagExceptFromThePortal(t *testing.T) {
	s := &Service{}
	for _, c := range []struct {
		channel Channel
		want    Tag
	}{{ChannelEmail, Tag{Year: 2026, Seq: 7}}, {ChannelPortal, Tag{}}} {
		r := &Report{Channel: c.channel, Kind: KindOther, Subject: "Re: [VIGIL#2026-7] the scan", Text: "more"}
		_, g, err := s.Prepare(r)
		if err != nil {
			t.Fatal(err)
		}
		if g.Tag != c.want {
			t.Errorf("%s report: threads onto %v, want %v", c.channel, g.Tag, c.want)
		}
	}
}

// UniqueObservables keeps the first of each observable, in order, and at
// most MaxObservables.
func TestUniqueObservables(t *testing.T) {
	a := extract.Observable{Kind: extract.Domain, Value: "evil.example"}
	b := extract.Observable{Kind: extract.IP, Value: "192.0.2.1"}
	if got := UniqueObservables([]extract.Observable{a, b, a, b, a}); len(got) != 2 || got[0] != a || got[1] != b {
		t.Errorf("UniqueObservables = %v, want [a b]", got)
	}
	many := make([]extract.Observable, MaxObservables+10)
	for i := range many {
		many[i] = extract.Observable{Kind: extract.IP, Value: "198.51.100." + strconv.Itoa(i)}
	}
	if got := UniqueObservables(many); len(got) != MaxObservables {
		t.Errorf("%d observables kept, want the bound %d", len(got), MaxObservables)
	}
}
