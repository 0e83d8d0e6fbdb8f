package export

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"
)

// TableColumns are the columns of a table when none are chosen: what fits on
// a terminal line and tells events apart.
var TableColumns = []string{
	"time.source",
	"classification.type",
	"source.ip",
	"source.port",
	"source.asn",
	"source.fqdn",
	"feed.name",
	HashColumn,
}

// TableOptions shape a text table.
type TableOptions struct {
	// Columns are written in this order; nil means TableColumns.
	Columns []string
	// MaxWidth cuts longer cells, ending them with "…"; zero means 48.
	// The hash is never cut, so it can be pasted into other commands.
	MaxWidth int
}

// WriteTable writes events as columns aligned with spaces, for a terminal.
// Aligning needs every row's width, so the whole table is held until the
// end: use it for a page of results, CSV or JSON lines for a large export.
// Control characters in cells become "?": feed data must not be able to
// send escape sequences to an analyst's terminal.
//
// The layout is text/tabwriter's with a padding of two spaces, worked out
// here because the cells hold no tabs, line ends or escapes (printable
// sees to that) and every row has every column.
func WriteTable(w io.Writer, events Events, opts TableOptions) error {
	columns := opts.Columns
	if columns == nil {
		columns = TableColumns
	}
	width := opts.MaxWidth
	if width <= 0 {
		width = 48
	}
	if len(columns) == 0 {
		// A row of no cells is an empty line.
		return writeEmptyRows(w, events)
	}
	cells := make([]string, 0, 8*len(columns))
	for _, c := range columns {
		h := strings.ToUpper(c)
		if hasTabwriterSpecial(h) {
			return writeTabwriter(w, events, columns, width)
		}
		cells = append(cells, h)
	}
	reader := newColumnReader(columns)
	for e, err := range events {
		if err != nil {
			writeAligned(w, columns, cells)
			return err
		}
		fields, at := reader.fieldsOfEvent(e)
		for i, k := range at {
			if reader.hash[i] {
				cells = append(cells, printable(hashOf(e).String()))
				continue
			}
			cells = append(cells, truncate(printable(reader.cell(fields, i, k)), width))
		}
	}
	if err := writeAligned(w, columns, cells); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

// tabwriterSpecial are the bytes text/tabwriter does not treat as text.
const tabwriterSpecial = "\t\n\v\f\xff"

// hasTabwriterSpecial reports whether s holds one of the tabwriterSpecial
// bytes. It looks at bytes, not runes: strings.ContainsAny would read the
// lone 0xff as U+FFFD and match every invalid or replacement character.
func hasTabwriterSpecial(s string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(tabwriterSpecial, s[i]) >= 0 {
			return true
		}
	}
	return false
}

// tablePadding is the space between two columns.
const tablePadding = 2

// writeAligned writes the rows of cells (len(columns) cells each, the
// header first) with every column but the last padded to its widest
// cell plus tablePadding, widths counted in runes.
func writeAligned(w io.Writer, columns []string, cells []string) error {
	n := len(columns)
	widths := make([]int, n)
	runes := make([]int, len(cells))
	size := 0
	for i, c := range cells {
		runes[i] = utf8.RuneCountInString(c)
		widths[i%n] = max(widths[i%n], runes[i]+tablePadding)
		size += len(c)
	}
	for _, wd := range widths[:n-1] {
		size += wd * (len(cells) / n)
	}
	out := make([]byte, 0, size+len(cells)/n)
	for i, c := range cells {
		out = append(out, c...)
		if j := i % n; j < n-1 {
			for range widths[j] - runes[i] {
				out = append(out, ' ')
			}
		} else {
			out = append(out, '\n')
		}
	}
	_, err := w.Write(out)
	return err
}

// writeEmptyRows writes an empty line for the header and every event.
func writeEmptyRows(w io.Writer, events Events) error {
	out := []byte{'\n'}
	for _, err := range events {
		if err != nil {
			w.Write(out)
			return err
		}
		out = append(out, '\n')
	}
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

// writeTabwriter is WriteTable through text/tabwriter, for column names
// that hold bytes it treats specially.
func writeTabwriter(w io.Writer, events Events, columns []string, width int) error {
	tw := tabwriter.NewWriter(w, 0, 0, tablePadding, ' ', 0)
	var line strings.Builder
	writeRow := func(cells func(i int) string) error {
		line.Reset()
		for i := range columns {
			if i > 0 {
				line.WriteByte('\t')
			}
			line.WriteString(cells(i))
		}
		line.WriteByte('\n')
		_, err := io.WriteString(tw, line.String())
		return err
	}
	header := func(i int) string { return strings.ToUpper(columns[i]) }
	if err := writeRow(header); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	for e, err := range events {
		if err != nil {
			tw.Flush()
			return err
		}
		err := writeRow(func(i int) string {
			v := printable(cell(e, columns[i]))
			if columns[i] == HashColumn {
				return v
			}
			return truncate(v, width)
		})
		if err != nil {
			return fmt.Errorf("write table: %w", err)
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

// printable replaces control characters (tabs too, which would break the
// alignment), invisible format characters (a right-to-left override makes
// "exe.txt" read as "txt.exe") and invalid UTF-8 with "?"; an empty cell
// becomes "-".
func printable(s string) string {
	if s == "" {
		return "-"
	}
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' {
			// Not plain printable ASCII: look at the runes.
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	clean = true
	for _, r := range s {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unsafeRune(r) {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func truncate(s string, width int) string {
	if len(s) <= width || utf8.RuneCountInString(s) <= width {
		return s
	}
	n := 0
	for i := range s {
		if n == width-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

func unsafeRune(r rune) bool {
	return r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}
