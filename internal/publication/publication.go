package publication

import (
	"errors"
	"reflect"
	"slices"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/tlp"
)

// Kind is what a publication is.
type Kind string

// The kinds of publication.
const (
	// KindAdvisory is a vulnerability: what the issue is, its impact and
	// what to do. It becomes a csaf_security_advisory.
	KindAdvisory Kind = "advisory"
	// KindWarning is something happening now: urgent, pushed at once and
	// pinned on the home page. It becomes a csaf_informational_advisory.
	KindWarning Kind = "warning"
	// KindNews is news or awareness for citizens.
	KindNews Kind = "news"
	// KindDigest is the weekly digest, generated from the week's
	// publications.
	KindDigest Kind = "digest"
)

// Kinds lists the kinds in the order the site shows them.
var Kinds = []Kind{KindAdvisory, KindWarning, KindNews, KindDigest}

// Valid reports whether k is a kind.
func (k Kind) Valid() bool { return slices.Contains(Kinds, k) }

// TLP is the Traffic Light Protocol 2.0 label of a publication (package
// tlp decides the labels for every capability). Only CLEAR reaches
// public channels.
type TLP = tlp.Label

// The TLP 2.0 labels.
const (
	TLPClear       = tlp.Clear
	TLPGreen       = tlp.Green
	TLPAmber       = tlp.Amber
	TLPAmberStrict = tlp.AmberStrict
	TLPRed         = tlp.Red
)

// TLPs lists the labels from the least to the most restricted.
var TLPs = tlp.Labels

// DefaultSeverities is the severity scale when the configuration names
// none, from the worst.
var DefaultSeverities = []string{"critical", "high", "medium", "low"}

// Publication is one advisory, warning, news item or digest, with all its
// languages. Its ID is the database's; Ident is the one readers see
// (for example VIGIL-2026-0042), made from the configured pattern when
// the publication is created and never changed.
type Publication struct {
	ID     int64
	Ident  string
	Kind   Kind
	Status Status
	// Content is what readers see of the current revision (before the
	// first publication: of the draft).
	Content
	// Next is the draft of the next revision of a published publication,
	// edited, reviewed and approved while the current revision stays
	// online; nil when there is none.
	Next *Next
	// Source says what the draft was made from: an incident's tag, a
	// CVE id, or an events query; empty for none.
	Source string
	// Revision is the number of the current published revision, 0 before
	// the first publication.
	Revision int
	// AuthorID wrote the publication (its first draft); EditorID last
	// changed its content; ApproverID approved the current revision;
	// 0 for none. The names are the accounts' names.
	AuthorID   int64
	Author     string
	EditorID   int64
	Editor     string
	ApproverID int64
	Approver   string
	Created    time.Time
	Updated    time.Time
	// Scheduled is when an approved publication goes out; zero: not
	// scheduled.
	Scheduled time.Time
	// Published is the first publication; Withdrawn when it was
	// withdrawn.
	Published time.Time
	Withdrawn time.Time
}

// Content is a publication's fields that readers see, all of one
// revision.
type Content struct {
	// Severity is one of the configured scale's names (lower case).
	Severity string
	TLP      TLP
	// Texts are the languages' versions, the primary language first.
	Texts []Text
	CVEs  []string // CVE-2026-12345
	CWEs  []string // CWE-79
	CVSS  []CVSS
	// Products are the affected products, matched against what
	// constituents declare they run.
	Products   []Product
	References []Reference
	Tags       []string
	// PinnedUntil keeps a warning at the top of the home page until then;
	// zero: a warning is pinned for DefaultPin after publication.
	PinnedUntil time.Time
}

// Next is the coming revision of a published publication: its content,
// where it is in the workflow (draft, review or approved), the change
// note that will say what changed, and who last edited it.
type Next struct {
	Content
	Status   Status
	Note     string
	EditorID int64
	Editor   string
	Updated  time.Time
}

// Revision is one published revision: its number, when, the change note
// (public, the publication's history) and the content as it was.
type Revision struct {
	Number    int
	Published time.Time
	Note      string
	// By approved it.
	By      string
	Content Content
}

// PublicNote is the revision's change note as public channels show it:
// the note of a TLP:CLEAR revision; "" for a revision that was not
// public (its note may say what its content did), which readers see as
// an update without a note.
func (r Revision) PublicNote() string {
	if r.Content.TLP != TLPClear {
		return ""
	}
	return r.Note
}

// DefaultPin is how long a warning stays pinned without PinnedUntil.
const DefaultPin = 7 * 24 * time.Hour

