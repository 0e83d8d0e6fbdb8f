package shadowserver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// A quoted cell may hold line breaks (Shadowserver quotes every cell that
// needs it), so one record can span several lines. But a quote opened by
// damage (a truncated line, a stray quote at the start of a cell) looks the
// same as a legitimate line break inside a cell, and read strictly it would
// join every following row into one broken record. The reader therefore
// lets a quoted cell continue onto the next line only while all of these
// hold:
//
//   - the next line does not read, on its own, as a complete row of the
//     header's width: a damaged line is followed by good rows, and a good
//     row is what ends the damage;
//   - the record stays within maxRecordLines lines and maxRecord bytes:
//     the longest multi-line cells in practice are PEM certificate chains
//     (a few dozen lines of 64 characters);
//   - the input does not end first.
//
// When one of them fails, the record is cut back to the line where the
// quote opened: that line alone is returned with errUnclosedQuote (it goes
// to the dead letters with the reason), and the lines after it are read
// again as records of their own, so one bad line never hides good ones.
// The price is that a multi-line cell whose continuation line happens to
// be a complete row of the header's width is read as two records; no real
// report has been seen to contain one.
const (
	// maxRecord bounds one record in bytes, and one physical line.
	maxRecord = 1 << 20
	// maxRecordLines bounds the lines of one record.
	maxRecordLines = 128
	// rejectPrefix is how much of an over-long line goes to the dead
	// letters: enough to recognise it, without storing megabytes of junk.
	rejectPrefix = 4096
	// readBuffer is the size of the input's read buffer.
	readBuffer = 64 << 10
)

// errUnclosedQuote is wrapped by the error for a record whose quoted cell
// is not closed on its line and may not continue past it.
var errUnclosedQuote error = i18n.NewError("shadowserver.reason.unclosed")

// lineTooLongError is the reason for a line over the length limit; the
// dead letter keeps only the line's first bytes.
type lineTooLongError struct {
	Length int64 // the whole line's length in bytes, without its line break
	Limit  int
	Kept   int
}

func (e *lineTooLongError) Error() string { return e.Explain().String() }

func (e *lineTooLongError) Explain() i18n.Message {
	return i18n.M("shadowserver.reason.toolong", e.Length, e.Limit, e.Kept)
}

// physicalLine is one line of input with its line break.
type physicalLine struct {
	text   []byte
	number int
	// length is the whole line's length when it was over maxRecord and
	// text holds only its first rejectPrefix bytes; 0 otherwise.
	length int64
}

// recordReader yields CSV records one at a time without holding more than
// one record (and the lines it gave back) in memory.
type recordReader struct {
	r    *bufio.Reader
	line int // number of the last physical line read from r
	// again holds lines read ahead while a quoted cell was open and given
	// back when the record was cut back; they are read before r.
	again   []physicalLine
	buf     []byte // the current record when it spans lines
	lineBuf []byte // the current line when it is longer than r's buffer
	// width is the header's number of cells, once known; a line that
	// splits into that many cells ends an open quoted cell.
	width   int
	scratch []string
}

func newRecordReader(r io.Reader) *recordReader {
	return &recordReader{r: bufio.NewReaderSize(r, readBuffer)}
}

// readLine returns the next physical line with its line break. The text of
// a line read from r is valid until the next call; an over-long line is
// consumed whole and returned as its first rejectPrefix bytes.
func (rr *recordReader) readLine() (physicalLine, error) {
	if len(rr.again) > 0 {
		l := rr.again[0]
		rr.again = rr.again[1:]
		return l, nil
	}
	chunk, err := rr.r.ReadSlice('\n')
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		if len(chunk) == 0 {
			return physicalLine{}, io.EOF
		}
	case errors.Is(err, bufio.ErrBufferFull):
		// Longer than the reader's buffer: gather it, keeping at most
		// maxRecord bytes and counting the rest.
		rr.lineBuf = append(rr.lineBuf[:0], chunk...)
		length := int64(len(chunk))
		for errors.Is(err, bufio.ErrBufferFull) {
			chunk, err = rr.r.ReadSlice('\n')
			length += int64(len(chunk))
			if len(rr.lineBuf)+len(chunk) <= maxRecord+2 { // +2: room for "\r\n"
				rr.lineBuf = append(rr.lineBuf, chunk...)
			}
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return physicalLine{}, fmt.Errorf("read line %d: %w", rr.line+1, err)
		}
		rr.line++
		length -= int64(len(chunk) - len(trimEOL(chunk)))
		if length > maxRecord {
			return physicalLine{text: rr.lineBuf[:rejectPrefix], number: rr.line, length: length}, nil
		}
		return physicalLine{text: rr.lineBuf, number: rr.line}, nil
	default:
		return physicalLine{}, fmt.Errorf("read line %d: %w", rr.line+1, err)
	}
	rr.line++
	return physicalLine{text: chunk, number: rr.line}, nil
}

