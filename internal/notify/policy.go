package notify

import (
	"errors"
	"slices"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/taxonomy"
)

// Languages are the languages notifications are written in; the first is
// the fallback for an organisation whose language is unknown.
var Languages = i18n.Codes

// ValidLanguage reports whether notifications can be written in lang.
func ValidLanguage(lang string) bool { return slices.Contains(Languages, lang) }

// DefaultPolicy is the policy when the team configured none: every event,
// in a daily digest with a summary and a CSV file, in the organisation's
// language, nothing sent at once.
func DefaultPolicy() Policy {
	return Policy{
		Enabled: true,
		Digest:  DigestDaily,
		Format:  FormatSummary,
	}
}

// Effective is the policy the notifier applies to org: its own policy when
// it has one (own != nil), else the team default. A policy replaces the
// default as a whole: an organisation's empty Types means "all types",
// not "the default's types". Blank Digest and Format take the defaults'
// values, a blank Language the organisation's language, and an unknown
// language English.
func Effective(org constituency.Organisation, own *Policy, teamDefault Policy) Policy {
	p := teamDefault
	if own != nil {
		p = *own
	}
	p.OrgID = org.ID
	if p.Digest == "" {
		p.Digest = DigestDaily
	}
	if p.Format == "" {
		p.Format = FormatSummary
	}
	if p.Language == "" {
		p.Language = org.Language
	}
	if !ValidLanguage(p.Language) {
		p.Language = Languages[0]
	}
	return p
}

// ValidatePolicy checks a policy before it is stored. The error joins one
// *FieldError per problem (errors.As finds the first), each naming the
// field: digest, format, language, taxonomies, types, immediate, feeds.
func ValidatePolicy(p Policy) error {
	var errs []error
	bad := func(field string, m i18n.Message) {
		errs = append(errs, &FieldError{Field: field, Message: m})
	}
	switch p.Digest {
	case "", DigestHourly, DigestDaily, DigestOff:
	default:
		bad("digest", i18n.M("notify.error.digest", p.Digest))
	}
	switch p.Format {
	case "", FormatSummary, FormatJSON, FormatXARF:
	default:
		bad("format", i18n.M("notify.error.format", p.Format))
	}
	if p.Language != "" && !ValidLanguage(p.Language) {
		bad("language", i18n.M("notify.error.language", p.Language))
	}
	// unknown is the message ID for a value that is not one of its kind.
	checkList := func(field string, values []string, valid func(string) bool, unknown string) {
		seen := map[string]bool{}
		for _, v := range values {
			switch {
			case !valid(v):
				bad(field, i18n.M(unknown, v))
			case seen[v]:
				bad(field, i18n.M("notify.error.twice", v))
			}
			seen[v] = true
		}
	}
	checkList("taxonomies", p.Taxonomies, taxonomy.ValidTaxonomy, "notify.error.taxonomy")
	checkList("types", p.Types, taxonomy.ValidType, "notify.error.type")
	checkList("immediate", p.Immediate, taxonomy.ValidType, "notify.error.type")
	checkList("feeds", p.Feeds, func(s string) bool { return s != "" }, "notify.error.feed")
	if p.Digest == DigestOff && len(p.Immediate) == 0 && p.Enabled {
		bad("digest", i18n.M("notify.error.silent"))
	}
	return errors.Join(errs...)
}

// Matches reports whether policy p selects event e for notification:
// enabled, and e's taxonomy, type and feed in the policy's lists (an empty
// list selects all). An event without a taxonomy is placed by its type.
func Matches(p Policy, e *event.Event) bool {
	return matchesType(p, e, e.Value("classification.type"))
}

// matchesType is Matches for an event whose classification.type is typ.
func matchesType(p Policy, e *event.Event, typ string) bool {
	if !p.Enabled {
		return false
	}
	if len(p.Taxonomies) > 0 {
		tax, ok := e.Get("classification.taxonomy")
		if !ok {
			tax, _ = taxonomy.TaxonomyOf(typ)
		}
		if !slices.Contains(p.Taxonomies, tax) {
			return false
		}
	}
	if len(p.Types) > 0 && !slices.Contains(p.Types, typ) {
		return false
	}
	if len(p.Feeds) > 0 && !slices.Contains(p.Feeds, e.Value("feed.name")) {
		return false
	}
	return true
}

// Immediate reports whether p sends events of e's type at once rather
// than in the digest.
func Immediate(p Policy, e *event.Event) bool {
	return immediateType(p, e.Value("classification.type"))
}

// immediateType is Immediate for an event of classification.type typ.
func immediateType(p Policy, typ string) bool {
	return len(p.Immediate) > 0 && slices.Contains(p.Immediate, typ)
}
