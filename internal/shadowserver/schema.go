package shadowserver

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/vigil-cert/vigil/internal/event"
)

//go:embed schema.json
var embeddedSchema []byte

// Schema maps Shadowserver report types to harmonized events. Its JSON form
// is the one Shadowserver publishes for IntelMQ: one object per report type
// with feed_name, file_name, constant_fields, required_fields and
// optional_fields.
type Schema struct {
	reports map[string]*Report
	// byFileName is sorted by descending file_name length, so the first
	// match while detecting a report from a file name is the longest.
	byFileName []*Report
	skipped    map[string]error
	// skippedFiles maps the file_name of each left-out report to its type,
	// so that an input of that report says why it cannot be read.
	skippedFiles map[string]string
}

// Report is the mapping of one report type.
type Report struct {
	// Type is the schema's key for the report, such as "scan_rdp".
	Type string
	// FeedName is Shadowserver's name for it, such as "Accessible-RDP".
	FeedName string
	// FileName is the report's part of file names, such as "scan_rdp".
	FileName string
	// URL documents the report.
	URL string

	constants []event.Field // normalized, in key order
	required  []mapping
	optional  []mapping
	// columns are the columns the mappings name, required first, each
	// once: the columns of the report's JSON form.
	columns []string
}

// Columns returns the columns the report's mappings name, required first,
// each once.
func (r *Report) Columns() []string { return append([]string(nil), r.columns...) }

// mapping takes one column to one field through an optional converter.
type mapping struct {
	// field is a harmonized name, "extra." for extra.<column>, or "" when
	// the schema says to ignore the column.
	field  string
	column string
	conv   *converter
}

// jsonReport is a report as the schema file writes it.
type jsonReport struct {
	FeedName       string              `json:"feed_name"`
	FileName       string              `json:"file_name"`
	URL            string              `json:"url"`
	ConstantFields map[string]any      `json:"constant_fields"`
	RequiredFields [][]json.RawMessage `json:"required_fields"`
	OptionalFields [][]json.RawMessage `json:"optional_fields"`
}

// ErrNoReports is returned for a schema document without a usable report.
var ErrNoReports = errors.New("schema defines no usable report")

// DefaultSchema returns the schema built into Vigil.
func DefaultSchema() *Schema {
	s, err := ParseSchema(embeddedSchema)
	if err != nil {
		panic("shadowserver: embedded schema: " + err.Error())
	}
	if len(s.skipped) > 0 {
		panic(fmt.Sprintf("shadowserver: embedded schema: %v", s.Skipped()))
	}
	return s
}

// ParseSchema reads a schema document. A report whose mapping Vigil cannot
// use (an unknown converter, a constant that does not validate) is left out
// and listed by Skipped, so one odd entry in a downloaded schema does not
// take every other report down with it. Keys starting with "_" (the
// "_meta" object) are not reports.
func ParseSchema(data []byte) (*Schema, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("shadowserver schema: %w", err)
	}
	s := &Schema{reports: map[string]*Report{}, skipped: map[string]error{}, skippedFiles: map[string]string{}}
	for typ, raw := range doc {
		if strings.HasPrefix(typ, "_") {
			continue
		}
		r, err := parseReport(typ, raw)
		if err != nil {
			s.skipped[typ] = err
			var named struct {
				FileName string `json:"file_name"`
			}
			if json.Unmarshal(raw, &named) == nil && named.FileName != "" {
				s.skippedFiles[named.FileName] = typ
			}
			continue
		}
		s.reports[typ] = r
	}
	if len(s.reports) == 0 {
		if len(s.skipped) > 0 {
			return nil, fmt.Errorf("shadowserver schema: %w: %w", ErrNoReports, s.Skipped())
		}
		return nil, fmt.Errorf("shadowserver schema: %w", ErrNoReports)
	}
	s.index()
	return s, nil
}

