package shadowserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// Shadowserver's Reports API delivers the same reports as JSON: one object
// per row with the CSV's column names as keys, either as one JSON array or
// as JSON lines (one object per line). A row's values become cells as the
// CSV would hold them: strings as they are, numbers as their literal text,
// true and false as words, null (or a missing key) as an empty cell, and a
// nested object or array as its compact JSON text. The columns of a JSON
// report are those the schema names for the report type; a key the schema
// does not name becomes a column of its own, extra.<key>, as an unmapped
// CSV column does. The event's raw is the object's text.

// format is how an input is written.
type format uint8

const (
	formatAuto format = iota // by the file name, else by the first byte
	formatCSV
	formatJSON
)

func parseFormat(s string) (format, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return formatAuto, nil
	case "csv":
		return formatCSV, nil
	case "json", "jsonl", "ndjson":
		return formatJSON, nil
	}
	return formatAuto, pipeline.OptionProblem("pipeline.option.choice", "format", "csv, json, auto", s)
}

// IsJSONName reports whether a file name says JSON: .json, .jsonl or
// .ndjson, also before a .gz the collector may have stripped or not.
func IsJSONName(name string) bool {
	base := strings.TrimSuffix(strings.ToLower(inputFileName(name)), ".gz")
	switch path.Ext(base) {
	case ".json", ".jsonl", ".ndjson":
		return true
	}
	return false
}

// formatOf tells how an input is written: the parser's format option, else
// the file name's extension, else the first byte that is not white space
// ("[" or "{" is JSON).
func (p *Parser) formatOf(name string, br *bufio.Reader) format {
	if p.format != formatAuto {
		return p.format
	}
	if IsJSONName(name) {
		return formatJSON
	}
	if strings.HasSuffix(strings.TrimSuffix(strings.ToLower(inputFileName(name)), ".gz"), ".csv") {
		return formatCSV
	}
	head, _ := br.Peek(512)
	head = bytes.TrimPrefix(head, utf8BOM)
	head = bytes.TrimLeft(head, jsonSpace)
	if len(head) > 0 && (head[0] == '[' || head[0] == '{') {
		return formatJSON
	}
	return formatCSV
}

// jsonSpace is JSON's white space.
const jsonSpace = " \t\r\n"

// maxExtraKeys bounds the keys a JSON report may add to the schema's
// columns: each new key recompiles the report's plan.
const maxExtraKeys = 1024

// parseJSON reads a report in JSON, object by object.
func (p *Parser) parseJSON(ctx context.Context, in pipeline.Input, report *Report, br *bufio.Reader, sink pipeline.Sink) error {
	cols := jsonColumns{p: p, report: report, fileName: inputFileName(in.Name), header: report.Columns()}
	cols.width = len(cols.header)
	pl, err := report.compile(cols.header, cols.fileName)
	if err != nil {
		return fmt.Errorf("shadowserver %q: %w", in.Name, err)
	}
	pl.text = p.text
	pl.row.epochSeconds = p.text.EpochSeconds
	pl.leaveRoomFor(sink)
	cols.plan = pl
	defer func() { p.reportReplaced(sink, in, cols.plan) }()
	jr := newJSONReader(br)
	cells := make([]string, len(cols.header))
	var extras []keyValue
	var order keyOrder
	for n := 0; ; n++ {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		obj, line, err := jr.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			var rerr *readError
			if !errors.As(err, &rerr) {
				return fmt.Errorf("shadowserver %s %q: %w", report.Type, in.Name, err)
			}
			sink.Reject(bytes.Clone(obj), &RowError{Line: line, Err: err})
			continue
		}
		// One string for the whole object: cells without escapes are
		// substrings of it.
		text := string(obj)
		clear(cells)
		extras = extras[:0]
		var unescaped bool
		cells, extras, unescaped, err = decodeObject(text, cols.plan.row.index, &order, cells, extras)
		if err != nil {
			sink.Reject(bytes.Clone(obj), &RowError{Line: line, Err: err})
			continue
		}
		if len(extras) > 0 {
			var refused error
			if cells, refused, err = cols.place(cells, extras); err != nil {
				return fmt.Errorf("shadowserver %q: %w", in.Name, err)
			}
			if refused != nil {
				sink.Reject(bytes.Clone(obj), &RowError{Line: line, Err: refused})
				continue
			}
		}
		cols.plan.unescaped = unescaped
		e, err := cols.plan.build(cells, obj, "", line)
		if err != nil {
			sink.Reject(bytes.Clone(obj), err)
			continue
		}
		if err := sink.Event(e); err != nil {
			return fmt.Errorf("shadowserver %s %q line %d: %w", report.Type, in.Name, line, err)
		}
	}
}

