package constituency

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// Format is a file format of the constituency.
type Format string

// The formats. Both hold the same: the organisations with their networks,
// AS numbers, domains and contacts, not the database's IDs and times.
//
// JSON is an array of organisations:
//
//	[{"handle": "uliege", "name": "Université de Liège", "sector": "education",
//	  "country": "BE", "language": "fr", "networks": ["192.0.2.0/24"],
//	  "asns": [64496], "domains": ["uliege.be"], "notes": "",
//	  "contacts": [{"name": "CSIRT", "email": "csirt@uliege.be", "phone": "",
//	                "role": "abuse", "notify": true, "pgp_key": "-----BEGIN PGP…"}]}]
//
// AS numbers may also be written "AS64496". CSV has one row per contact,
// the organisation's columns repeated on each of its rows (one row with
// empty contact columns for an organisation without contacts), networks,
// AS numbers and domains separated by spaces, and a header naming the
// columns (any order; handle and name are required):
//
//	handle,name,sector,country,language,networks,asns,domains,notes,
//	contact_name,contact_email,contact_phone,contact_role,contact_notify,contact_pgp_key
const (
	FormatCSV  Format = "csv"
	FormatJSON Format = "json"
)

// ParseFormat reads a format name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case FormatCSV, FormatJSON:
		return f, nil
	}
	return "", &FormatError{Name: s, msg: fmt.Sprintf("unknown constituency format %q: want csv or json", s), id: "constituency.format.unknown"}
}

// FormatError is a format that cannot be told or is not known: its
// Explain says so in the reader's language.
type FormatError struct {
	Name    string // the format or file name given
	msg, id string
}

func (e *FormatError) Error() string { return e.msg }

// Explain is the error's message in the catalogue.
func (e *FormatError) Explain() i18n.Message { return i18n.M(e.id, e.Name) }

// FormatOf tells the format from a file name's extension.
func FormatOf(name string) (Format, error) {
	ext := strings.TrimPrefix(filepath.Ext(name), ".")
	if ext == "" {
		return "", &FormatError{Name: name, msg: fmt.Sprintf("%s has no extension to tell its format by: give it (csv or json)", name), id: "constituency.format.noext"}
	}
	f, err := ParseFormat(ext)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return f, nil
}

// MaxFileSize bounds what Read accepts: a constituency of ten thousand
// organisations is a few megabytes.
const MaxFileSize = 64 << 20

// Read reads a constituency file: every organisation normalized, then the
// overlap rules of Check. When anything is wrong it returns an
// *InvalidError with every problem found, each with its line, field and
// value, and no organisations; otherwise the organisations sorted by
// handle and the notes Check made. Other errors are for a stream that
// could not be read.
func Read(r io.Reader, f Format) ([]Organisation, []Problem, error) {
	switch f {
	case FormatCSV:
		return ReadCSV(r)
	case FormatJSON:
		return ReadJSON(r)
	}
	return nil, nil, fmt.Errorf("unknown constituency format %q", f)
}

// Write writes orgs in format f, sorted, so that the same constituency
// always gives the same file.
func Write(w io.Writer, f Format, orgs []Organisation) error {
	switch f {
	case FormatCSV:
		return WriteCSV(w, orgs)
	case FormatJSON:
		return WriteJSON(w, orgs)
	}
	return fmt.Errorf("unknown constituency format %q", f)
}

// errTooLarge is wrapped by the error for input over MaxFileSize.
var errTooLarge error = tooLarge{}

// tooLarge is errTooLarge's type: its Explain says it in the reader's
// language.
type tooLarge struct{}

func (tooLarge) Error() string { return "constituency file larger than 64 MiB" }

// Explain is the error's message in the catalogue.
func (tooLarge) Explain() i18n.Message { return i18n.M("constituency.toolarge", MaxFileSize>>20) }

// sizeLimit is MaxFileSize; tests lower it.
var sizeLimit int64 = MaxFileSize

// readAll reads at most sizeLimit bytes.
func readAll(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, sizeLimit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > sizeLimit {
		return nil, errTooLarge
	}
	return data, nil
}

// candidate is an organisation as read, with where its parts were, so
// that problems found later name their lines.
type candidate struct {
	org  Organisation
	line int // where the organisation starts
	// fieldLines are the lines of the organisation's fields, where the
	// format knows them better than line.
	fieldLines map[string]int
	// contactLines are the lines of the contacts, in the order given.
	contactLines []int
}

