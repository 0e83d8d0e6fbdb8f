package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/pgpmime"
)

// The organisation form: reading it, checking it as a whole against the
// rest of the constituency, and judging its contacts' OpenPGP keys.

// organisationForm is the organisation form as typed: the lists are the
// textareas' text, so that a refused form comes back exactly as it was.
type organisationForm struct {
	Handle   string
	Name     string
	Sector   string
	Country  string
	Language string
	Notes    string
	Networks string
	ASNs     string
	Domains  string
	Contacts []contactRow
}

// contactRow is one row of the contacts table.
type contactRow struct {
	Index    int   // the row's number in the form's field names
	ID       int64 // the stored contact's ID; 0 for a new row
	Name     string
	Email    string
	Phone    string
	Role     string
	PGPKey   string
	Notify   bool
	Remove   bool
	Key      keyBadge
	Problems []string // translated
}

func (r contactRow) blank() bool {
	return r.ID == 0 && r.Name == "" && r.Email == "" && r.Phone == "" && strings.TrimSpace(r.PGPKey) == ""
}

// keyBadge is what the console says about a contact's OpenPGP key.
type keyBadge struct {
	Present     bool
	Usable      bool
	Soon        bool // usable, but not for long
	Fingerprint string
	Text        string // translated: until when it is usable, or why not
}

// blankContactRows is how many empty rows the contacts table offers:
// without JavaScript a form cannot grow, so there is always room for two
// more, and saving gives two new empty ones.
const blankContactRows = 2

// maxContactRows bounds the rows a posted form may claim to have.
const maxContactRows = 500

// withBlankRows numbers rows and appends the empty rows for new contacts.
func withBlankRows(rows []contactRow) []contactRow {
	blank := 0
	for i := len(rows) - 1; i >= 0 && rows[i].blank(); i-- {
		blank++
	}
	for ; blank < blankContactRows; blank++ {
		rows = append(rows, contactRow{Role: constituency.Roles[0]})
	}
	for i := range rows {
		rows[i].Index = i
	}
	return rows
}

// formOf is the form of a stored organisation, with its contacts' key
// badges.
func formOf(o constituency.Organisation) organisationForm {
	f := organisationForm{
		Handle: o.Handle, Name: o.Name, Sector: o.Sector, Country: o.Country, Language: o.Language, Notes: o.Notes,
	}
	lines := make([]string, 0, max(len(o.Networks), len(o.ASNs), len(o.Domains)))
	for _, n := range o.Networks {
		lines = append(lines, n.String())
	}
	f.Networks = strings.Join(lines, "\n")
	lines = lines[:0]
	for _, a := range o.ASNs {
		lines = append(lines, "AS"+strconv.FormatUint(uint64(a), 10))
	}
	f.ASNs = strings.Join(lines, "\n")
	f.Domains = strings.Join(o.Domains, "\n")
	for _, ct := range o.Contacts {
		f.Contacts = append(f.Contacts, contactRow{
			ID: ct.ID, Name: ct.Name, Email: ct.Email, Phone: ct.Phone, Role: ct.Role, PGPKey: ct.PGPKey, Notify: ct.Notify,
		})
	}
	return f
}

// readOrganisationForm reads the posted form as typed.
func readOrganisationForm(r *http.Request) organisationForm {
	f := organisationForm{
		Handle:   strings.TrimSpace(r.PostFormValue("handle")),
		Name:     r.PostFormValue("name"),
		Sector:   r.PostFormValue("sector"),
		Country:  r.PostFormValue("country"),
		Language: r.PostFormValue("language"),
		Notes:    r.PostFormValue("notes"),
		Networks: r.PostFormValue("networks"),
		ASNs:     r.PostFormValue("asns"),
		Domains:  r.PostFormValue("domains"),
	}
	n, _ := strconv.Atoi(r.PostFormValue("contacts"))
	n = max(0, min(n, maxContactRows))
	for i := range n {
		field := func(name string) string { return r.PostFormValue(fmt.Sprintf("c%d.%s", i, name)) }
		id, _ := strconv.ParseInt(field("id"), 10, 64)
		f.Contacts = append(f.Contacts, contactRow{
			ID: max(id, 0), Name: field("name"), Email: field("email"), Phone: field("phone"), Role: field("role"),
			PGPKey: field("key"), Notify: field("notify") == "on", Remove: field("remove") == "on",
		})
	}
	return f
}

// listItems splits a textarea into its entries: one a line, as the form
// asks, but commas and spaces separate too, as people paste lists.
func listItems(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == '\n' || r == '\r' || r == ',' || r == ' ' || r == '\t' || r == ';'
	})
}