// jsonColumns are the columns of a JSON report as its objects are read:
// the schema's, then each key of an object that the schema does not name,
// in the order they came, and the plan compiled for them.
type jsonColumns struct {
	p        *Parser
	report   *Report
	fileName string
	header   []string
	width    int // how many of header are the schema's
	plan     *plan
}

// place puts the values of extras, keys the schema does not name, into
// cells, giving each new key a column of its own (and compiling the plan
// again). It returns the cells, why the object is refused (a key that is
// not storable text, too many keys), or an error that ends the input.
func (c *jsonColumns) place(cells []string, extras []keyValue) (_ []string, refused, err error) {
	grown := false
	for _, kv := range extras {
		if _, known := c.plan.row.index[kv.key]; known {
			continue
		}
		key := kv.key
		if c.p.text.ReplaceInvalidUTF8 && !utf8.ValidString(key) {
			b, _ := event.ReplaceInvalidUTF8([]byte(key))
			key = string(b)
		}
		if problem := event.TextDamage(key); !problem.IsZero() {
			return cells, i18n.NewError("shadowserver.reason.key", kv.key, problem), nil
		}
		if len(c.header)-c.width >= maxExtraKeys {
			return cells, i18n.NewError("shadowserver.reason.key.many", kv.key, maxExtraKeys), nil
		}
		if _, known := c.plan.row.index[key]; known {
			continue
		}
		c.header = append(c.header, key)
		c.plan.row.index[key] = len(c.header) - 1
		grown = true
	}
	if grown {
		next, err := c.report.compile(c.header, c.fileName)
		if err != nil {
			return cells, nil, err
		}
		pl := c.plan
		next.text, next.row.epochSeconds, next.room = pl.text, pl.row.epochSeconds, pl.room
		if next.labels = pl.labels; next.labels != nil {
			next.place() // the slots are new
		}
		next.replacedBytes, next.replacedRows = pl.replacedBytes, pl.replacedRows
		c.plan = next
	}
	for len(cells) < len(c.header) {
		cells = append(cells, "")
	}
	for _, kv := range extras {
		key := kv.key
		if _, known := c.plan.row.index[key]; !known {
			b, _ := event.ReplaceInvalidUTF8([]byte(key))
			key = string(b)
		}
		cells[c.plan.row.index[key]] = kv.value
	}
	return cells, nil, nil
}

// keyValue is a key of an object the header does not hold yet.
type keyValue struct{ key, value string }

// readError is the reason for JSON text that is not an object the reader
// could take, with the dead letter keeping the text; reading goes on after
// it unless rest is set.
type readError struct {
	msg string
	// rest is set when the reader could not find its way back into the
	// array: the letter is the rest of the input, and reading ends.
	rest bool
}

func (e *readError) Error() string { return e.msg }

// jsonReader yields a JSON report's objects one at a time, holding at most
// one object (bounded by maxRecord) in memory.
type jsonReader struct {
	r     *bufio.Reader
	lines *recordReader // for JSON lines
	line  int           // the line the reader stands on, for arrays
	array bool
	state arrayState
	buf   []byte
}

type arrayState uint8

const (
	arrayStart arrayState = iota // before the "["
	arrayFirst                   // after "[": an element or "]"
	arrayAfter                   // after an element: "," or "]"
	arrayDone                    // after "]" or the refused rest
)

func newJSONReader(br *bufio.Reader) *jsonReader {
	jr := &jsonReader{r: br, line: 1}
	head, _ := br.Peek(512)
	head = bytes.TrimLeft(bytes.TrimPrefix(head, utf8BOM), jsonSpace)
	jr.array = len(head) > 0 && head[0] == '['
	if !jr.array {
		jr.lines = &recordReader{r: br}
	}
	return jr
}

