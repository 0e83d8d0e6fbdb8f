package parser

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strings"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/parser/chunks"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/taxonomy"
)

// MaxLineLength is the longest input line (or JSON array entry) a parser
// accepts. Feeds have lines of a few hundred bytes; anything near this limit
// is damage or abuse, and bounding it bounds a parser's memory.
const MaxLineLength = 1 << 20

// ErrLineTooLong is wrapped by the reject reason of a line over MaxLineLength.
var ErrLineTooLong error = i18n.NewError("parser.reason.toolong", MaxLineLength)

// lineTooLongError is the reason for an over-long line: the dead letter
// keeps its first bytes, so the reason tells how long it was.
type lineTooLongError struct{ length int64 }

func (e *lineTooLongError) Error() string {
	return fmt.Sprintf("%v: %d bytes; the dead letter keeps the first %d", ErrLineTooLong, e.length, rejectPrefix)
}

func (e *lineTooLongError) Unwrap() error { return ErrLineTooLong }

func (e *lineTooLongError) Explain() i18n.Message {
	return i18n.M("parser.reason.toolong.kept", i18n.Reason(ErrLineTooLong), e.length, rejectPrefix)
}

// rejectPrefix is how much of an over-long line goes to the dead-letter
// store: enough to recognise it, without storing a megabyte of garbage.
const rejectPrefix = 4096

// ctxCheckInterval is how many lines pass between checks for cancellation;
// checking on every line would cost more than parsing some formats.
const ctxCheckInterval = 256

var utf8BOM = []byte("\xef\xbb\xbf")

// lineReader yields the lines of a stream without their line endings,
// numbered from 1, holding at most MaxLineLength bytes of any one line.
type lineReader struct {
	r      *bufio.Reader
	buf    []byte
	number int
	// length is the length of the last line, counted even when the line
	// was too long to keep.
	length int64
}

