package site

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// SecurityTxt is what /.well-known/security.txt (RFC 9116) says besides
// what the site knows itself (Canonical, Preferred-Languages and the
// CSAF provider's address).
type SecurityTxt struct {
	// Contacts are mailto:, tel: or https: URIs, the preferred first.
	Contacts []string
	// Encryption is the address of the team's OpenPGP key.
	Encryption string
	// Policy is the address of the team's disclosure policy.
	Policy string
	// Acknowledgments, Hiring: optional addresses.
	Acknowledgments string
	Hiring          string
	// Validity is how long the file is valid after the day it is served
	// (Expires); zero: DefaultSecurityTxtValidity; at most a year, as
	// the RFC recommends.
	Validity time.Duration
}

// DefaultSecurityTxtValidity and MaxSecurityTxtValidity bound Expires.
const (
	DefaultSecurityTxtValidity = 180 * 24 * time.Hour
	MaxSecurityTxtValidity     = 365 * 24 * time.Hour
)

// CSAFProviderMetadata is the CSAF provider's metadata, which the CSAF:
// line of security.txt points at (CSAF 2.0 section 7.1.8).
const CSAFProviderMetadata = "/.well-known/csaf/provider-metadata.json"

// securityTxt serves /.well-known/security.txt. Expires is counted from
// the start of the day (UTC), so the file, and its ETag, change once a
// day.
func (s *Site) securityTxt(w http.ResponseWriter, r *http.Request) {
	body := s.SecurityTxtBody()
	if body == nil {
		http.NotFound(w, r)
		return
	}
	day := s.deps.Now().UTC().Truncate(24 * time.Hour)
	newEntry(http.StatusOK, "text/plain; charset=utf-8", "public, max-age=3600", body, day).serve(w, r)
}

// SecurityTxtBody returns the file, nil when no contact is configured.
func (s *Site) SecurityTxtBody() []byte {
	st := s.deps.SecurityTxt
	if len(st.Contacts) == 0 {
		return nil
	}
	base := s.deps.BaseURL
	day := s.deps.Now().UTC().Truncate(24 * time.Hour)
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", s.deps.Name)
	for _, c := range st.Contacts {
		fmt.Fprintf(&b, "Contact: %s\n", c)
	}
	fmt.Fprintf(&b, "Expires: %s\n", day.Add(st.Validity).Format(time.RFC3339))
	if st.Encryption != "" {
		fmt.Fprintf(&b, "Encryption: %s\n", st.Encryption)
	}
	if st.Acknowledgments != "" {
		fmt.Fprintf(&b, "Acknowledgments: %s\n", st.Acknowledgments)
	}
	fmt.Fprintf(&b, "Preferred-Languages: %s\n", strings.Join(s.deps.Languages, ", "))
	fmt.Fprintf(&b, "Canonical: %s/.well-known/security.txt\n", base)
	if st.Policy != "" {
		fmt.Fprintf(&b, "Policy: %s\n", st.Policy)
	}
	if st.Hiring != "" {
		fmt.Fprintf(&b, "Hiring: %s\n", st.Hiring)
	}
	fmt.Fprintf(&b, "CSAF: %s%s\n", base, CSAFProviderMetadata)
	return []byte(b.String())
}
