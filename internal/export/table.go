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
func WriteTable(w io.Writer, events Events, opts TableOptions) error {
	columns := opts.Columns
	if columns == nil {
		columns = TableColumns
	}
	width := opts.MaxWidth
	if width <= 0 {
		width = 48
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
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
	if utf8.RuneCountInString(s) <= width {
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
