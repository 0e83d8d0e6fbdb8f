package constituency

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// csvColumns are the columns WriteCSV writes, in order.
var csvColumns = []string{
	FieldHandle, FieldName, FieldSector, FieldCountry, FieldLanguage, FieldNetworks, FieldASNs, FieldDomains, FieldNotes,
	FieldContactName, FieldContactEmail, FieldContactPhone, FieldContactRole, FieldContactNotify, FieldContactPGPKey,
}

// organisationColumns are the columns every row of an organisation
// repeats; the others are the row's contact.
var organisationColumns, contactColumns = csvColumns[:9], csvColumns[9:]

// ReadCSV reads the CSV form of a constituency; see Read and FormatCSV.
func ReadCSV(r io.Reader) ([]Organisation, []Problem, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("read constituency CSV: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF")) // spreadsheets' byte order mark
	cr := csv.NewReader(bytes.NewReader(data))
	var problems []Problem
	problem := func(line int, field, value string, reason i18n.Message) {
		problems = append(problems, fileProblem(line, field, value, reason, ""))
	}
	invalid := func() ([]Organisation, []Problem, error) {
		return nil, nil, &InvalidError{Problems: problems}
	}

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		problem(1, "", "", i18n.M("constituency.file.csv.empty", strings.Join(csvColumns, ",")))
		return invalid()
	}
	if err != nil {
		problem(csvErrorLine(err, 1), "", "", i18n.M("constituency.file.csv.syntax", csvErrorReason(err)))
		return invalid()
	}
	column := csvHeaderColumns(header, func(field string, reason i18n.Message) { problem(1, field, "", reason) })
	if _, ok := column[FieldHandle]; !ok {
		return invalid() // rows cannot be told apart
	}

	type group struct {
		cand      *candidate
		canonical map[string]string // the organisation columns of its first row
	}
	groups := map[string]*group{}
	var cands []*candidate
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !errors.Is(err, csv.ErrFieldCount) {
			// The reader cannot find the next row after a broken quote.
			problem(csvErrorLine(err, 0), "", "", i18n.M("constituency.file.csv.syntax.rest", csvErrorReason(err)))
			break
		}
		line, _ := cr.FieldPos(0) // valid: a record was returned
		if err != nil {
			problem(line, "", "", i18n.M("constituency.file.csv.fields", len(rec), len(header)))
			continue
		}
		cell := func(name string) string {
			if i, ok := column[name]; ok {
				return rec[i]
			}
			return ""
		}
		if !slices.ContainsFunc(rec, func(v string) bool { return strings.TrimSpace(v) != "" }) {
			continue // a row of empty cells, as spreadsheets leave
		}
		handle := strings.ToLower(strings.TrimSpace(cell(FieldHandle)))
		if handle == "" {
			problem(line, FieldHandle, "", i18n.M("constituency.file.csv.handle"))
			continue
		}
		problem := func(line int, field, value string, reason i18n.Message) {
			problems = append(problems, fileProblem(line, field, value, reason, handle))
		}
		g := groups[handle]
		if g == nil {
			c := &candidate{line: line}
			c.org = organisationFromCSV(cell, func(field, value string, reason i18n.Message) { problem(line, field, value, reason) })
			g = &group{cand: c, canonical: map[string]string{}}
			for _, name := range organisationColumns {
				g.canonical[name] = canonicalCell(name, cell(name))
			}
			groups[handle] = g
			cands = append(cands, c)
		} else {
			for _, name := range organisationColumns {
				if v := cell(name); canonicalCell(name, v) != g.canonical[name] {
					problem(line, name, v, i18n.M("constituency.file.csv.differs", g.cand.line, handle))
				}
			}
		}
		if !slices.ContainsFunc(contactColumns, func(name string) bool { return strings.TrimSpace(cell(name)) != "" }) {
			continue // an organisation without contacts
		}
		notify, ok := parseBool(cell(FieldContactNotify))
		if !ok {
			problem(line, FieldContactNotify, cell(FieldContactNotify), i18n.M("constituency.file.csv.notify"))
		}
		g.cand.org.Contacts = append(g.cand.org.Contacts, Contact{
			Name: cell(FieldContactName), Email: cell(FieldContactEmail), Phone: cell(FieldContactPhone),
			Role: cell(FieldContactRole), Notify: notify, PGPKey: cell(FieldContactPGPKey),
		})
		g.cand.contactLines = append(g.cand.contactLines, line)
	}
	return finish(cands, problems, func(fe *FieldError) string { return fe.Field })
}