func (s *Schema) index() {
	s.byFileName = s.byFileName[:0]
	for _, r := range s.reports {
		s.byFileName = append(s.byFileName, r)
	}
	sort.Slice(s.byFileName, func(i, j int) bool {
		a, b := s.byFileName[i], s.byFileName[j]
		if len(a.FileName) != len(b.FileName) {
			return len(a.FileName) > len(b.FileName)
		}
		return a.Type < b.Type
	})
}

func parseReport(typ string, raw json.RawMessage) (*Report, error) {
	var jr jsonReport
	if err := json.Unmarshal(raw, &jr); err != nil {
		return nil, fmt.Errorf("report %s: %w", typ, err)
	}
	if jr.FileName == "" {
		return nil, fmt.Errorf("report %s: no file_name", typ)
	}
	r := &Report{Type: typ, FeedName: jr.FeedName, FileName: jr.FileName, URL: jr.URL}
	if r.FeedName == "" {
		r.FeedName = typ
	}
	scratch := event.New(len(jr.ConstantFields))
	for key, v := range jr.ConstantFields {
		var text string
		switch v := v.(type) {
		case string:
			text = v
		case float64, bool:
			text = fmt.Sprint(v)
		default:
			return nil, fmt.Errorf("report %s: constant %s: want a string, got %T", typ, key, v)
		}
		if err := scratch.Set(key, text); err != nil {
			return nil, fmt.Errorf("report %s: constant: %w", typ, err)
		}
	}
	r.constants = append([]event.Field(nil), scratch.Fields()...)
	var err error
	if r.required, err = parseMappings(typ, "required_fields", jr.RequiredFields); err != nil {
		return nil, err
	}
	if r.optional, err = parseMappings(typ, "optional_fields", jr.OptionalFields); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, list := range [][]mapping{r.required, r.optional} {
		for _, m := range list {
			if !seen[m.column] {
				seen[m.column] = true
				r.columns = append(r.columns, m.column)
			}
		}
	}
	return r, nil
}

