package publication

import (
	"regexp"
	"slices"
	"strings"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// Config is the configuration file's publishing section.
type Config struct {
	// IdentPattern makes the publications' idents (FormatIdent); default
	// DefaultIdentPattern.
	IdentPattern string `yaml:"ident_pattern"`
	// Languages are the publications' languages, the primary first;
	// default DefaultLanguages.
	Languages []string `yaml:"languages"`
	// Severities is the severity scale, the worst first; default
	// DefaultSeverities.
	Severities []string `yaml:"severities"`
}

// Rules returns the languages and severities the section sets, with
// their defaults.
func (c Config) Rules() Rules {
	return Rules{Languages: c.Languages, Severities: c.Severities}.withDefaults()
}

// withDefaults fills in the languages and severities r leaves empty.
func (r Rules) withDefaults() Rules {
	if len(r.Languages) == 0 {
		r.Languages = DefaultLanguages
	}
	if len(r.Severities) == 0 {
		r.Severities = DefaultSeverities
	}
	return r
}

var (
	identFields  = regexp.MustCompile(`\{year\}|\{n(:[1-9])?\}`)
	identLiteral = regexp.MustCompile(`^[A-Za-z0-9._-]*$`)
)

// Validate checks the section; the *InputError's Field is the key.
func (c Config) Validate() error {
	// The number restarts every year: without {year} the idents of a new
	// year would repeat the last year's.
	// An ident is in addresses, CSAF file names and digest lines: letters,
	// digits, '-', '_' and '.' only beside its two fields.
	if c.IdentPattern != "" && (!strings.Contains(c.IdentPattern, "{n") || !strings.Contains(c.IdentPattern, "{year}") || len(c.IdentPattern) > 64 ||
		!identLiteral.MatchString(identFields.ReplaceAllString(c.IdentPattern, ""))) {
		return Refuse("publishing.ident_pattern", "publication.config.ident", c.IdentPattern)
	}
	seen := map[string]bool{}
	for _, l := range c.Languages {
		if !slices.Contains(i18n.Codes, l) || seen[l] {
			return Refuse("publishing.languages", "publication.error.lang", l)
		}
		seen[l] = true
	}
	for _, s := range c.Severities {
		if s == "" || s != strings.ToLower(s) || len(s) > 32 {
			return Refuse("publishing.severities", "publication.error.severity", s)
		}
	}
	return nil
}
