package export

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
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
//
// The output is what encoding/csv writes (comma, LF line ends), built in a
// buffer without a string per cell: a notification run writes millions of
// cells.
func WriteCSV(w io.Writer, events Events, opts CSVOptions) error {
	buf := make([]byte, 0, csvFlushBytes+csvFlushBytes/4)
	flush := func(b []byte) ([]byte, error) {
		if len(b) < csvFlushBytes {
			return b, nil
		}
		if _, err := w.Write(b); err != nil {
			return b, fmt.Errorf("write CSV row: %w", err)
		}
		return b[:0], nil
	}
	buf, err := appendCSV(buf, events, opts, flush)
	if err != nil {
		var written csvWriteError
		if !errors.As(err, &written) && len(buf) > 0 {
			// What came before the error is written, as documented
			// for Events; the sequence's error is the one to report.
			w.Write(buf)
		}
		return err
	}
	if len(buf) > 0 {
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("write CSV: %w", err)
		}
	}
	return nil
}

// AppendCSV appends to dst what WriteCSV writes, for a caller that keeps
// the file in memory anyway (an attachment). On an error of events, what
// came before it is appended.
func AppendCSV(dst []byte, events Events, opts CSVOptions) ([]byte, error) {
	return appendCSV(dst, events, opts, nil)
}

// csvWriteError is an error of the writer WriteCSV writes to.
type csvWriteError struct{ error }

func (e csvWriteError) Unwrap() error { return e.error }

// appendCSV appends the header and the rows, passing the buffer to flush
// (when not nil) after every row.
func appendCSV(buf []byte, events Events, opts CSVOptions, flush func([]byte) ([]byte, error)) ([]byte, error) {
	columns := opts.Columns
	if opts.AllFields {
		var err error
		if columns, err = FieldsPresent(events); err != nil {
			return buf, fmt.Errorf("collect fields: %w", err)
		}
	}
	if columns == nil {
		columns = DefaultColumns
	}
	for i, c := range columns {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendCSVField(buf, c, false)
	}
	buf = append(buf, '\n')
	reader := newColumnReader(columns)
	for e, err := range events {
		if err != nil {
			return buf, err
		}
		fields, at := reader.fieldsOfEvent(e)
		for i, k := range at {
			if i > 0 {
				buf = append(buf, ',')
			}
			if reader.hash[i] {
				h := hashOf(e)
				buf = hex.AppendEncode(buf, h[:])
				continue
			}
			buf = appendCell(buf, reader.cell(fields, i, k))
		}
		buf = append(buf, '\n')
		if flush != nil {
			var err error
			if buf, err = flush(buf); err != nil {
				return buf, csvWriteError{err}
			}
		}
	}
	return buf, nil
}

// csvFlushBytes is how much WriteCSV collects before it writes.
const csvFlushBytes = 32 << 10

// appendCSVField appends field as encoding/csv's Writer writes it with a
// comma and LF line ends, after an apostrophe when defused: quoted, with
// quotes doubled, when it holds a comma, a quote or a line end, starts
// with white space or is `\.`.
func appendCSVField(dst []byte, field string, apostrophe bool) []byte {
	quote := false
	for i := 0; i < len(field); i++ {
		if c := field[i]; c == ',' || c == '"' || c == '\n' || c == '\r' {
			quote = true
			break
		}
	}
	if !quote && !apostrophe && field != "" {
		if field == `\.` {
			quote = true
		} else if c := field[0]; c < utf8.RuneSelf {
			quote = asciiSpace[c]
		} else {
			r, _ := utf8.DecodeRuneInString(field)
			quote = unicode.IsSpace(r)
		}
	}
	if !quote {
		if apostrophe {
			dst = append(dst, '\'')
		}
		return append(dst, field...)
	}
	dst = append(dst, '"')
	if apostrophe {
		dst = append(dst, '\'')
	}
	for {
		i := strings.IndexByte(field, '"')
		if i < 0 {
			break
		}
		dst = append(dst, field[:i+1]...)
		dst = append(dst, '"')
		field = field[i+1:]
	}
	dst = append(dst, field...)
	return append(dst, '"')
}

// appendCell appends the defused cell v. Most cells start with a letter
// or digit and hold no comma, quote or line end: they are appended as
// they are after one look at each byte.
func appendCell(dst []byte, v string) []byte {
	if v == "" {
		return dst
	}
	if !plainStart[v[0]] {
		return appendCSVField(dst, v, needsDefusing(v))
	}
	for i := 1; i < len(v); i++ {
		if csvSpecial[v[i]] {
			return appendCSVField(dst, v, false)
		}
	}
	return append(dst, v...)
}

// plainStart are the first bytes of a cell that is neither defused nor
// quoted for its start (white space, or `\.`); csvSpecial the bytes that
// make a cell quoted anywhere.
var plainStart, csvSpecial = func() (start, special [256]bool) {
	for c := '!'; c <= '~'; c++ {
		start[c] = true
	}
	for _, c := range "=+-@\\,\"" {
		start[c] = false
	}
	for _, c := range ",\"\r\n" {
		special[c] = true
	}
	return
}()

// asciiSpace are the ASCII bytes unicode.IsSpace is true of.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// defuse protects against CSV injection: spreadsheets run a cell starting
// with = + - @ (or a tab or carriage return, or any of these after leading
// spaces) as a formula, and feed data is written by attackers. Such a cell
// gets a leading apostrophe, which spreadsheets show as text. Plain numbers
// (a negative longitude) are left alone: they are no formula and an
// apostrophe would turn them into text.
func defuse(s string) string {
	if needsDefusing(s) {
		return "'" + s
	}
	return s
}

// Defuse is defuse for the other CSV exports (the incident and report
// lists), which write their cells with encoding/csv.
func Defuse(s string) string { return defuse(s) }

// needsDefusing reports whether defuse puts an apostrophe before s.
func needsDefusing(s string) bool {
	i := 0
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if i == len(s) {
		return false
	}
	switch s[i] {
	case '=', '+', '-', '@', '\t', '\r':
		return !isPlainNumber(s)
	}
	return false
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