func parseMappings(typ, list string, entries [][]json.RawMessage) ([]mapping, error) {
	out := make([]mapping, 0, len(entries))
	for i, entry := range entries {
		where := fmt.Sprintf("report %s: %s[%d]", typ, list, i)
		if len(entry) < 2 {
			return nil, fmt.Errorf("%s: want [field, column, converter]", where)
		}
		var m mapping
		// The field is a name, or false/null for "ignore this column".
		var field any
		if err := json.Unmarshal(entry[0], &field); err != nil {
			return nil, fmt.Errorf("%s: field: %w", where, err)
		}
		switch f := field.(type) {
		case string:
			m.field = f
		case bool, nil:
			if f == true {
				return nil, fmt.Errorf("%s: field true is meaningless", where)
			}
		default:
			return nil, fmt.Errorf("%s: field: want a string, got %T", where, f)
		}
		if err := json.Unmarshal(entry[1], &m.column); err != nil || m.column == "" {
			return nil, fmt.Errorf("%s: column: want a name", where)
		}
		if len(entry) > 2 && string(entry[2]) != "null" {
			var name string
			if err := json.Unmarshal(entry[2], &name); err != nil {
				return nil, fmt.Errorf("%s: converter: want a name", where)
			}
			c, ok := converters[name]
			if !ok {
				field := m.field
				if field == "" {
					field = "(ignored)"
				}
				return nil, fmt.Errorf("%s: field %s, column %q: unknown converter %q", where, field, m.column, name)
			}
			m.conv = c
		}
		// A fourth element says the converter reads the whole row; Vigil's
		// converters know that about themselves.
		if m.field != "" && m.field != "extra." && !strings.HasPrefix(m.field, "extra.") {
			if _, ok := event.KindOf(m.field); !ok {
				// IntelMQ keeps values for fields it does not know under
				// extra, by the schema's name for them.
				m.field = "extra." + m.field
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// Skipped returns why reports of the document were left out, joined, or nil.
func (s *Schema) Skipped() error {
	if len(s.skipped) == 0 {
		return nil
	}
	types := make([]string, 0, len(s.skipped))
	for t := range s.skipped {
		types = append(types, t)
	}
	sort.Strings(types)
	errs := make([]error, 0, len(types))
	for _, t := range types {
		errs = append(errs, s.skipped[t])
	}
	return errors.Join(errs...)
}

// Merge returns a schema with the reports of both; those of newer replace
// those of s with the same type or the same file_name.
func (s *Schema) Merge(newer *Schema) *Schema {
	m := &Schema{reports: make(map[string]*Report, len(s.reports)+len(newer.reports)), skipped: map[string]error{},
		skippedFiles: map[string]string{}}
	for t, r := range s.reports {
		m.reports[t] = r
	}
	for t, r := range newer.reports {
		// A report of newer replaces the one of s for the same file name
		// too: Shadowserver's schema keys event reports "event_sinkhole"
		// where Vigil's built-in one says "event4_sinkhole", and two
		// entries for one file name would leave the older one in use.
		for old, o := range m.reports {
			if o.FileName == r.FileName && old != t {
				delete(m.reports, old)
			}
		}
		m.reports[t] = r
	}
	for t, err := range newer.skipped {
		m.skipped[t] = err
	}
	for f, t := range newer.skippedFiles {
		m.skippedFiles[f] = t
	}
	m.index()
	return m
}

// Types returns the report types, sorted.
func (s *Schema) Types() []string {
	types := make([]string, 0, len(s.reports))
	for t := range s.reports {
		types = append(types, t)
	}
	sort.Strings(types)
	return types
}

// Report returns a report by its type ("scan_rdp"), its file_name or its
// feed_name ("Accessible-RDP", in any case).
func (s *Schema) Report(name string) (*Report, bool) {
	if r, ok := s.reports[name]; ok {
		return r, true
	}
	for _, r := range s.byFileName {
		if r.FileName == name || strings.EqualFold(r.FeedName, name) {
			return r, true
		}
	}
	return nil, false
}

// Detect finds the report type in a file name such as
// "2026-11-20-scan_rdp-belgium-geo.csv": a schema file_name standing
// between dashes (or at the start, or before the extension). The longest
// matching file_name wins, so scan_ssl_poodle is not read as scan_ssl.
// name may be a path or URL; only its last element counts.
func (s *Schema) Detect(name string) (*Report, bool) {
	base := inputFileName(name)
	for _, r := range s.byFileName {
		if containsToken(base, r.FileName) {
			return r, true
		}
	}
	return nil, false
}

// inputFileName is the last element of an input's name (a path or URL),
// without a URL's query string or fragment: "2026-11-20-scan_rdp-be.csv".
func inputFileName(name string) string {
	if i := strings.IndexAny(name, "?#"); i >= 0 && strings.Contains(name, "://") {
		name = name[:i]
	}
	base := path.Base(strings.ReplaceAll(name, "\\", "/"))
	if base == "." || base == "/" {
		return ""
	}
	return base
}

// leftOut returns why the report type of the file called name was left out
// of the schema (an unknown converter in a downloaded schema, say), when a
// left-out report's file_name is in the name.
func (s *Schema) leftOut(name string) (error, bool) {
	base := path.Base(strings.ReplaceAll(name, "\\", "/"))
	best := ""
	for f := range s.skippedFiles {
		if len(f) > len(best) && containsToken(base, f) {
			best = f
		}
	}
	if best == "" {
		return nil, false
	}
	return s.skipped[s.skippedFiles[best]], true
}

// containsToken reports whether tok occurs in name bounded by the start or
// a dash before it and by the end, a dash or a dot after it.
func containsToken(name, tok string) bool {
	for from := 0; from+len(tok) <= len(name); {
		i := strings.Index(name[from:], tok)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(tok)
		before := i == 0 || name[i-1] == '-'
		after := end == len(name) || name[end] == '-' || name[end] == '.'
		if before && after {
			return true
		}
		from = i + 1
	}
	return false
}
