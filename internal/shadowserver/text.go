package shadowserver

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// checkText refuses a row whose cells are not storable text (invalid
// UTF-8, NUL, a UTF-16 surrogate), naming the first bad cell's column and
// field and the byte offset in the cell. Under invalid_utf8: replace the
// bad bytes of each cell are read as U+FFFD and counted instead. Nearly
// every record is clean and costs two fast scans of rec. A JSON row with
// escaped strings (unescaped set) has cells that are not text of rec, and
// they are checked one by one.
func (p *plan) checkText(cells []string, rec []byte, line int) error {
	if !p.unescaped && utf8.Valid(rec) && bytes.IndexByte(rec, 0) < 0 {
		return nil
	}
	repaired := false
	for i, c := range cells {
		if p.text.ReplaceInvalidUTF8 && !utf8.ValidString(c) {
			b, n := event.ReplaceInvalidUTF8([]byte(c))
			cells[i] = string(b)
			p.replacedBytes += n
			repaired = true
		}
		if problem := event.TextProblem(cells[i]); problem != "" {
			return &RowError{Line: line, Column: p.header[i], Field: p.fieldOf(i), Err: errors.New(problem)}
		}
	}
	if repaired {
		p.replacedRows++
	}
	return nil
}

// checkHeader refuses column names that are not storable text, since a
// column no mapping names becomes the field extra.<column>; under
// invalid_utf8: replace their bad bytes are read as U+FFFD. The header is
// not counted: its row is no observation.
func (p *Parser) checkHeader(header []string) ([]string, error) {
	for i, name := range header {
		if p.text.ReplaceInvalidUTF8 && !utf8.ValidString(name) {
			b, _ := event.ReplaceInvalidUTF8([]byte(name))
			header[i] = string(b)
		}
		if problem := event.TextProblem(header[i]); problem != "" {
			return nil, fmt.Errorf("column %d: %s", i+1, problem)
		}
	}
	return header, nil
}

// fieldOf names the field column col goes to: the first mapping's, or
// extra.<column> for a column no mapping names.
func (p *plan) fieldOf(col int) string {
	for _, s := range p.steps {
		if s.col == col && s.key != "" {
			return s.key
		}
	}
	if p.header[col] == "" {
		return ""
	}
	return "extra." + p.header[col]
}

// reportReplaced logs and counts what one input had replaced, if anything,
// so that a feed read with invalid_utf8: replace stays visible.
func (p *Parser) reportReplaced(sink pipeline.Sink, in pipeline.Input, pl *plan) {
	if pl.replacedBytes == 0 {
		return
	}
	logger := p.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger.Warn("input had invalid UTF-8, read as U+FFFD (invalid_utf8: replace)",
		"feed", in.Feed, "input", in.Name, "lines", pl.replacedRows, "bytes", pl.replacedBytes)
	pipeline.CountInvalidUTF8(sink, pl.replacedBytes)
}