// csvHeaderColumns returns the place of each column the header names;
// unknown and repeated columns, and a missing handle or name column, are
// problems of line 1.
func csvHeaderColumns(header []string, problem func(field string, reason i18n.Message)) map[string]int {
	column := map[string]int{}
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(name))
		switch _, dup := column[name]; {
		case !slices.Contains(csvColumns, name):
			problem(name, i18n.M("constituency.file.csv.column.unknown", strings.Join(csvColumns, ",")))
		case dup:
			problem(name, i18n.M("constituency.file.csv.column.twice"))
		default:
			column[name] = i
		}
	}
	for _, required := range []string{FieldHandle, FieldName} {
		if _, ok := column[required]; !ok {
			problem(required, i18n.M("constituency.file.csv.column.missing", required))
		}
	}
	return column
}

// organisationFromCSV reads the organisation columns of a row; what cannot
// be parsed is reported and left out.
func organisationFromCSV(cell func(string) string, problem func(field, value string, reason i18n.Message)) Organisation {
	o := Organisation{
		Handle: cell(FieldHandle), Name: cell(FieldName), Sector: cell(FieldSector), Country: cell(FieldCountry),
		Language: cell(FieldLanguage), Notes: cell(FieldNotes),
	}
	for _, s := range splitList(cell(FieldNetworks)) {
		p, reason := parseNetwork(s)
		if !reason.IsZero() {
			problem(FieldNetworks, s, reason)
			continue
		}
		o.Networks = append(o.Networks, p)
	}
	for _, s := range splitList(cell(FieldASNs)) {
		asn, reason := parseASN(s)
		if !reason.IsZero() {
			problem(FieldASNs, s, reason)
			continue
		}
		o.ASNs = append(o.ASNs, asn)
	}
	o.Domains = splitList(cell(FieldDomains))
	return o
}

// canonicalCell is how an organisation column compares across the rows of
// one organisation: the same networks in another order, or AS64496 for
// 64496, are the same organisation.
func canonicalCell(name, v string) string {
	var items []string
	switch name {
	case FieldNetworks:
		for _, s := range splitList(v) {
			if p, err := ParseNetwork(s); err == nil {
				s = p.String()
			}
			items = append(items, s)
		}
	case FieldASNs:
		for _, s := range splitList(v) {
			if asn, err := ParseASN(s); err == nil {
				s = strconv.FormatUint(uint64(asn), 10)
			}
			items = append(items, s)
		}
	case FieldDomains:
		for _, s := range splitList(v) {
			if d, reason := normalizeDomain(s); reason.IsZero() {
				s = d
			}
			items = append(items, s)
		}
	case FieldHandle:
		return strings.ToLower(strings.TrimSpace(v))
	case FieldCountry:
		return strings.ToUpper(strings.TrimSpace(v))
	case FieldLanguage:
		if l := strings.ToLower(strings.TrimSpace(v)); l != "" {
			return l
		}
		return Languages[0]
	case FieldNotes:
		return normalizeText(v)
	default:
		return strings.TrimSpace(v)
	}
	slices.Sort(items)
	return strings.Join(slices.Compact(items), " ")
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "false", "no", "n", "0":
		return false, true
	case "true", "yes", "y", "1":
		return true, true
	}
	return false, false
}

func csvErrorLine(err error, fallback int) int {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Line
	}
	return fallback
}

func csvErrorReason(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// WriteCSV writes the CSV form of a constituency; see Write and FormatCSV.
func WriteCSV(w io.Writer, orgs []Organisation) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvColumns); err != nil {
		return fmt.Errorf("write constituency CSV: %w", err)
	}
	for _, o := range sortedForWriting(orgs) {
		row := []string{o.Handle, o.Name, o.Sector, o.Country, o.Language,
			strings.Join(networkStrings(o.Networks), " "), strings.Join(asnStrings(o.ASNs), " "),
			strings.Join(o.Domains, " "), o.Notes}
		if len(o.Contacts) == 0 {
			if err := cw.Write(append(row, "", "", "", "", "", "")); err != nil {
				return fmt.Errorf("write constituency CSV: %w", err)
			}
		}
		for _, c := range o.Contacts {
			if err := cw.Write(append(row[:len(organisationColumns):len(organisationColumns)],
				c.Name, c.Email, c.Phone, c.Role, strconv.FormatBool(c.Notify), c.PGPKey)); err != nil {
				return fmt.Errorf("write constituency CSV: %w", err)
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write constituency CSV: %w", err)
	}
	return nil
}