// next returns the next object's text and the line it starts on. The text
// is valid until the next call. At the end it returns io.EOF; text that is
// no usable object comes with a *readError, and reading can go on.
func (jr *jsonReader) next() ([]byte, int, error) {
	if jr.array {
		return jr.nextInArray()
	}
	for {
		l, err := jr.lines.readLine()
		if err != nil {
			return nil, 0, err
		}
		if l.length > 0 {
			return l.text, l.number, &readError{msg: (&lineTooLongError{Length: l.length, Limit: maxRecord, Kept: len(l.text)}).Error()}
		}
		text := l.text
		if l.number == 1 {
			text = bytes.TrimPrefix(text, utf8BOM)
		}
		text = bytes.Trim(text, jsonSpace)
		if len(text) == 0 {
			continue
		}
		return text, l.number, nil
	}
}

// skipSpace skips white space, counting lines, and returns the next byte
// without reading it; io.EOF at the end.
func (jr *jsonReader) skipSpace() (byte, error) {
	for {
		b, err := jr.r.ReadByte()
		if err != nil {
			return 0, err
		}
		switch b {
		case '\n':
			jr.line++
		case ' ', '\t', '\r':
		default:
			if b == 0xEF && jr.state == arrayStart {
				if rest, _ := jr.r.Peek(2); bytes.Equal(rest, utf8BOM[1:]) {
					jr.r.Discard(2)
					continue
				}
			}
			jr.r.UnreadByte()
			return b, nil
		}
	}
}

func (jr *jsonReader) nextInArray() ([]byte, int, error) {
	for {
		if jr.state == arrayDone {
			return nil, 0, io.EOF
		}
		b, err := jr.skipSpace()
		if errors.Is(err, io.EOF) {
			if jr.state == arrayStart {
				return nil, 0, io.EOF
			}
			jr.state = arrayDone
			return nil, jr.line, &readError{msg: "the input ends before the JSON array is closed"}
		}
		if err != nil {
			return nil, 0, err
		}
		switch jr.state {
		case arrayStart:
			jr.r.ReadByte() // the "[" newJSONReader saw
			jr.state = arrayFirst
			continue
		case arrayFirst:
			if b == ']' {
				jr.r.ReadByte()
				return jr.afterArray()
			}
			return jr.element()
		case arrayAfter:
			switch b {
			case ',':
				jr.r.ReadByte()
				if b, err := jr.skipSpace(); err == nil && b != ']' {
					return jr.element()
				}
				return jr.refuseRest("a value after a comma")
			case ']':
				jr.r.ReadByte()
				return jr.afterArray()
			}
			return jr.refuseRest(`"," or "]" after an element`)
		}
	}
}

// afterArray ends the array: only white space may follow.
func (jr *jsonReader) afterArray() ([]byte, int, error) {
	_, err := jr.skipSpace()
	if errors.Is(err, io.EOF) {
		jr.state = arrayDone
		return nil, 0, io.EOF
	}
	if err != nil {
		return nil, 0, err
	}
	return jr.refuseRest("nothing after the closing \"]\"")
}

// refuseRest gives the rest of the input as one dead letter: past a broken
// separator the reader cannot tell where the next object begins.
func (jr *jsonReader) refuseRest(want string) ([]byte, int, error) {
	line := jr.line
	jr.buf = jr.buf[:0]
	var total int64
	lines := 0
	for {
		chunk, err := jr.r.ReadSlice('\n')
		total += int64(len(chunk))
		if room := rejectPrefix - len(jr.buf); room > 0 {
			jr.buf = append(jr.buf, chunk[:min(room, len(chunk))]...)
		}
		if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
			lines++
		}
		if err == nil || errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if !errors.Is(err, io.EOF) {
			return nil, 0, err
		}
		break
	}
	jr.state = arrayDone
	found := "the end of the input"
	if len(jr.buf) > 0 {
		found = fmt.Sprintf("%q", jr.buf[:min(len(jr.buf), 20)])
	}
	return jr.buf, line, &readError{rest: true, msg: fmt.Sprintf(
		"the JSON array cannot be read on: want %s, found %s; the rest of the input (%d bytes, %d line breaks) is refused as this one dead letter, which keeps its first %d bytes",
		want, found, total, lines, min(len(jr.buf), rejectPrefix))}
}

