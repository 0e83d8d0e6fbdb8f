package cveimport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/publication"
)

// MaxRecordSize is the largest record read, in bytes. The largest
// records of the public CVE list are a few hundred kilobytes.
const MaxRecordSize = 4 << 20

// MaxDepth is how deep a record's objects and arrays may nest. The
// format itself needs about ten levels.
const MaxDepth = 32

// decoder walks a record decoded into Go values (maps, slices, strings,
// json.Number, booleans), keeping the JSON path of where it is so that a
// refusal can name the field. It keeps the first refusal and ignores
// the rest, so the code that reads the fields reads them in a row and
// asks for the error once.
type decoder struct {
	err error
}

// node is a value of the record and its path.
type node struct {
	v    any
	path string
}

// key is the member key of n, an object; absent is a nil value.
func (n node) key(k string) node {
	p := k
	if n.path != "" {
		p = n.path + "." + k
	}
	var v any
	if m, ok := n.v.(map[string]any); ok {
		v = m[k]
	}
	return node{v: v, path: p}
}

// fail keeps the first refusal.
func (d *decoder) fail(path, id string, args ...any) {
	if d.err == nil {
		d.err = publication.Refuse(path, id, args...)
	}
}

// present reports whether n holds a value (JSON null counts as absent);
// when required and absent, it refuses n as missing.
func (d *decoder) present(n node, required bool) bool {
	if n.v != nil {
		return true
	}
	if required {
		d.fail(n.path, "publication.error.cve.missing", n.path)
	}
	return false
}

// object reports whether n is an object; false when it is absent or
// refused.
func (d *decoder) object(n node, required bool) bool {
	if !d.present(n, required) {
		return false
	}
	if _, ok := n.v.(map[string]any); !ok {
		d.fail(n.path, "publication.error.cve.object", n.path)
		return false
	}
	return true
}

// list returns the elements of n, an array, each with its path.
func (d *decoder) list(n node) []node {
	if !d.present(n, false) {
		return nil
	}
	a, ok := n.v.([]any)
	if !ok {
		d.fail(n.path, "publication.error.cve.array", n.path)
		return nil
	}
	out := make([]node, len(a))
	for i, v := range a {
		out[i] = node{v: v, path: n.path + "[" + strconv.Itoa(i) + "]"}
	}
	return out
}

// str returns n as a string, "" when it is absent or refused. A
// required string must not be empty.
func (d *decoder) str(n node, required bool) string {
	if !d.present(n, required) {
		return ""
	}
	s, ok := n.v.(string)
	if !ok {
		d.fail(n.path, "publication.error.cve.string", n.path)
		return ""
	}
	if required && s == "" {
		d.fail(n.path, "publication.error.cve.missing", n.path)
	}
	return s
}

// strings returns n as an array of strings.
func (d *decoder) strings(n node) []string {
	var out []string
	for _, e := range d.list(n) {
		out = append(out, d.str(e, true))
	}
	return out
}

// oneOf refuses n's string value s unless it is one of allowed (or
// absent and not required).
func (d *decoder) oneOf(n node, s string, allowed ...string) {
	if s == "" {
		return
	}
	for _, a := range allowed {
		if s == a {
			return
		}
	}
	d.fail(n.path, "publication.error.cve.value", n.path, clip(s, 80))
}

// parse reads r into Go values, refusing what is too large, too deep or
// not JSON.
func parse(r io.Reader) (any, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxRecordSize+1))
	if err != nil {
		return nil, fmt.Errorf("read CVE record: %w", err)
	}
	if len(data) > MaxRecordSize {
		return nil, publication.Refuse("", "publication.error.cve.large", MaxRecordSize>>20)
	}
	if !utf8.Valid(data) {
		return nil, publication.Refuse("", "publication.error.cve.utf8")
	}
	if depth(data) > MaxDepth {
		return nil, publication.Refuse("", "publication.error.cve.deep", MaxDepth)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, syntaxRefusal(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, publication.Refuse("", "publication.error.cve.trailing")
	}
	return v, nil
}

// syntaxRefusal says where the JSON broke.
func syntaxRefusal(err error) error {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return publication.Refuse("", "publication.error.cve.json", syntax.Offset)
	}
	return publication.Refuse("", "publication.error.cve.json", int64(0))
}

// depth is how deep data's arrays and objects nest, counted without
// decoding (brackets inside strings do not count), so that a deeply
// nested file is refused before the decoder recurses into it.
func depth(data []byte) int {
	level, deepest := 0, 0
	inString, escaped := false, false
	for _, c := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			level++
			deepest = max(deepest, level)
		case c == '}' || c == ']':
			level--
		}
	}
	return deepest
}

// clip cuts s to at most n bytes on a rune boundary, marking the cut, so
// that a refusal does not repeat a huge value.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
