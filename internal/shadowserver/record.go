package shadowserver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxRecord bounds one CSV record (a row with quoted line breaks spans
// several lines). Shadowserver's longest cells are PEM certificate chains,
// well below this; anything longer is a broken quote eating the file.
const maxRecord = 4 << 20

// errRecordTooLong is returned for a record over maxRecord bytes.
var errRecordTooLong = errors.New("record longer than 4 MiB (unterminated quoted field?)")

// recordReader yields CSV records one at a time without holding more than
// one record in memory. A record is usually one line; a quoted cell may
// contain line breaks, and then the record spans several lines.
type recordReader struct {
	r    *bufio.Reader
	buf  []byte // the current record when it did not fit one ReadSlice
	line int    // physical line number where the next record starts
}

func newRecordReader(r io.Reader) *recordReader {
	return &recordReader{r: bufio.NewReaderSize(r, 64<<10), line: 1}
}

// next returns the next record without its line terminator, and the
// physical line it starts on. The slice is valid until the next call.
// At the end of input it returns io.EOF. A record over maxRecord is
// returned truncated together with errRecordTooLong; reading can go on.
func (rr *recordReader) next() (rec []byte, line int, err error) {
	line = rr.line
	rr.buf = rr.buf[:0]
	st := cellStart
	// buffered is set once the record no longer fits the reader's own
	// buffer in one piece and is being gathered in rr.buf.
	buffered := false
	for {
		chunk, err := rr.r.ReadSlice('\n')
		st = scanQuotes(chunk, st)
		switch {
		case err == nil && st == inQuoted:
			// A quoted cell continues on the next line.
			if len(rr.buf)+len(chunk) > maxRecord {
				return rr.overflow(chunk, line)
			}
			rr.line++
			rr.buf = append(rr.buf, chunk...)
			buffered = true
		case err == nil:
			rr.line++
			if !buffered {
				return trimEOL(chunk), line, nil
			}
			rr.buf = append(rr.buf, chunk...)
			return trimEOL(rr.buf), line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			if len(rr.buf)+len(chunk) > maxRecord {
				return rr.overflow(chunk, line)
			}
			rr.buf = append(rr.buf, chunk...)
			buffered = true
		case errors.Is(err, io.EOF):
			if !buffered {
				if len(chunk) == 0 {
					return nil, line, io.EOF
				}
				rr.line++
				return trimEOL(chunk), line, nil
			}
			rr.line++
			rr.buf = append(rr.buf, chunk...)
			return trimEOL(rr.buf), line, nil
		default:
			return nil, line, fmt.Errorf("read line %d: %w", rr.line, err)
		}
	}
}

// overflow gives up on an over-long record: it returns the part read so far
// and resynchronises at the next line break outside the record.
func (rr *recordReader) overflow(chunk []byte, line int) ([]byte, int, error) {
	keep := maxRecord - len(rr.buf)
	if keep > len(chunk) {
		keep = len(chunk)
	}
	rr.buf = append(rr.buf, chunk[:keep]...)
	// Skip to the end of the current physical line so the following record
	// starts cleanly; its quote state is unknown, so we assume none.
	for len(chunk) == 0 || chunk[len(chunk)-1] != '\n' {
		var err error
		chunk, err = rr.r.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			break
		}
	}
	rr.line++
	return rr.buf, line, errRecordTooLong
}

// quoteState is where a CSV scanner stands after some text of a record.
type quoteState uint8

const (
	cellStart quoteState = iota // at the start of a cell
	inPlain                     // inside a cell that did not start with a quote
	inQuoted                    // inside a quoted cell
	quoteSeen                   // a quote inside a quoted cell: its end or the first of a pair
)

// scanQuotes advances the state over b. Only a quote at the start of a
// cell opens a quoted cell, exactly as splitRecord reads it, so a stray
// quote in a plain cell (a 5" monitor) does not swallow the next line.
func scanQuotes(b []byte, st quoteState) quoteState {
	if st != inQuoted && st != quoteSeen && bytes.IndexByte(b, '"') < 0 {
		// The common case: no quotes at all.
		if len(b) == 0 {
			return st
		}
		if last := b[len(b)-1]; last == '\n' || last == ',' {
			return cellStart
		}
		return inPlain
	}
	for _, c := range b {
		switch st {
		case cellStart:
			switch c {
			case '"':
				st = inQuoted
			case ',', '\n':
			default:
				st = inPlain
			}
		case inPlain:
			if c == ',' || c == '\n' {
				st = cellStart
			}
		case inQuoted:
			if c == '"' {
				st = quoteSeen
			}
		case quoteSeen:
			switch c {
			case '"':
				st = inQuoted
			case ',', '\n':
				st = cellStart
			default:
				st = inPlain // broken quoting; splitRecord rejects the row
			}
		}
	}
	return st
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// errBadQuote is the reason for a cell whose quotes are not closed properly.
var errBadQuote = errors.New("malformed quoted cell")

// splitRecord splits a record into cells, appending them to cells. rec is
// the record as a string so that plain cells are substrings of it, which
// keeps a row to one allocation; only cells with doubled quotes are copied.
// It returns the index of a cell with broken quoting and errBadQuote.
func splitRecord(cells []string, rec string) ([]string, int, error) {
	for i := 0; ; {
		if i < len(rec) && rec[i] == '"' {
			// Quoted cell: runs to a quote not followed by another quote.
			start := i + 1
			j := start
			escaped := false
			for {
				k := indexQuote(rec, j)
				if k < 0 {
					return cells, len(cells), errBadQuote
				}
				if k+1 < len(rec) && rec[k+1] == '"' {
					escaped = true
					j = k + 2
					continue
				}
				cell := rec[start:k]
				if escaped {
					cell = unescapeQuotes(cell)
				}
				cells = append(cells, cell)
				i = k + 1
				break
			}
			if i == len(rec) {
				return cells, 0, nil
			}
			if rec[i] != ',' {
				return cells, len(cells) - 1, errBadQuote
			}
			i++
			continue
		}
		// Plain cell. A stray quote inside it is kept as text, as lenient
		// CSV readers do; Shadowserver quotes every cell that needs it.
		k := indexComma(rec, i)
		if k < 0 {
			cells = append(cells, rec[i:])
			return cells, 0, nil
		}
		cells = append(cells, rec[i:k])
		i = k + 1
	}
}

func indexQuote(s string, from int) int { return indexFrom(s, from, '"') }

func indexComma(s string, from int) int { return indexFrom(s, from, ',') }

func indexFrom(s string, from int, c byte) int {
	if i := strings.IndexByte(s[from:], c); i >= 0 {
		return from + i
	}
	return -1
}

func unescapeQuotes(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		b = append(b, s[i])
		if s[i] == '"' && i+1 < len(s) && s[i+1] == '"' {
			i++
		}
	}
	return string(b)
}
