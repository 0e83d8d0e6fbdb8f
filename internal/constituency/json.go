package constituency

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// jsonOrganisation and jsonContact are what WriteJSON writes: every field
// always, so that scripts reading the file find the same shape each time.
type jsonOrganisation struct {
	Handle   string        `json:"handle"`
	Name     string        `json:"name"`
	Sector   string        `json:"sector"`
	Country  string        `json:"country"`
	Language string        `json:"language"`
	Networks []string      `json:"networks"`
	ASNs     []uint32      `json:"asns"`
	Domains  []string      `json:"domains"`
	Notes    string        `json:"notes"`
	Contacts []jsonContact `json:"contacts"`
}

type jsonContact struct {
	Name   string `json:"name"`
	Email  string `json:"email"`
	Phone  string `json:"phone"`
	Role   string `json:"role"`
	Notify bool   `json:"notify"`
	PGPKey string `json:"pgp_key"`
}

// WriteJSON writes the JSON form of a constituency; see Write and
// FormatJSON.
func WriteJSON(w io.Writer, orgs []Organisation) error {
	out := make([]jsonOrganisation, 0, len(orgs))
	for _, o := range sortedForWriting(orgs) {
		jo := jsonOrganisation{Handle: o.Handle, Name: o.Name, Sector: o.Sector, Country: o.Country, Language: o.Language,
			Networks: networkStrings(o.Networks), ASNs: o.ASNs, Domains: o.Domains, Notes: o.Notes,
			Contacts: make([]jsonContact, len(o.Contacts))}
		if jo.ASNs == nil {
			jo.ASNs = []uint32{}
		}
		if jo.Domains == nil {
			jo.Domains = []string{}
		}
		for i, c := range o.Contacts {
			jo.Contacts[i] = jsonContact{Name: c.Name, Email: c.Email, Phone: c.Phone, Role: c.Role, Notify: c.Notify, PGPKey: c.PGPKey}
		}
		out = append(out, jo)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // "R&D", not "R\u0026D"
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write constituency JSON: %w", err)
	}
	return nil
}

// ReadJSON reads the JSON form of a constituency; see Read and FormatJSON.
// It reads the organisations one by one, so that a wrong type in one field
// is reported with its line and the rest is still checked.
func ReadJSON(r io.Reader) ([]Organisation, []Problem, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("read constituency JSON: %w", err)
	}
	j := &jsonReader{lines: newLineIndex(data)}
	cands := j.read(data)
	if j.stopped {
		return nil, nil, &InvalidError{Problems: j.problems}
	}
	return finish(cands, j.problems, func(fe *FieldError) string {
		if fe.Contact > 0 {
			return fmt.Sprintf("contacts[%d].%s", fe.Contact-1, strings.TrimPrefix(fe.Field, "contact_"))
		}
		return fe.Field
	})
}

type jsonReader struct {
	lines    lineIndex
	problems []Problem
	// stopped is set by a syntax error: nothing after it can be read.
	stopped bool
}

func (j *jsonReader) problem(offset int64, field, value string, reason i18n.Message) {
	j.problems = append(j.problems, fileProblem(j.lines.line(offset), field, value, reason, ""))
}

// syntax reports a broken file and stops.
func (j *jsonReader) syntax(err error, offset int64) {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		offset = se.Offset
	}
	// The decoder's own text stays English, after a translated sentence.
	reason := i18n.M("constituency.file.json.syntax", err.Error())
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		reason = i18n.M("constituency.file.json.truncated")
	}
	j.problem(offset, "", "", reason)
	j.stopped = true
}

func (j *jsonReader) read(data []byte) []*candidate {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		j.syntax(err, dec.InputOffset())
		return nil
	}
	if tok != json.Delim('[') {
		j.problem(0, "", "", i18n.M("constituency.file.json.array"))
		j.stopped = true
		return nil
	}
	var cands []*candidate
	for dec.More() {
		start := dec.InputOffset()
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			j.syntax(err, start)
			return nil
		}
		// InputOffset is now the end of the value; raw holds no blanks.
		at := dec.InputOffset() - int64(len(raw))
		n := len(j.problems)
		if c := j.organisation(raw, at); c != nil {
			cands = append(cands, c)
			for i := range j.problems[n:] {
				j.problems[n+i].Handle = strings.ToLower(strings.TrimSpace(c.org.Handle))
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing ]
		j.syntax(err, dec.InputOffset())
		return nil
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		j.problem(dec.InputOffset(), "", "", i18n.M("constituency.file.json.trailing"))
	}
	return cands
}

// member is one key and value of an object, with the value's offset.
type member struct {
	key   string
	value json.RawMessage
	at    int64
}

// members splits an object into its members; raw must be valid JSON (it
// came from the decoder), at is its offset in the file. notObject is the
// problem when raw is not an object, given what raw is.
func (j *jsonReader) members(raw json.RawMessage, at int64, notObject func(got string) i18n.Message) ([]member, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, _ := dec.Token(); tok != json.Delim('{') {
		j.problem(at, "", "", notObject(shorten(string(raw))))
		return nil, false
	}
	var ms []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			j.syntax(err, at+dec.InputOffset())
			return nil, false
		}
		key, _ := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			j.syntax(err, at+dec.InputOffset())
			return nil, false
		}
		ms = append(ms, member{key: key, value: value, at: at + dec.InputOffset() - int64(len(value))})
	}
	return ms, true
}