func (c *candidate) lineOf(field string, contact int) int {
	if contact > 0 && contact <= len(c.contactLines) {
		return c.contactLines[contact-1]
	}
	if l, ok := c.fieldLines[field]; ok {
		return l
	}
	return c.line
}

// fileProblem is a problem of reading a file, its Reason the English of
// reason.
func fileProblem(line int, field, value string, reason i18n.Message, handle string) Problem {
	return Problem{Line: line, Field: field, Value: value, Reason: reason.String(), Message: reason, Handle: handle}
}

// finish normalizes and checks what a reader made of its input, adding to
// the problems the reader found. It is the part both formats share;
// fieldName writes a field's name the way the format does.
func finish(cands []*candidate, problems []Problem, fieldName func(*FieldError) string) ([]Organisation, []Problem, error) {
	// What the reader refused, it left out; Normalize would then add
	// that the field is missing, which only repeats the problem.
	refused := map[[2]any]bool{}
	for _, p := range problems {
		refused[[2]any{p.Line, p.Field}] = true
	}
	byHandle := map[string]*candidate{}
	orgs := make([]Organisation, 0, len(cands))
	for _, c := range cands {
		err := Normalize(&c.org)
		var fes FieldErrors
		if errors.As(err, &fes) {
			for _, fe := range fes {
				p := Problem{Line: c.lineOf(fe.Field, fe.Contact), Field: fieldName(fe), Value: fe.Value, Reason: fe.Reason, Message: fe.Message, Handle: c.org.Handle}
				if p.Value == "" && refused[[2]any{p.Line, p.Field}] {
					continue
				}
				problems = append(problems, p)
			}
		} else if err != nil {
			return nil, nil, err
		}
		if c.org.Handle == "" {
			continue // reported; Check would only repeat it
		}
		if first, dup := byHandle[c.org.Handle]; dup {
			problems = append(problems, fileProblem(c.line, FieldHandle, c.org.Handle,
				i18n.M("constituency.file.twice", first.line), c.org.Handle))
			continue
		}
		byHandle[c.org.Handle] = c
		orgs = append(orgs, c.org)
	}
	for _, p := range Check(orgs) {
		if c := byHandle[p.Handle]; c != nil {
			p.Line = c.lineOf(p.Field, 0)
			p.Field = fieldName(&FieldError{Field: p.Field})
		}
		problems = append(problems, p)
	}
	// By line, then in the order of the columns, as a person reads.
	slices.SortStableFunc(problems, func(a, b Problem) int {
		if c := cmp.Compare(a.Line, b.Line); c != 0 {
			return c
		}
		return cmp.Compare(fieldRank(a.Field), fieldRank(b.Field))
	})
	if HasErrors(problems) {
		return nil, nil, &InvalidError{Problems: problems}
	}
	slices.SortFunc(orgs, func(a, b Organisation) int { return strings.Compare(a.Handle, b.Handle) })
	return orgs, problems, nil
}

// fieldRank orders field names as the CSV columns are; a JSON contact
// field (contacts[1].email) ranks as its column (contact_email).
func fieldRank(field string) int {
	if i := strings.Index(field, "]."); strings.HasPrefix(field, "contacts[") && i > 0 {
		field = "contact_" + field[i+2:]
	}
	if i := slices.Index(csvColumns, field); i >= 0 {
		return i
	}
	return len(csvColumns)
}

// splitList splits a cell of networks, AS numbers or domains: spaces, as
// written, and commas, as people also type.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
}

// sortedForWriting returns orgs sorted by handle with every list sorted,
// without touching orgs: what is written must not depend on the order the
// caller had, even for organisations stored before the rules of Normalize.
func sortedForWriting(orgs []Organisation) []Organisation {
	out := make([]Organisation, len(orgs))
	for i, o := range orgs {
		o.Networks = slices.Clone(o.Networks)
		slices.SortFunc(o.Networks, netip.Prefix.Compare)
		o.ASNs = slices.Clone(o.ASNs)
		slices.Sort(o.ASNs)
		o.Domains = slices.Clone(o.Domains)
		slices.Sort(o.Domains)
		o.Contacts = slices.Clone(o.Contacts)
		slices.SortStableFunc(o.Contacts, compareContacts)
		out[i] = o
	}
	slices.SortStableFunc(out, func(a, b Organisation) int { return strings.Compare(a.Handle, b.Handle) })
	return out
}

func networkStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func asnStrings(asns []uint32) []string {
	out := make([]string, len(asns))
	for i, a := range asns {
		out[i] = strconv.FormatUint(uint64(a), 10)
	}
	return out
}
