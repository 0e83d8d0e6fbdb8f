package shadowserver

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// decodeObject reads one JSON object, the whole of text but for white
// space, into cells by the column index. A key the index does not hold is
// returned in extras when its value is not empty (an empty value would set
// nothing). Strings without escapes and numbers are substrings of text;
// unescaped is set when some cell is not. A duplicated key keeps its last
// value, as Go's and Python's JSON readers do.
func decodeObject(text string, index map[string]int, order *keyOrder, cells []string, extras []keyValue) (_ []string, _ []keyValue, unescaped bool, err error) {
	d := objectDecoder{s: text}
	d.space()
	if !d.eat('{') {
		return cells, extras, false, d.fail(i18n.M("shadowserver.json.object"))
	}
	d.space()
	if !d.eat('}') {
		for k := 0; ; k++ {
			d.space()
			if d.peek() != '"' {
				return cells, extras, false, d.fail(i18n.M("shadowserver.json.key"))
			}
			key, err := d.str()
			if err != nil {
				return cells, extras, false, err
			}
			d.space()
			if !d.eat(':') {
				return cells, extras, false, d.fail(i18n.M("shadowserver.json.colon"))
			}
			d.space()
			value, err := d.value()
			if err != nil {
				return cells, extras, false, err
			}
			if i, ok := order.column(k, key, index); ok && i < len(cells) {
				cells[i] = value
			} else if value != "" {
				extras = append(extras, keyValue{key, value})
			}
			d.space()
			if d.eat(',') {
				continue
			}
			if d.eat('}') {
				break
			}
			return cells, extras, false, d.fail(i18n.M("shadowserver.json.comma"))
		}
	}
	d.space()
	if d.i < len(d.s) {
		return cells, extras, false, d.fail(i18n.M("shadowserver.json.after"))
	}
	order.done()
	return cells, extras, d.unescaped, nil
}

// keyOrder remembers the keys of the longest object so far, in order,
// with their columns: a report's objects list their keys in one order
// (some leaving out keys whose value is empty), and comparing a key with
// the next few expected ones costs less than hashing it.
type keyOrder struct {
	keys []string
	cols []int // -1 for a key the index does not hold
	next int   // where the previous key of this object was found, plus one
	// seen collects this object's keys and columns, to become keys and
	// cols when it is the longest yet.
	seenKeys []string
	seenCols []int
}

// keyLookahead is how many expected keys may be missing from an object
// in a row before a key is looked up in the index.
const keyLookahead = 8

// column returns the column of key, the k-th key of its object.
func (o *keyOrder) column(k int, key string, index map[string]int) (int, bool) {
	if k == 0 {
		o.next = 0
		o.seenKeys, o.seenCols = o.seenKeys[:0], o.seenCols[:0]
	}
	c, found := -1, false
	for j := o.next; j < len(o.keys) && j < o.next+keyLookahead; j++ {
		if o.keys[j] == key {
			c, found, o.next = o.cols[j], true, j+1
			break
		}
	}
	if !found {
		if i, ok := index[key]; ok {
			c = i
		}
	}
	o.seenKeys, o.seenCols = append(o.seenKeys, key), append(o.seenCols, c)
	return c, c >= 0
}

// done ends an object: its keys become the expected order when it has
// more than any before.
func (o *keyOrder) done() {
	if len(o.seenKeys) > len(o.keys) {
		o.keys, o.seenKeys = o.seenKeys, o.keys[:0]
		o.cols, o.seenCols = o.seenCols, o.cols[:0]
	}
}

// objectDecoder reads JSON text from s at i.
type objectDecoder struct {
	s         string
	i         int
	unescaped bool
}

func (d *objectDecoder) peek() byte {
	if d.i < len(d.s) {
		return d.s[d.i]
	}
	return 0
}

func (d *objectDecoder) eat(c byte) bool {
	if d.i < len(d.s) && d.s[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *objectDecoder) space() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\r', '\n':
			d.i++
		default:
			return
		}
	}
}

func (d *objectDecoder) fail(why i18n.Message) error {
	if d.i >= len(d.s) {
		return i18n.NewError("shadowserver.json.end", why)
	}
	r, _ := utf8.DecodeRuneInString(d.s[d.i:])
	return i18n.NewError("shadowserver.json.found", why, r, d.i)
}

// value reads one value as a cell.
func (d *objectDecoder) value() (string, error) {
	switch c := d.peek(); {
	case c == '"':
		return d.str()
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	case c == '{' || c == '[':
		return d.nested()
	}
	for _, lit := range [...]struct{ word, cell string }{{"true", "true"}, {"false", "false"}, {"null", ""}} {
		if len(d.s)-d.i >= len(lit.word) && d.s[d.i:d.i+len(lit.word)] == lit.word {
			d.i += len(lit.word)
			return lit.cell, nil
		}
	}
	return "", d.fail(i18n.M("shadowserver.json.value"))
}