func (j *jsonReader) organisation(raw json.RawMessage, at int64) *candidate {
	ms, ok := j.members(raw, at, func(got string) i18n.Message {
		return i18n.M("constituency.file.json.organisation.object", got)
	})
	if !ok {
		return nil
	}
	c := &candidate{line: j.lines.line(at), fieldLines: map[string]int{}}
	o := &c.org
	for _, m := range ms {
		field := m.key
		if _, twice := c.fieldLines[m.key]; twice {
			j.problem(m.at, field, shorten(string(m.value)), i18n.M("constituency.file.json.twice"))
			continue
		}
		c.fieldLines[m.key] = j.lines.line(m.at)
		switch m.key {
		case FieldHandle:
			j.text(m, field, &o.Handle)
		case FieldName:
			j.text(m, field, &o.Name)
		case FieldSector:
			j.text(m, field, &o.Sector)
		case FieldCountry:
			j.text(m, field, &o.Country)
		case FieldLanguage:
			j.text(m, field, &o.Language)
		case FieldNotes:
			j.text(m, field, &o.Notes)
		case FieldNetworks:
			for _, s := range j.texts(m, field) {
				p, reason := parseNetwork(s)
				if !reason.IsZero() {
					j.problem(m.at, field, s, reason)
					continue
				}
				o.Networks = append(o.Networks, p)
			}
		case FieldASNs:
			o.ASNs = j.asns(m, field)
		case FieldDomains:
			o.Domains = j.texts(m, field)
		case "contacts":
			var items []json.RawMessage
			if err := json.Unmarshal(m.value, &items); err != nil {
				j.problem(m.at, field, shorten(string(m.value)), i18n.M("constituency.file.json.contacts"))
				continue
			}
			// The offsets of the items are found again by decoding the
			// list token by token.
			dec := json.NewDecoder(bytes.NewReader(m.value))
			dec.Token()
			for i := range items {
				var item json.RawMessage
				dec.Decode(&item) // cannot fail: Unmarshal read the same bytes
				itemAt := m.at + dec.InputOffset() - int64(len(item))
				contact := j.contact(item, itemAt, fmt.Sprintf("contacts[%d]", i))
				o.Contacts = append(o.Contacts, contact)
				c.contactLines = append(c.contactLines, j.lines.line(itemAt))
			}
		default:
			j.problem(m.at, m.key, "", i18n.M("constituency.file.json.field.organisation",
				strings.Join(append(slices.Clone(organisationColumns), "contacts"), ", ")))
		}
	}
	return c
}

func (j *jsonReader) contact(raw json.RawMessage, at int64, path string) Contact {
	var c Contact
	ms, ok := j.members(raw, at, func(got string) i18n.Message {
		return i18n.M("constituency.file.json.contact.object", path, got)
	})
	if !ok {
		return c
	}
	seen := map[string]bool{}
	for _, m := range ms {
		field := path + "." + m.key
		if seen[m.key] {
			j.problem(m.at, field, shorten(string(m.value)), i18n.M("constituency.file.json.twice"))
			continue
		}
		seen[m.key] = true
		switch m.key {
		case "name":
			j.text(m, field, &c.Name)
		case "email":
			j.text(m, field, &c.Email)
		case "phone":
			j.text(m, field, &c.Phone)
		case "role":
			j.text(m, field, &c.Role)
		case "pgp_key":
			j.text(m, field, &c.PGPKey)
		case "notify":
			if string(m.value) != "null" && json.Unmarshal(m.value, &c.Notify) != nil {
				j.problem(m.at, field, shorten(string(m.value)), i18n.M("constituency.file.json.bool"))
			}
		default:
			j.problem(m.at, field, "", i18n.M("constituency.file.json.field.contact", "name, email, phone, role, notify, pgp_key"))
		}
	}
	return c
}

// text reads a string member; null is the empty string.
func (j *jsonReader) text(m member, field string, into *string) {
	if string(m.value) == "null" {
		return
	}
	if err := json.Unmarshal(m.value, into); err != nil {
		j.problem(m.at, field, shorten(string(m.value)), i18n.M("constituency.file.json.string"))
	}
}

// texts reads a list of strings; null is the empty list.
func (j *jsonReader) texts(m member, field string) []string {
	var out []string
	if string(m.value) == "null" {
		return nil
	}
	if err := json.Unmarshal(m.value, &out); err != nil {
		j.problem(m.at, field, shorten(string(m.value)), i18n.M("constituency.file.json.strings"))
		return nil
	}
	return out
}

// asns reads a list of AS numbers, each a number or a string ("AS64496").
func (j *jsonReader) asns(m member, field string) []uint32 {
	var items []json.RawMessage
	if string(m.value) == "null" {
		return nil
	}
	if err := json.Unmarshal(m.value, &items); err != nil {
		j.problem(m.at, field, shorten(string(m.value)), i18n.M("constituency.file.json.asns"))
		return nil
	}
	var out []uint32
	for _, item := range items {
		var s string
		if err := json.Unmarshal(item, &s); err != nil {
			s = string(item) // a number, or what ParseASN will refuse
		}
		asn, reason := parseASN(s)
		if !reason.IsZero() {
			j.problem(m.at, field, s, reason)
			continue
		}
		out = append(out, asn)
	}
	return out
}

func shorten(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

// lineIndex finds the line of an offset.
type lineIndex []int64 // offsets of the newlines

func newLineIndex(data []byte) lineIndex {
	var idx lineIndex
	for i, b := range data {
		if b == '\n' {
			idx = append(idx, int64(i))
		}
	}
	return idx
}

func (idx lineIndex) line(offset int64) int {
	return sort.Search(len(idx), func(i int) bool { return idx[i] >= offset }) + 1
}