// Text is a publication in one language.
type Text struct {
	Lang    string // en, nl, fr, de
	Title   string
	Summary string
	// Body is Markdown, rendered to sanitized HTML by package markdown.
	Body string
	// Recommendations are what to do, in this language.
	Recommendations []Recommendation
	// Updated is when this language's version last changed: a
	// translation older than the primary language's is outdated.
	Updated time.Time
}

// Recommendation kinds.
const (
	RecommendPatch      = "patch"
	RecommendMitigate   = "mitigate"
	RecommendDetect     = "detect"
	RecommendWorkaround = "workaround"
)

// RecommendationKinds lists them.
var RecommendationKinds = []string{RecommendPatch, RecommendMitigate, RecommendDetect, RecommendWorkaround}

// Recommendation is one thing a reader should do.
type Recommendation struct {
	Kind string // RecommendPatch, …
	Text string
}

// CVSS is one score of a publication: the vector as written and what it
// computes to (package cvss).
type CVSS struct {
	Version string // "3.1" or "4.0"
	Vector  string // CVSS:3.1/AV:N/... or CVSS:4.0/AV:N/...
	Score   float64
	// Severity is the qualitative rating of the score: none, low,
	// medium, high or critical.
	Severity string
}

// Product is an affected product: who makes it, what it is called, the
// versions affected, and its CPE 2.3 name or Package URL when known.
type Product struct {
	Vendor   string
	Product  string
	Versions []VersionRange
	CPE      string // cpe:2.3:a:vendor:product:*:*:*:*:*:*:*:*
	PURL     string // pkg:npm/left-pad
}

// VersionRange is a range of affected versions, as CVE records give them:
// an exact Version, or from Introduced (inclusive, empty for all before)
// up to Fixed (exclusive) or LastAffected (inclusive).
type VersionRange struct {
	Version      string `json:",omitempty"`
	Introduced   string `json:",omitempty"`
	Fixed        string `json:",omitempty"`
	LastAffected string `json:",omitempty"`
}

// Reference is a link a publication cites.
type Reference struct {
	URL   string
	Title string
}

// Text returns the version in lang, or in the primary language when there
// is none in lang, and whether it was lang's.
func (p *Content) Text(lang string) (Text, bool) {
	for _, t := range p.Texts {
		if t.Lang == lang {
			return t, true
		}
	}
	if len(p.Texts) > 0 {
		return p.Texts[0], false
	}
	return Text{}, false
}

// Languages lists the languages p is written in, the primary first.
func (p *Content) Languages() []string {
	out := make([]string, len(p.Texts))
	for i, t := range p.Texts {
		out[i] = t.Lang
	}
	return out
}

// Public reports whether p may be on a public channel (the website, the
// feeds, the public CSAF folder, social media, the newsletter): published,
// not withdrawn, TLP:CLEAR. Every public channel asks this and nothing
// else.
func (p *Publication) Public() bool {
	return p.Status == StatusPublished && p.TLP == TLPClear
}

// Pinned reports whether p is a warning pinned on the home page at now.
func (p *Publication) Pinned(now time.Time) bool {
	if p.Kind != KindWarning || p.Status != StatusPublished {
		return false
	}
	until := p.PinnedUntil
	if until.IsZero() {
		until = p.Published.Add(DefaultPin)
	}
	return now.Before(until)
}

// Outdated lists the languages whose version is older than the primary
// language's, and the languages of want that have none: the
// translations to flag.
func (p *Content) Outdated(want []string) []string {
	if len(p.Texts) == 0 {
		return nil
	}
	primary := p.Texts[0]
	var out []string
	for _, t := range p.Texts[1:] {
		if t.Updated.Before(primary.Updated) {
			out = append(out, t.Lang)
		}
	}
	for _, lang := range want {
		if _, ok := p.Text(lang); !ok && lang != primary.Lang {
			out = append(out, lang)
		}
	}
	return out
}

// ErrInput is what every *InputError is (errors.Is).
var ErrInput = errors.New("publication: input refused")

// InputError refuses input with a catalogue message, so that the console
// and the API say why in the reader's language. Field names the field
// that is wrong, for forms and imports ("" when it is not one field).
type InputError struct {
	Field   string
	Message i18n.Message
}

// Refuse returns the refusal of field with the catalogue message id and
// its arguments.
func Refuse(field, id string, args ...any) *InputError {
	for i, a := range args {
		if v := reflect.ValueOf(a); v.Kind() == reflect.String {
			args[i] = v.String()
		}
	}
	return &InputError{Field: field, Message: i18n.M(id, args...)}
}

// Error returns the refusal in English, after the field's name.
func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Message.String()
	}
	return e.Field + ": " + e.Message.String()
}

// Is makes every InputError ErrInput.
func (e *InputError) Is(target error) bool { return target == ErrInput }
