// Package constituency is about the organisations the CERT serves and the
// question "who owns this?": it validates organisations, checks a whole
// constituency for overlapping networks, AS numbers and domains, answers
// which organisation owns an address, AS or domain (Table, Directory), and
// reads and writes the constituency as CSV and JSON.
package constituency

import (
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
)

// Field names, as the CSV columns and the JSON fields spell them. Contact
// fields carry the contact_ prefix here; in JSON they sit in "contacts".
const (
	FieldHandle        = "handle"
	FieldName          = "name"
	FieldSector        = "sector"
	FieldCountry       = "country"
	FieldLanguage      = "language"
	FieldNetworks      = "networks"
	FieldASNs          = "asns"
	FieldDomains       = "domains"
	FieldNotes         = "notes"
	FieldContactName   = "contact_name"
	FieldContactEmail  = "contact_email"
	FieldContactPhone  = "contact_phone"
	FieldContactRole   = "contact_role"
	FieldContactNotify = "contact_notify"
	FieldContactPGPKey = "contact_pgp_key"
)

// Languages are the languages notifications can be written in; the first
// is the default.
var Languages = i18n.Codes

// Roles are the contact roles, in the order the console offers them.
var Roles = []string{ContactAbuse, ContactSecurity, ContactTechnical, ContactManagement}

// FieldError says why one value of an organisation was refused.
type FieldError struct {
	// Field is one of the Field… names.
	Field string
	// Contact is the 1-based position of the contact in the organisation
	// as given (before sorting); 0 when the field is the organisation's.
	Contact int
	Value   string
	// Reason is for a person: what is wrong and, when it is clear, what
	// to write instead. It is Message in English.
	Reason string
	// Message is Reason by catalogue ID, for the console to translate.
	Message i18n.Message
}

func (e *FieldError) Error() string {
	v := e.Value
	if len(v) > 80 {
		v = v[:77] + "..."
	}
	if e.Contact > 0 {
		return fmt.Sprintf("contact %d, %s %q: %s", e.Contact, e.Field, v, e.Reason)
	}
	return fmt.Sprintf("%s %q: %s", e.Field, v, e.Reason)
}

func newFieldError(field, value string, reason i18n.Message) *FieldError {
	return &FieldError{Field: field, Value: value, Reason: reason.String(), Message: reason}
}

// FieldErrors are all the problems Normalize found in one organisation.
type FieldErrors []*FieldError