// checkOrganisation turns the form of p into an organisation and checks it
// with constituency.CheckChange, as the API does, filling p's problems and
// notes.
// selfID is the organisation being edited, 0 for a new one. ok is false
// when anything must be fixed first.
func (c *Console) checkOrganisation(ctx context.Context, v *visit, p *organisationPage, selfID int64) (constituency.Organisation, bool, error) {
	f := &p.Form
	o := constituency.Organisation{
		Handle: f.Handle, Name: f.Name, Sector: f.Sector, Country: f.Country, Language: f.Language, Notes: f.Notes,
	}
	bad := func(field, text string) { p.Problems[field] = append(p.Problems[field], text) }
	for _, s := range listItems(f.Networks) {
		n, err := constituency.ParseNetwork(s)
		if err != nil {
			bad(constituency.FieldNetworks, c.fieldProblemText(v, err, s))
			continue
		}
		o.Networks = append(o.Networks, n)
	}
	for _, s := range listItems(f.ASNs) {
		a, err := constituency.ParseASN(s)
		if err != nil {
			bad(constituency.FieldASNs, c.fieldProblemText(v, err, s))
			continue
		}
		o.ASNs = append(o.ASNs, a)
	}
	o.Domains = listItems(f.Domains)
	// rowOf maps a contact's position in o (1-based, as Normalize counts)
	// to its row in the form.
	var rowOf []int
	for i, row := range f.Contacts {
		if row.Remove || row.blank() {
			continue
		}
		o.Contacts = append(o.Contacts, constituency.Contact{
			ID: row.ID, Name: row.Name, Email: row.Email, Phone: row.Phone, Role: row.Role, PGPKey: row.PGPKey, Notify: row.Notify,
		})
		rowOf = append(rowOf, i)
	}

	verdict, err := constituency.CheckChangeIn(ctx, c.store, &o, selfID)
	if err != nil {
		return o, false, err
	}
	for _, fe := range verdict.Invalid {
		text := c.fieldProblemText(v, fe, fe.Value)
		if fe.Contact > 0 && fe.Contact <= len(rowOf) {
			row := &f.Contacts[rowOf[fe.Contact-1]]
			row.Problems = append(row.Problems, text)
			continue
		}
		bad(fe.Field, text)
	}
	for _, t := range verdict.Taken {
		bad(t.Field, c.tr(v, conflictMessages[t.Field], t.Value, t.Owner))
	}
	for _, pr := range verdict.Problems {
		text := c.fieldProblemText(v, &constituency.FieldError{Value: pr.Value, Reason: pr.Reason, Message: pr.Message}, pr.Value)
		if pr.Handle != o.Handle {
			text = pr.Handle + ": " + text
		}
		if pr.Severity == constituency.SeverityNote {
			p.Notes = append(p.Notes, text)
			continue
		}
		bad(pr.Field, text)
	}
	// The form's own problems (a network that does not parse) count too.
	return o, verdict.OK() && len(p.Problems) == 0, nil
}

// fieldProblemText writes a refused value and the reason, as the
// constituency package gives it for a person, in the visitor's language.
func (c *Console) fieldProblemText(v *visit, err error, value string) string {
	var fe *constituency.FieldError
	if !errors.As(err, &fe) {
		return value
	}
	if fe.Value != "" {
		value = fe.Value
	}
	reason := fe.Reason
	if !fe.Message.IsZero() {
		reason = fe.Message.In(c.catalog, v.lang)
	}
	if value == "" {
		return reason
	}
	return value + ": " + reason
}

// conflictMessages say, with the value and the other organisation's
// name, that a constituency.Conflict's field is taken.
var conflictMessages = map[string]string{
	constituency.FieldHandle:   msgHandleTakenBy,
	constituency.FieldNetworks: msgNetworkTaken,
	constituency.FieldASNs:     msgASNTaken,
	constituency.FieldDomains:  msgDomainTaken,
}

// keyExpiresSoon is how long before its expiry a key is flagged, so that
// the team asks for a new one in time.
const keyExpiresSoon = 30 * 24 * time.Hour

// withKeyBadges judges every row's key as the notifier will when it
// sends: an unusable key means no message at all for that contact.
func (c *Console) withKeyBadges(v *visit, rows []contactRow) {
	now := c.now()
	for i := range rows {
		rows[i].Key = c.keyBadge(v, rows[i].PGPKey, now)
	}
}
func (c *Console) keyBadge(v *visit, key string, now time.Time) keyBadge {
	if strings.TrimSpace(key) == "" {
		return keyBadge{}
	}
	ks := pgpmime.InspectKey(key, now)
	b := keyBadge{Present: true, Usable: ks.Usable, Fingerprint: ks.Fingerprint}
	switch {
	case ks.Usable && ks.Expires.IsZero():
		b.Text = c.tr(v, msgKeyUsable)
	case ks.Usable:
		b.Text = c.tr(v, msgKeyUsableUntil, c.catalog.Date(v.lang, ks.Expires))
		b.Soon = ks.Expires.Sub(now) < keyExpiresSoon
	case !ks.Expires.IsZero() && !ks.Expires.After(now):
		b.Text = c.tr(v, msgKeyExpired, c.catalog.Date(v.lang, ks.Expires))
	default:
		b.Text = c.tr(v, msgKeyUnusable, ks.Message.In(c.catalog, v.lang))
	}
	return b
}