// next returns the next record without its line terminator, and the
// physical line it starts on. The slice is valid until the next call. At
// the end of input it returns io.EOF. A record whose quoted cell cannot
// continue comes with an error wrapping errUnclosedQuote, an over-long line
// with a *lineTooLongError; reading can go on after both.
func (rr *recordReader) next() (rec []byte, line int, err error) {
	first, err := rr.readLine()
	if err != nil {
		return nil, 0, err
	}
	if first.length > 0 {
		return first.text, first.number, &lineTooLongError{Length: first.length, Limit: maxRecord, Kept: len(first.text)}
	}
	st := scanQuotes(first.text, cellStart)
	if st != inQuoted {
		return trimEOL(first.text), first.number, nil
	}
	// A quoted cell continues on the next line, unless that line shows
	// the quote was damage. The lines are copied: they may be given back.
	start := append([]byte(nil), first.text...)
	rr.buf = append(rr.buf[:0], first.text...)
	var held []physicalLine
	cut := func(why i18n.Message, l *physicalLine) ([]byte, int, error) {
		if l != nil {
			held = append(held, physicalLine{text: bytes.Clone(l.text), number: l.number, length: l.length})
		}
		rr.again = append(held, rr.again...)
		return trimEOL(start), first.number, &i18n.Error{Message: i18n.M("shadowserver.reason.unclosed.why", why), Err: errUnclosedQuote}
	}
	for {
		l, err := rr.readLine()
		if errors.Is(err, io.EOF) {
			return cut(i18n.M("shadowserver.reason.unclosed.end"), nil)
		}
		if err != nil {
			return nil, first.number, err
		}
		switch {
		case l.length > 0:
			return cut(i18n.M("shadowserver.reason.unclosed.long", l.number), &l)
		case len(rr.buf)+len(l.text) > maxRecord:
			return cut(i18n.M("shadowserver.reason.unclosed.bytes", maxRecord), &l)
		case len(held)+2 > maxRecordLines:
			return cut(i18n.M("shadowserver.reason.unclosed.lines", maxRecordLines), &l)
		case rr.isRow(l.text):
			return cut(i18n.M("shadowserver.reason.unclosed.row", l.number), &l)
		}
		held = append(held, physicalLine{text: bytes.Clone(l.text), number: l.number})
		rr.buf = append(rr.buf, l.text...)
		if st = scanQuotes(l.text, st); st != inQuoted {
			return trimEOL(rr.buf), first.number, nil
		}
	}
}

// isRow reports whether line, read on its own, is a complete record of the
// header's width.
func (rr *recordReader) isRow(line []byte) bool {
	if rr.width == 0 {
		return false
	}
	if scanQuotes(line, cellStart) == inQuoted {
		return false
	}
	var err error
	rr.scratch, _, err = splitRecord(rr.scratch[:0], string(trimEOL(line)))
	return err == nil && len(rr.scratch) == rr.width
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
// It goes from quote to quote (bytes.IndexByte), not byte by byte: a
// fifth of a Shadowserver report's rows have a quoted cell ("Communications,
// Service Provider, and Hosting"), and walking each of their bytes was
// 0.2 s of CPU a million rows (docs/PERFORMANCE.md, issue 14, twentieth
// session). A quote opens a cell when it follows a comma or a line break,
// or starts b in a cell's start; between quotes, only b's last byte
// tells whether a cell starts after it.
func scanQuotes(b []byte, st quoteState) quoteState {
	for i := 0; ; {
		switch st {
		case inQuoted:
			k := bytes.IndexByte(b[i:], '"')
			if k < 0 {
				return inQuoted
			}
			i += k + 1
			st = quoteSeen
		case quoteSeen:
			if i == len(b) {
				return quoteSeen
			}
			switch b[i] {
			case '"':
				st = inQuoted
			case ',', '\n':
				st = cellStart
			default:
				st = inPlain // broken quoting; splitRecord rejects the row
			}
			i++
		default: // cellStart, inPlain
			k := bytes.IndexByte(b[i:], '"')
			if k < 0 {
				if i == len(b) {
					return st
				}
				if last := b[len(b)-1]; last == '\n' || last == ',' {
					return cellStart
				}
				return inPlain
			}
			j := i + k
			if j == i && st == cellStart || j > i && (b[j-1] == ',' || b[j-1] == '\n') {
				st = inQuoted
			} else {
				st = inPlain
			}
			i = j + 1
		}
	}
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
var errBadQuote error = i18n.NewError("shadowserver.reason.badquote")

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
