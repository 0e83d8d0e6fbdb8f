package console

import (
	"bytes"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/vigil-cert/vigil/internal/store"
)

// The event page shows the fields in groups a person reads one at a time
// (what it is, where it came from, where it went, what malware, which
// feed, what else the feed said, when), each value written one way and
// linked to its own search when it names something searchable.

// eventSection is one group of an event's fields under a heading.
type eventSection struct {
	ID     string
	Label  string
	Fields []eventField
}

// eventField is one field and its value(s).
type eventField struct {
	Key    string
	Values []linkedValue
}

// detailSections are the groups, in the order shown, by field prefix; a
// field of no group goes to the last, "misc".
var detailSections = []struct{ id, prefix string }{
	{"classification", "classification."},
	{"source", "source."},
	{"destination", "destination."},
	{"malware", "malware."},
	{"feed", "feed."},
	{"extra", "extra."},
	{"time", "time."},
	{"misc", ""},
}

// detailHidden are fields the page shows elsewhere or not at all: the
// source line has its own section, and event_hash is the event's hash,
// shown once in lower case at the top.
var detailHidden = map[string]bool{"raw": true, "event_hash": true}

// eventSections groups an event's fields for its page; l links values.
func eventSections(se store.StoredEvent, l tableLinks) []eventSection {
	sections := make([]eventSection, len(detailSections))
	for i, s := range detailSections {
		sections[i] = eventSection{ID: s.id, Label: "event.section." + s.id}
	}
	// Raw is shown in a section of its own (detailPage.rawLine), from
	// its bytes: Fields would encode it in base64 only to be left out.
	for _, f := range se.Event.FieldsExceptRaw() {
		if detailHidden[f.Key] {
			continue
		}
		i := len(detailSections) - 1
		for j, s := range detailSections[:i] {
			if strings.HasPrefix(f.Key, s.prefix) {
				i = j
				break
			}
		}
		sections[i].Fields = append(sections[i].Fields, eventField{Key: f.Key, Values: l.linkedValues(f.Key, displayValue(f.Key, f.Value))})
	}
	out := sections[:0]
	for _, s := range sections {
		if len(s.Fields) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// displayValue writes a value the way every other value is written:
// extra.* fields hold JSON (IntelMQ's rule), so a string loses its
// quotes, a list of plain values is written comma-separated and anything
// else as compact JSON. extra.constituency stays a list, which the links
// split into organisations.
func displayValue(key, value string) string {
	if !strings.HasPrefix(key, "extra.") || key == store.ConstituencyField {
		return value
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(value))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return value
	}
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case []any:
		parts := make([]string, 0, len(v))
		for _, x := range v {
			switch x := x.(type) {
			case string:
				parts = append(parts, x)
			case json.Number:
				parts = append(parts, x.String())
			default:
				return compactJSON(value)
			}
		}
		return strings.Join(parts, ", ")
	}
	return compactJSON(value)
}

func compactJSON(value string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(value)); err != nil {
		return value
	}
	return b.String()
}

// rawLine fills in the page's source line: a CSV row under its header
// as a table of column names and values beside the text as it came, other
// text as it is, anything else as a dump.
func (p *detailPage) rawLine(raw []byte) {
	if raw == nil {
		return
	}
	p.HasRaw = true
	if !isText(raw) {
		p.RawHex = hex.Dump(raw)
		return
	}
	p.Raw = string(raw)
	p.RawColumns = headedRow(p.Raw)
}

// rawColumn is one value of a CSV row and the name its header gives it.
type rawColumn struct{ Name, Value string }

// rawDelimiters are the delimiters a headed row is tried with, in order:
// Shadowserver's reports and most feeds use commas; the generic CSV
// parser reads the others too.
var rawDelimiters = []rune{',', ';', '\t', '|'}

// headedRow reads raw as the CSV parsers keep a row: the file's header, a
// newline, the row (whose quoted values may span lines). It returns nil
// for anything else (one line, more records, a header of one column, a
// row whose cells do not match the header's, bad quoting), which the page
// shows as plain text.
func headedRow(raw string) []rawColumn {
	if !strings.Contains(raw, "\n") {
		return nil
	}
	for _, delim := range rawDelimiters {
		r := csv.NewReader(strings.NewReader(raw))
		r.Comma = delim
		header, err := r.Read()
		if err != nil || len(header) < 2 {
			continue
		}
		// The first record fixes the number of cells: a row with
		// another number is an error.
		row, err := r.Read()
		if err != nil {
			continue
		}
		if _, err := r.Read(); !errors.Is(err, io.EOF) {
			continue
		}
		cols := make([]rawColumn, len(header))
		for i, name := range header {
			cols[i] = rawColumn{Name: name, Value: row[i]}
		}
		return cols
	}
	return nil
}