// element reads one element of the array: an object, or a value that is
// refused because it is not one.
func (jr *jsonReader) element() ([]byte, int, error) {
	line := jr.line
	jr.state = arrayAfter
	length, complete, err := jr.scanValue()
	if err != nil {
		return nil, 0, err
	}
	switch {
	case !complete:
		jr.state = arrayDone
		return jr.buf, line, &readError{msg: fmt.Sprintf("the input ends inside the value starting on line %d", line)}
	case length > maxRecord:
		return jr.buf, line, &readError{msg: fmt.Sprintf("JSON value of %d bytes, over the limit of %d; the dead letter keeps its first %d bytes", length, maxRecord, len(jr.buf))}
	case len(jr.buf) == 0 || jr.buf[0] != '{':
		return jr.buf, line, &readError{msg: "array element is not an object"}
	}
	return jr.buf, line, nil
}

// scanValue reads one JSON value into buf: an object or array to its
// matching bracket, outside strings; anything else up to the next comma,
// bracket or white space. Past maxRecord bytes only rejectPrefix are kept
// and the rest counted. complete is false when the input ended first.
func (jr *jsonReader) scanValue() (length int64, complete bool, err error) {
	jr.buf = jr.buf[:0]
	depth, inString, escaped := 0, false, false
	keep := func(b []byte) {
		length += int64(len(b))
		if length <= maxRecord {
			jr.buf = append(jr.buf, b...)
		} else if len(jr.buf) > rejectPrefix {
			jr.buf = jr.buf[:rejectPrefix]
		}
	}
	for {
		_, perr := jr.r.Peek(1)
		if perr != nil {
			if errors.Is(perr, io.EOF) {
				return length, len(jr.buf) > 0 && depth == 0 && !inString && jr.buf[0] != '{' && jr.buf[0] != '[', nil
			}
			return length, false, perr
		}
		chunk, _ := jr.r.Peek(jr.r.Buffered())
		for i := 0; i < len(chunk); i++ {
			if inString {
				if escaped {
					escaped = false
					if chunk[i] == '\n' {
						jr.line++
					}
					continue
				}
				// Most of an object's bytes are inside strings: jump to
				// the closing quote, or to a backslash before it, with
				// IndexByte rather than looking at every byte.
				n := stringEnd(chunk[i:])
				seg := chunk[i : i+n]
				jr.line += bytes.Count(seg, newline)
				i += n
				if i == len(chunk) {
					break
				}
				if chunk[i] == '\\' {
					escaped = true
					continue
				}
				inString = false
				if depth == 0 {
					keep(chunk[:i+1])
					jr.r.Discard(i + 1)
					return length, true, nil
				}
				continue
			}
			c := chunk[i]
			switch c {
			case '"':
				inString = true
			case '{', '[':
				depth++
			case '}', ']':
				if depth == 0 {
					// The end of a scalar, and of the array.
					keep(chunk[:i])
					jr.r.Discard(i)
					return length, true, nil
				}
				depth--
				if depth == 0 {
					keep(chunk[:i+1])
					jr.r.Discard(i + 1)
					return length, true, nil
				}
			case ',', ' ', '\t', '\r', '\n':
				if depth == 0 {
					keep(chunk[:i])
					jr.r.Discard(i)
					return length, true, nil
				}
				if c == '\n' {
					jr.line++
				}
			}
		}
		keep(chunk)
		jr.r.Discard(len(chunk))
	}
}

var newline = []byte{'\n'}

// stringEnd returns the index in b of the first quote or backslash, or
// len(b) when there is none.
func stringEnd(b []byte) int {
	q := bytes.IndexByte(b, '"')
	if q < 0 {
		q = len(b)
	}
	if e := bytes.IndexByte(b[:q], '\\'); e >= 0 {
		return e
	}
	return q
}