func newLineReader(r io.Reader) *lineReader {
	if br, ok := r.(*bufio.Reader); ok && br.Size() >= 64<<10 {
		return &lineReader{r: br}
	}
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next line; the slice is valid until the following call.
// A line over MaxLineLength is consumed whole but returned as its first
// rejectPrefix bytes with ErrLineTooLong. At the end it returns io.EOF.
func (l *lineReader) next() ([]byte, error) {
	chunk, err := l.r.ReadSlice('\n')
	var line []byte
	tooLong := false
	switch {
	case err == nil:
		// The common case: the whole line sits in the reader's buffer.
		line = chunk
	case errors.Is(err, io.EOF):
		if len(chunk) == 0 {
			return nil, io.EOF
		}
		line = chunk
	case errors.Is(err, bufio.ErrBufferFull):
		l.buf = append(l.buf[:0], chunk...)
		l.length = int64(len(chunk))
		for errors.Is(err, bufio.ErrBufferFull) {
			chunk, err = l.r.ReadSlice('\n')
			l.length += int64(len(chunk))
			if !tooLong && len(l.buf)+len(chunk) > MaxLineLength+2 { // +2: room for "\r\n"
				tooLong = true
				l.buf = l.buf[:rejectPrefix]
			}
			if !tooLong {
				l.buf = append(l.buf, chunk...)
			}
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		line = l.buf
	default:
		return nil, err
	}
	l.number++
	if tooLong {
		l.length -= int64(len(chunk) - len(bytes.TrimSuffix(bytes.TrimSuffix(chunk, []byte{'\n'}), []byte{'\r'})))
		return line, &lineTooLongError{length: l.length}
	}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if l.number == 1 {
		line = bytes.TrimPrefix(line, utf8BOM)
	}
	return line, nil
}

// lineFunc makes an event of one non-blank line. It returns nil, nil for a
// line that holds no observation by design (a comment, a header), an
// *inputError when the input as a whole is unusable, and any other error to
// reject the line.
type lineFunc func(number int, line []byte) (*event.Event, error)

// inputError marks an error that makes the whole input unusable (a CSV
// header without a configured column), as opposed to one bad line.
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }

// Explain is the error's own message, when it says one.
func (e *inputError) Explain() i18n.Message {
	m, _ := i18n.Said(e.err)
	return m
}

// lineHeader is the header line of an input whose lines need it to be
// read: a CSV file's column names. stepLine puts it, as it came, in
// front of each line's raw and dead letter, as IntelMQ's CSV parsers keep
// it in raw: a line of values alone does not say what the values are, and
// a dead letter that carries its header is read again on its own.
type lineHeader struct {
	line    []byte // the header as it came; nil until parse keeps one
	current []byte // the line parse is reading, as it came
}

// keep makes the line parse is reading the header.
func (h *lineHeader) keep() { h.line = bytes.Clone(h.current) }

// under returns line with the header in front (the header, a newline,
// the line), or line itself while there is no header.
func (h *lineHeader) under(line []byte) []byte {
	if h == nil || h.line == nil {
		return line
	}
	out := make([]byte, 0, len(h.line)+1+len(line))
	return append(append(append(out, h.line...), '\n'), line...)
}

// eachLine runs parse over every non-blank line of body and hands the
// results to sink: events (after finish), rejects with the line number, or
// a stop when the sink or ctx says so. text checks each line first: under
// invalid_utf8: replace, parse sees the line repaired (raw keeps it as it
// came); a line that is still not storable text is rejected, with the
// reason of the field it broke when parse found one.
func eachLine(ctx context.Context, body io.Reader, sink pipeline.Sink, text *textTally, parse lineFunc) error {
	defer text.report(sink)
	return eachLineOf(ctx, newLineReader(body), sink, text, nil, parse, func() bool { return true })
}

// eachLineOf is eachLine's loop over lines, run while more says so:
// a parser that reads its header line by line reads the rest in chunks
// (eachLineInChunks) from the same reader.
func eachLineOf(ctx context.Context, lines *lineReader, sink pipeline.Sink, text *textTally, header *lineHeader, parse lineFunc, more func() bool) error {
	for more() {
		line, err := lines.next()
		if err == io.EOF {
			return nil
		}
		n := lines.number
		if n%ctxCheckInterval == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err != nil && !errors.Is(err, ErrLineTooLong) {
			return fmt.Errorf("read line %d: %w", n, err)
		}
		r := stepLine(n, line, err, text, header, parse)
		if err := r.Deliver(sink); err != nil {
			return err
		}
	}
	return nil
}

// stepLine reads line n, which the line reader returned with readErr
// (nil, or ErrLineTooLong). text checks the line first: under
// invalid_utf8: replace, parse sees the line repaired (raw keeps it as it
// came); a line that is still not storable text is rejected, with the
// reason of the field it broke when parse found one.
func stepLine(n int, line []byte, readErr error, text *textTally, header *lineHeader, parse lineFunc) chunks.Result {
	if readErr != nil {
		return chunks.Result{Reject: bytes.Clone(header.under(line)), Reason: &pipeline.LineError{Line: n, Err: readErr}}
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return chunks.Result{}
	}
	original := line
	if header != nil {
		header.current = original
	}
	line, damage := text.check(line)
	e, err := parse(n, line)
	if err == nil && e != nil {
		err = finish(e, header.under(original))
	}
	if err == nil && e != nil && !damage.IsZero() {
		// The damage is in a part of the line no field took (or one
		// kept only as extra): the line is still refused, as it is not
		// the text the feed meant to send.
		err = i18n.NewError("event.reason.linedamage", damage)
	}
	if err != nil {
		if ie := (*inputError)(nil); errors.As(err, &ie) {
			return chunks.Result{Fatal: i18n.Wrap(err, "pipeline.reject.line", n)}
		}
		// The dead letter keeps the line as it came (under its header),
		// so a retry reads the same bytes.
		return chunks.Result{Reject: bytes.Clone(header.under(original)), Reason: &pipeline.LineError{Line: n, Err: err}}
	}
	return chunks.Result{Event: e}
}

// finish completes an event the same way for every parser: the source
// line as raw (unless the input carried its own, as IntelMQ events do) and
// the taxonomy that the classification type implies.
func finish(e *event.Event, raw []byte) error {
	if !e.Has("raw") {
		e.SetRaw(raw)
	}
	if err := e.CheckText(); err != nil {
		return err
	}
	typ, ok := e.Get("classification.type")
	if !ok {
		return event.NewFieldError("classification.type", "", i18n.M("event.reason.missing"))
	}
	if !e.Has("classification.taxonomy") {
		if tax, ok := taxonomy.TaxonomyOf(typ); ok {
			e.SetTrusted("classification.taxonomy", tax)
		}
	}
	return nil
}

// classify sets a classification type the parser itself chose (so known
// valid) and an optional identifier.
func classify(e *event.Event, typ, identifier string) {
	e.SetTrusted("classification.type", typ)
	if tax, ok := taxonomy.TaxonomyOf(typ); ok {
		e.SetTrusted("classification.taxonomy", tax)
	}
	if identifier != "" {
		e.SetTrusted("classification.identifier", identifier)
	}
}

// missing is the error for a required value that is absent from a line;
// why says where it should have come from.
func missing(field string, why i18n.Message) error {
	return i18n.NewError("parser.reason.missing", field, why)
}

// setRequired is event.Set for a value the line must have; from names where
// the value comes from (a column, a key).
func setRequired(e *event.Event, field, from, value string) error {
	if strings.TrimSpace(value) == "" {
		return missing(field, i18n.M("parser.reason.empty", from))
	}
	return e.Set(field, value)
}

// setRegistry sets source.registry, accepting the spellings feeds use for
// RIPE NCC. A registry Vigil does not know is no reason to lose the rest of
// the line: it is kept as extra.rir instead.
func setRegistry(e *event.Event, value string) error {
	if strings.EqualFold(value, "ripencc") {
		value = "RIPE"
	}
	if err := e.Set("source.registry", value); err != nil {
		return e.SetExtra("rir", value)
	}
	return nil
}

// setURL sets side.url and, from the URL's host, side.ip or side.fqdn, and
// side.port when the URL names one, so that a URL is found by a search for
// its host as well.
func setURL(e *event.Event, side, from, raw string) error {
	if err := setRequired(e, side+".url", from, raw); err != nil {
		return err
	}
	u, err := url.Parse(e.Value(side + ".url"))
	if err != nil {
		// Normalization parsed it already; this cannot happen.
		return event.NewFieldError(side+".url", raw, i18n.M("event.reason.url"))
	}
	host := u.Hostname()
	if _, err := netip.ParseAddr(host); err == nil {
		if err := e.Set(side+".ip", host); err != nil {
			return err
		}
	} else if err := e.Set(side+".fqdn", host); err != nil {
		return err
	}
	return e.Set(side+".port", u.Port())
}

// splitCSV splits one CSV record into fields, appending to fields[:0]. It
// follows RFC 4180 quoting ("a ""b""" is a "b"), trims blanks around
// values, and refuses an unclosed quote or text after a closing quote. A
// quoted value cannot span lines: the feeds read here never do that, and
// reading line by line keeps every reject tied to one line, so a quote
// left open by damage costs its own line and no other.
func splitCSV(fields []string, line string, delim byte) ([]string, error) {
	fields = fields[:0]
	i := 0
	for {
		j := i
		for j < len(line) && isBlank(line[j]) && line[j] != delim {
			j++
		}
		if j < len(line) && line[j] == '"' {
			value, next, err := quoted(line, j+1)
			if err != nil {
				return fields, i18n.Wrap(err, "parser.reason.column", len(fields)+1)
			}
			fields = append(fields, value)
			for next < len(line) && isBlank(line[next]) && line[next] != delim {
				next++
			}
			if next == len(line) {
				return fields, nil
			}
			if line[next] != delim {
				return fields, i18n.NewError("parser.reason.csv.afterquote", len(fields))
			}
			i = next + 1
			continue
		}
		d := strings.IndexByte(line[i:], delim)
		if d < 0 {
			return append(fields, trimBlank(line[i:])), nil
		}
		fields = append(fields, trimBlank(line[i:i+d]))
		i += d + 1
	}
}

// quoted reads a quoted value starting after its opening quote; it returns
// the value and the position after the closing quote.
func quoted(line string, start int) (string, int, error) {
	var b []byte // only needed when the value has doubled quotes
	k := start
	for {
		q := strings.IndexByte(line[k:], '"')
		if q < 0 {
			return "", 0, i18n.NewError("parser.reason.csv.unclosed")
		}
		q += k
		if q+1 < len(line) && line[q+1] == '"' {
			b = append(b, line[start:q+1]...)
			k = q + 2
			start = k
			continue
		}
		if b == nil {
			return line[start:q], q + 1, nil
		}
		return string(append(b, line[start:q]...)), q + 1, nil
	}
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func trimBlank(s string) string {
	for len(s) > 0 && isBlank(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isBlank(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// isComment reports whether line, without leading blanks, starts with prefix.
func isComment(line []byte, prefix string) bool {
	return prefix != "" && bytes.HasPrefix(bytes.TrimLeft(line, " \t"), []byte(prefix))
}

// csvColumns maps a feed's column names to their positions in a row.
type csvColumns map[string]int

func newCSVColumns(names []string) csvColumns {
	c := make(csvColumns, len(names))
	for i, n := range names {
		c[strings.ToLower(trimBlank(n))] = i
	}
	return c
}

// get returns the named cell of row, or "" when the row is too short or
// the column unknown.
func (c csvColumns) get(row []string, name string) string {
	i, ok := c[name]
	if !ok || i >= len(row) {
		return ""
	}
	return row[i]
}

// has reports whether every named column is known.
func (c csvColumns) has(names ...string) bool {
	for _, n := range names {
		if _, ok := c[n]; !ok {
			return false
		}
	}
	return true
}

// need returns an error when row lacks one of the named columns.
func (c csvColumns) need(row []string, names ...string) error {
	for _, n := range names {
		i, ok := c[n]
		if !ok {
			continue
		}
		if i >= len(row) {
			return i18n.NewError("parser.reason.csv.short", len(row), n, i+1)
		}
	}
	return nil
}

// peekFirst returns the first byte of the stream that is neither blank nor
// a byte-order mark, without consuming anything, or 0 when the first few
// kilobytes hold none.
func peekFirst(r *bufio.Reader) byte {
	buf, _ := r.Peek(4096)
	buf = bytes.TrimPrefix(buf, utf8BOM)
	buf = bytes.TrimLeft(buf, " \t\r\n")
	if len(buf) == 0 {
		return 0
	}
	return buf[0]
}

// jsonObject decodes one JSON object into its members, for parsers that
// pick a few keys and must name the bad one.
func jsonObject(line []byte) (map[string]json.RawMessage, error) {
	if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '{' && t[0] != 'n' {
		return nil, i18n.NewError("parser.reason.json.start", t[0])
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		return nil, i18n.Wrap(err, "event.reason.notobject")
	}
	if obj == nil {
		return nil, i18n.NewError("parser.reason.json.null")
	}
	return obj, nil
}

// jsonText returns member key of obj as text: a string's value, or a
// number's or boolean's literal; "" when absent or null.
func jsonText(obj map[string]json.RawMessage, key string) (string, error) {
	raw := bytes.TrimSpace(obj[key])
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	switch raw[0] {
	case '"':
		// encoding/json would turn a lone surrogate into U+FFFD and keep
		// bytes that are not UTF-8 the same way, without a word.
		if p := event.JSONTextDamage(raw); !p.IsZero() {
			return "", i18n.NewError("parser.reason.key", key, p)
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", i18n.Wrap(err, "parser.reason.key", key)
		}
		return s, nil
	case '{', '[':
		return "", i18n.NewError("parser.reason.key.text", key, string(raw))
	}
	return string(raw), nil
}

// jsonString is jsonText for a member that must be a string when present.
func jsonString(obj map[string]json.RawMessage, key string) (string, error) {
	raw := bytes.TrimSpace(obj[key])
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] != '"' {
		return "", i18n.NewError("parser.reason.key.string", key, string(raw))
	}
	return jsonText(obj, key)
}