func (errs FieldErrors) Error() string {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap lets errors.As find the first *FieldError.
func (errs FieldErrors) Unwrap() []error {
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return out
}

// Normalize validates o and brings it to its canonical form in place:
// trimmed texts, a lower-case handle, an upper-case country, networks
// masked-checked and sorted, AS numbers and domains sorted, contacts
// checked and sorted, exact repeats removed. It returns every problem at
// once, as FieldErrors; on error o is partly normalized, without the
// networks, AS numbers and domains it refused, and must not be stored (a
// form shows what was typed, not o). Overlaps between organisations are
// Check's business.
func Normalize(o *Organisation) error {
	var errs FieldErrors
	o.Handle = strings.ToLower(strings.TrimSpace(o.Handle))
	if reason := handleProblem(o.Handle); !reason.IsZero() {
		errs.add(FieldHandle, 0, o.Handle, reason)
	}
	o.Name = strings.TrimSpace(o.Name)
	if o.Name == "" {
		errs.add(FieldName, 0, o.Name, i18n.M("constituency.error.name"))
	}
	for _, f := range []struct {
		field string
		value *string
	}{{FieldName, &o.Name}, {FieldSector, &o.Sector}} {
		*f.value = strings.TrimSpace(*f.value)
		if reason := lineProblem(*f.value); !reason.IsZero() {
			errs.add(f.field, 0, *f.value, reason)
		}
	}
	o.Country = strings.ToUpper(strings.TrimSpace(o.Country))
	if reason := countryProblem(o.Country); !reason.IsZero() {
		errs.add(FieldCountry, 0, o.Country, reason)
	}
	o.Language = strings.ToLower(strings.TrimSpace(o.Language))
	if o.Language == "" {
		o.Language = Languages[0]
	}
	if !slices.Contains(Languages, o.Language) {
		errs.add(FieldLanguage, 0, o.Language, i18n.M("constituency.error.language"))
	}
	o.Notes = normalizeText(o.Notes)
	if !utf8.ValidString(o.Notes) {
		errs.add(FieldNotes, 0, o.Notes, i18n.M("constituency.error.utf8"))
	}

	errs = append(errs, normalizeHoldings(o)...)
	for i := range o.Contacts {
		errs = append(errs, normalizeContact(&o.Contacts[i], i+1)...)
	}
	errs = append(errs, sortContacts(o)...)
	// No contacts is nil, as the stores return it, so that what was read
	// compares equal to what is stored.
	if len(o.Contacts) == 0 {
		o.Contacts = nil
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// add records one problem.
func (errs *FieldErrors) add(field string, contact int, value string, reason i18n.Message) {
	*errs = append(*errs, &FieldError{Field: field, Contact: contact, Value: value, Reason: reason.String(), Message: reason})
}

// normalizeHoldings checks and normalizes o's networks, AS numbers and
// domains, leaving out those it refuses.
func normalizeHoldings(o *Organisation) FieldErrors {
	var errs FieldErrors
	// Refused networks, AS numbers and domains are left out, so that
	// Check, run on the rest, does not report them a second time in
	// another guise (192.0.2.7/24 as a duplicate of someone's
	// 192.0.2.0/24).
	networks := o.Networks[:0]
	for _, p := range o.Networks {
		n, reason := normalizePrefix(p)
		if !reason.IsZero() {
			errs.add(FieldNetworks, 0, p.String(), reason)
			continue
		}
		networks = append(networks, n)
	}
	o.Networks = networks

	asns := o.ASNs[:0]
	for _, asn := range o.ASNs {
		if asn == 0 {
			errs.add(FieldASNs, 0, "0", i18n.M("constituency.error.asn.zero"))
			continue
		}
		asns = append(asns, asn)
	}
	o.ASNs = asns

	domains := o.Domains[:0]
	for _, d := range o.Domains {
		n, reason := normalizeDomain(d)
		if !reason.IsZero() {
			errs.add(FieldDomains, 0, d, reason)
			continue
		}
		domains = append(domains, n)
	}
	o.Domains = domains
	// Sorted and without repeats, nil when none, exactly as the stores
	// keep them (StoreForm ends the same way).
	SortHoldings(o)
	return errs
}

// normalizeContact checks and normalizes c, the nth contact as given.
func normalizeContact(c *Contact, n int) FieldErrors {
	var errs FieldErrors
	for _, f := range []struct {
		field string
		value *string
	}{{FieldContactName, &c.Name}, {FieldContactPhone, &c.Phone}} {
		*f.value = strings.TrimSpace(*f.value)
		if reason := lineProblem(*f.value); !reason.IsZero() {
			errs.add(f.field, n, *f.value, reason)
		}
	}
	email, reason := normalizeEmail(c.Email)
	if !reason.IsZero() {
		errs.add(FieldContactEmail, n, c.Email, reason)
	}
	c.Email = email
	c.Role = strings.ToLower(strings.TrimSpace(c.Role))
	if !slices.Contains(Roles, c.Role) {
		reason := i18n.M("constituency.error.role")
		if c.Role == "" {
			reason = i18n.M("constituency.error.role.missing")
		}
		errs.add(FieldContactRole, n, c.Role, reason)
	}
	key, reason := normalizePGPKey(c.PGPKey)
	if !reason.IsZero() {
		errs.add(FieldContactPGPKey, n, shortKey(c.PGPKey), reason)
	}
	c.PGPKey = key
	return errs
}

// sortContacts sorts the contacts by e-mail and role and drops exact
// repeats. The same mailbox twice in one role with different details is
// refused: one of the two is a mistake and only a person can tell which.
func sortContacts(o *Organisation) FieldErrors {
	type numbered struct {
		Contact
		n int // position as given, for errors
	}
	cs := make([]numbered, len(o.Contacts))
	for i, c := range o.Contacts {
		cs[i] = numbered{c, i + 1}
	}
	slices.SortStableFunc(cs, func(a, b numbered) int { return compareContacts(a.Contact, b.Contact) })
	var errs FieldErrors
	out := o.Contacts[:0]
	for i, c := range cs {
		if i > 0 {
			prev := cs[i-1]
			if sameContact(prev.Contact, c.Contact) {
				continue
			}
			if prev.Email == c.Email && prev.Role == c.Role && c.Email != "" {
				errs.add(FieldContactEmail, c.n, c.Email, i18n.M("constituency.error.contact.twice", c.Role, prev.n))
			}
		}
		out = append(out, c.Contact)
	}
	o.Contacts = out
	return errs
}

func compareContacts(a, b Contact) int {
	if c := strings.Compare(a.Email, b.Email); c != 0 {
		return c
	}
	if c := strings.Compare(a.Role, b.Role); c != 0 {
		return c
	}
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	if c := strings.Compare(a.Phone, b.Phone); c != 0 {
		return c
	}
	if a.Notify != b.Notify {
		if !a.Notify {
			return -1
		}
		return 1
	}
	return strings.Compare(a.PGPKey, b.PGPKey)
}

// sameContact compares what a person wrote, not the database IDs.
func sameContact(a, b Contact) bool {
	a.ID, b.ID = 0, 0
	return a == b
}

func handleProblem(h string) i18n.Message {
	if h == "" {
		return i18n.M("constituency.error.handle")
	}
	if len(h) > 63 {
		return i18n.M("constituency.error.handle.long")
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
		case c == '-' && i > 0:
		case c == '-':
			return i18n.M("constituency.error.handle.start")
		default:
			return i18n.M("constituency.error.handle.chars")
		}
	}
	return i18n.Message{}
}

// lineProblem refuses what cannot be a one-line text: control characters
// (a newline in a name breaks the notification's headers) and broken UTF-8.
func lineProblem(s string) i18n.Message {
	if !utf8.ValidString(s) {
		return i18n.M("constituency.error.utf8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return i18n.M("constituency.error.line")
		}
	}
	return i18n.Message{}
}

// normalizeText makes multi-line text the same however it was typed:
// line ends as \n, no surrounding blanks. CSV readers turn \r\n into \n,
// so without this a note would not survive a CSV round trip.
func normalizeText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.TrimSpace(s)
}

func countryProblem(cc string) i18n.Message {
	if cc == "" {
		return i18n.Message{}
	}
	if len(cc) != 2 || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z' {
		return i18n.M("constituency.error.country")
	}
	if r, err := language.ParseRegion(cc); err != nil || !r.IsCountry() || r.String() != cc {
		return i18n.M("constituency.error.country.unknown")
	}
	return i18n.Message{}
}

