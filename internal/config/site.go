package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
)

// Site configures the public website, its feeds and
// /.well-known/security.txt (RFC 9116).
type Site struct {
	// BaseURL is where readers reach the site (https://cert.example);
	// empty: public_url, or the listen address.
	BaseURL string `yaml:"base_url"`
	// Name is the team's name in the pages' titles and the feeds.
	Name string `yaml:"name"`
	// Languages are the site's languages, the default first: en, nl, fr
	// or de.
	Languages []string `yaml:"languages"`
	// Contacts are security.txt's Contact lines (mailto:, tel: or
	// https: URIs); empty: mailto: notify.from, and without that no
	// security.txt.
	Contacts []string `yaml:"contacts"`
	// Encryption is the address of the team's OpenPGP public key.
	Encryption string `yaml:"encryption"`
	// Policy is the address of the team's vulnerability disclosure
	// policy.
	Policy          string `yaml:"policy"`
	Acknowledgments string `yaml:"acknowledgments"`
	Hiring          string `yaml:"hiring"`
	// SecurityTxtValidity is how far ahead security.txt's Expires lies:
	// a day to a year.
	SecurityTxtValidity time.Duration `yaml:"security_txt_validity"`
}

// DefaultSite is English, Dutch and French, security.txt valid for 180
// days.
func DefaultSite() Site {
	return Site{Name: "Vigil", Languages: slices.Clone(publication.DefaultLanguages), SecurityTxtValidity: 180 * 24 * time.Hour}
}

// validate checks the site's settings.
func (s Site) validate() error {
	if len(s.Languages) == 0 {
		return &Error{Key: "site.languages", Message: i18n.M("config.error.site.nolanguage", strings.Join(i18n.Codes, ", "))}
	}
	for i, l := range s.Languages {
		if !slices.Contains(i18n.Codes, l) || slices.Index(s.Languages, l) != i {
			return &Error{Key: "site.languages", Message: i18n.M("config.error.site.language", strings.Join(i18n.Codes, ", "), l)}
		}
	}
	for key, u := range map[string]string{"site.base_url": s.BaseURL, "site.encryption": s.Encryption, "site.policy": s.Policy,
		"site.acknowledgments": s.Acknowledgments, "site.hiring": s.Hiring} {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return &Error{Key: key, Message: i18n.M("config.error.https", u)}
		}
	}
	for i, c := range s.Contacts {
		if !strings.HasPrefix(c, "mailto:") && !strings.HasPrefix(c, "tel:") && !strings.HasPrefix(c, "https://") {
			return &Error{Key: fmt.Sprintf("site.contacts[%d]", i), Message: i18n.M("config.error.site.contact", c)}
		}
	}
	if s.SecurityTxtValidity < 24*time.Hour || s.SecurityTxtValidity > 365*24*time.Hour {
		return &Error{Key: "site.security_txt_validity", Message: i18n.M("config.error.site.validity", s.SecurityTxtValidity.String())}
	}
	return nil
}
