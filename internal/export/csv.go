package export

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
)

// CSVOptions choose the columns of a CSV export.
type CSVOptions struct {
	// Columns are written in this order; nil means DefaultColumns.
	Columns []string
	// AllFields writes a column for every field present in the result
	// instead (see FieldsPresent). The header must come first, so events is
	// iterated twice: once for the field names, once for the rows. A Search
	// sequence runs its query twice; an event stored between the two runs
	// may have fields that get no column.
	AllFields bool
}

// WriteCSV writes a header line and one row per event. Cells that a
// spreadsheet would run as a formula are defused (see defuse).
func WriteCSV(w io.Writer, events Events, opts CSVOptions) error {
	columns := opts.Columns
	if opts.AllFields {
		var err error
		if columns, err = FieldsPresent(events); err != nil {
			return fmt.Errorf("collect fields: %w", err)
		}
	}
	if columns == nil {
		columns = DefaultColumns
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(columns); err != nil {
		return fmt.Errorf("write CSV header: %w", err)
	}
	row := make([]string, len(columns))
	for e, err := range events {
		if err != nil {
			cw.Flush()
			return err
		}
		for i, c := range columns {
			row[i] = defuse(cell(e, c))
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write CSV row: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	return nil
}

// defuse protects against CSV injection: spreadsheets run a cell starting
// with = + - @ (or a tab or carriage return, or any of these after leading
// spaces) as a formula, and feed data is written by attackers. Such a cell
// gets a leading apostrophe, which spreadsheets show as text. Plain numbers
// (a negative longitude) are left alone: they are no formula and an
// apostrophe would turn them into text.
func defuse(s string) string {
	t := strings.TrimLeft(s, " ")
	if t == "" {
		return s
	}
	switch t[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if isPlainNumber(s) {
			return s
		}
		return "'" + s
	}
	return s
}

// isPlainNumber reports whether s is an optional sign, digits and an
// optional decimal part, nothing else.
func isPlainNumber(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot && digits > 0:
			dot = true
		default:
			return false
		}
	}
	return digits > 0 && s[len(s)-1] != '.'
}