// ParseNetwork reads a network as people write it: a CIDR prefix, or an
// address alone for that one host. It keeps the host bits, so that
// Normalize can refuse 192.0.2.7/24 instead of silently guessing.
func ParseNetwork(s string) (netip.Prefix, error) {
	p, reason := parseNetwork(s)
	if !reason.IsZero() {
		return p, newFieldError(FieldNetworks, strings.TrimSpace(s), reason)
	}
	return p, nil
}

// parseNetwork is ParseNetwork for the file readers, which report the
// reason rather than an error.
func parseNetwork(s string) (netip.Prefix, i18n.Message) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, i18n.M("constituency.error.network")
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), i18n.Message{}
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, i18n.M("constituency.error.network")
	}
	return p, i18n.Message{}
}

func normalizePrefix(p netip.Prefix) (netip.Prefix, i18n.Message) {
	if !p.IsValid() {
		return p, i18n.M("constituency.error.network.invalid")
	}
	if p.Addr().Is4In6() && p.Bits() < 96 {
		return p, i18n.M("constituency.error.network.mapped")
	}
	// The stores' canonical form; it differs from p in its address only
	// when host bits are set, which a person has to correct.
	n := CanonicalNetwork(p)
	if n.Addr() != p.Addr().Unmap() {
		return n, i18n.M("constituency.error.network.hostbits", n.String())
	}
	return n, i18n.Message{}
}

// ParseASN reads an AS number written as 64496 or AS64496.
func ParseASN(s string) (uint32, error) {
	asn, reason := parseASN(s)
	if !reason.IsZero() {
		return 0, newFieldError(FieldASNs, s, reason)
	}
	return asn, nil
}