// number reads a JSON number and returns its literal text.
func (d *objectDecoder) number() (string, error) {
	start := d.i
	d.eat('-')
	digits := func() int {
		n := 0
		for d.i < len(d.s) && d.s[d.i] >= '0' && d.s[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.eat('0') {
		// no more integer digits after a leading zero
	} else if digits() == 0 {
		return "", d.fail(i18n.M("shadowserver.json.digit"))
	}
	if d.eat('.') && digits() == 0 {
		return "", d.fail(i18n.M("shadowserver.json.fraction"))
	}
	if d.eat('e') || d.eat('E') {
		if !d.eat('+') {
			d.eat('-')
		}
		if digits() == 0 {
			return "", d.fail(i18n.M("shadowserver.json.exponent"))
		}
	}
	return d.s[start:d.i], nil
}

// str reads a JSON string. One without escapes is a substring of s.
func (d *objectDecoder) str() (string, error) {
	d.i++ // the opening quote
	start := d.i
	q := strings.IndexByte(d.s[start:], '"')
	if q < 0 {
		q = len(d.s) - start
	}
	for j, c := range []byte(d.s[start : start+q]) {
		if c == '\\' || c < 0x20 {
			d.i = start + j
			if c == '\\' {
				return d.escapedStr(start)
			}
			return "", d.fail(i18n.M("shadowserver.json.control"))
		}
	}
	d.i = start + q
	if d.i == len(d.s) {
		return "", d.fail(i18n.M("shadowserver.json.string"))
	}
	d.i++
	return d.s[start : d.i-1], nil
}

// escapedStr reads the rest of a string holding escapes. A lone UTF-16
// surrogate is written as the invalid bytes it would be in UTF-8, so that
// the row's text check refuses it (or replaces it, under invalid_utf8:
// replace) exactly as it does bad bytes in a CSV cell.
func (d *objectDecoder) escapedStr(start int) (string, error) {
	b := make([]byte, 0, d.i-start+16)
	b = append(b, d.s[start:d.i]...)
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			d.unescaped = true
			return string(b), nil
		case c < 0x20:
			return "", d.fail(i18n.M("shadowserver.json.control"))
		case c != '\\':
			b = append(b, c)
			d.i++
			continue
		}
		d.i++
		if d.i >= len(d.s) {
			break
		}
		e := d.s[d.i]
		d.i++
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", d.fail(i18n.M("shadowserver.json.hex"))
			}
			if utf16.IsSurrogate(r) {
				if r < 0xDC00 && d.i+6 <= len(d.s) && d.s[d.i] == '\\' && d.s[d.i+1] == 'u' {
					save := d.i
					d.i += 2
					if r2, ok := d.hex4(); ok {
						if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
							b = utf8.AppendRune(b, pair)
							continue
						}
					}
					d.i = save
				}
				b = append(b, 0xED, 0xA0|byte(r>>6)&0x1F, 0x80|byte(r)&0x3F)
				continue
			}
			b = utf8.AppendRune(b, r)
		default:
			d.i--
			return "", d.fail(i18n.M("shadowserver.json.escape"))
		}
	}
	return "", d.fail(i18n.M("shadowserver.json.string"))
}

func (d *objectDecoder) hex4() (rune, bool) {
	if d.i+4 > len(d.s) {
		return 0, false
	}
	n, err := strconv.ParseUint(d.s[d.i:d.i+4], 16, 32)
	if err != nil {
		return 0, false
	}
	d.i += 4
	return rune(n), true
}

// nested reads an object or array value and returns its compact JSON
// text, checked by the standard library.
func (d *objectDecoder) nested() (string, error) {
	start := d.i
	depth, inString, escaped := 0, false, false
	for ; d.i < len(d.s); d.i++ {
		c := d.s[d.i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		}
		if depth == 0 {
			d.i++
			raw := d.s[start:d.i]
			var buf bytes.Buffer
			if err := json.Compact(&buf, []byte(raw)); err != nil {
				d.i = start
				return "", d.fail(i18n.M("shadowserver.json.nested.bad", i18n.Reason(err)))
			}
			if buf.Len() == len(raw) {
				return raw, nil
			}
			d.unescaped = true
			return buf.String(), nil
		}
	}
	d.i = start
	return "", d.fail(i18n.M("shadowserver.json.nested"))
}