// parseASN is ParseASN for the file readers, which report the reason
// rather than an error.
func parseASN(s string) (uint32, i18n.Message) {
	v := strings.TrimSpace(s)
	if len(v) > 2 && (v[0] == 'A' || v[0] == 'a') && (v[1] == 'S' || v[1] == 's') {
		v = v[2:]
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n == 0 {
		return 0, i18n.M("constituency.error.asn")
	}
	return uint32(n), i18n.Message{}
}

// normalizeDomain writes a domain the way events carry it (event package:
// lower case, punycode, no trailing dot), so that lookups compare equal
// strings.
func normalizeDomain(d string) (string, i18n.Message) {
	n, err := event.Normalize("source.fqdn", d)
	if err != nil {
		reason := err.Error()
		if fe := (*event.FieldError)(nil); errors.As(err, &fe) {
			reason = fe.Reason
		}
		return strings.TrimSpace(d), i18n.M("constituency.error.domain", reason)
	}
	if strings.Contains(n, "*") {
		return n, i18n.M("constituency.error.domain.wildcard")
	}
	return n, i18n.Message{}
}

// NormalizeDomain returns d as Table lookups expect it, or an error.
func NormalizeDomain(d string) (string, error) {
	n, reason := normalizeDomain(d)
	if !reason.IsZero() {
		return "", newFieldError(FieldDomains, d, reason)
	}
	return n, nil
}

func normalizeEmail(s string) (string, i18n.Message) {
	s = strings.TrimSpace(s)
	if s == "" {
		return s, i18n.M("constituency.error.email.missing")
	}
	if reason := lineProblem(s); !reason.IsZero() {
		return s, reason
	}
	// Names, comments and quoted local parts are refused: the address
	// is written into message headers and files as it is stored here.
	if strings.ContainsAny(s, "<>()\" ,;") {
		return s, i18n.M("constituency.error.email.alone")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" {
		return s, i18n.M("constituency.error.email")
	}
	at := strings.LastIndexByte(a.Address, '@')
	local, domain := a.Address[:at], a.Address[at+1:]
	d, reason := normalizeDomain(domain)
	if !reason.IsZero() || !strings.Contains(d, ".") {
		return s, i18n.M("constituency.error.email.domain")
	}
	return local + "@" + d, i18n.Message{}
}

const (
	pgpBegin        = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
	pgpEnd          = "-----END PGP PUBLIC KEY BLOCK-----"
	pgpPrivateBegin = "-----BEGIN PGP PRIVATE KEY BLOCK-----"
)

// normalizePGPKey checks the armor of a public key: the begin and end
// lines, and a body of base64 lines after the optional headers. It does not
// parse the key: notifications do that when they encrypt, and the checks
// here catch what is usually pasted by mistake (a fingerprint, a private
// key, half a key).
func normalizePGPKey(k string) (string, i18n.Message) {
	k = normalizeText(k)
	if k == "" {
		return "", i18n.Message{}
	}
	if !utf8.ValidString(k) {
		return k, i18n.M("constituency.error.utf8")
	}
	if strings.Contains(k, pgpPrivateBegin) {
		return "", i18n.M("constituency.error.key.private")
	}
	lines := strings.Split(k, "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " \t")
	}
	if lines[0] != pgpBegin || lines[len(lines)-1] != pgpEnd || len(lines) < 3 {
		return k, i18n.M("constituency.error.key.armor", pgpBegin, pgpEnd)
	}
	body := lines[1 : len(lines)-1]
	// Armor headers ("Comment: …") end with an empty line.
	if i := slices.Index(body, ""); i >= 0 {
		for _, h := range body[:i] {
			if !strings.Contains(h, ": ") {
				return k, i18n.M("constituency.error.key.header")
			}
		}
		body = body[i+1:]
	}
	data := 0
	for j, l := range body {
		if strings.HasPrefix(l, "=") && j == len(body)-1 {
			break // the CRC-24 checksum
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
				return k, i18n.M("constituency.error.key.base64")
			}
		}
		data += len(l)
	}
	if data == 0 {
		return k, i18n.M("constituency.error.key.empty")
	}
	return strings.Join(lines, "\n"), i18n.Message{}
}

// shortKey keeps error messages readable when a whole key is wrong.
func shortKey(k string) string {
	k = strings.TrimSpace(k)
	if i := strings.IndexByte(k, '\n'); i >= 0 {
		return k[:i] + "…"
	}
	return k
}
