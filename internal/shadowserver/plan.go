package shadowserver

import (
	"errors"
	"fmt"

	"github.com/vigil-cert/vigil/internal/event"
)

// RowError says why a row could not become an event. Line is the physical
// line the row starts on (the header is line 1).
type RowError struct {
	Line   int
	Column string // empty when the row as a whole is wrong
	Field  string // the harmonized field the column was going to
	Err    error
}

func (e *RowError) Error() string {
	reason := e.Err.Error()
	var fe *event.FieldError
	if errors.As(e.Err, &fe) {
		v := fe.Value
		if len(v) > 80 {
			v = v[:77] + "..."
		}
		reason = fmt.Sprintf("%s (value %q)", fe.Reason, v)
	}
	switch {
	case e.Column != "" && e.Field != "":
		return fmt.Sprintf("line %d, column %q, field %s: %s", e.Line, e.Column, e.Field, reason)
	case e.Column != "":
		return fmt.Sprintf("line %d, column %q: %s", e.Line, e.Column, reason)
	}
	return fmt.Sprintf("line %d: %s", e.Line, reason)
}

func (e *RowError) Unwrap() error { return e.Err }

// ErrMissing is wrapped by the reason for an empty required cell.
var ErrMissing = errors.New("required value missing")

// plan is a report's mapping resolved against one file's header: column
// positions and field keys are worked out once, not per row.
type plan struct {
	report    *Report
	header    []string
	row       row // index by column name, for converters reading the row
	steps     []step
	leftovers []leftover // columns no mapping mentions: extra.<column>
	// fallback is the extra.<column> key for every column, used when an
	// optional value does not validate and is kept as text instead.
	fallback []string

	// per-row scratch, reused
	consumed []bool
	failed   []bool
	json     []byte
}

type step struct {
	col      int
	column   string
	key      string // the field to set; "" ignores the column
	kind     event.Kind
	conv     *converter
	required bool
}

type leftover struct {
	col int
	key string
}

// compile resolves r against a header. A required column missing from the
// header makes the whole file unusable. Optional columns missing are fine:
// reports gain and lose columns over time.
func (r *Report) compile(header []string) (*plan, error) {
	p := &plan{
		report:   r,
		header:   header,
		row:      row{index: make(map[string]int, len(header))},
		fallback: make([]string, len(header)),
		consumed: make([]bool, len(header)),
		failed:   make([]bool, len(header)),
	}
	for i, name := range header {
		if _, dup := p.row.index[name]; !dup {
			p.row.index[name] = i
		}
		p.fallback[i] = "extra." + name
	}
	mentioned := make([]bool, len(header))
	add := func(m mapping, required bool) error {
		col, ok := p.row.index[m.column]
		if !ok {
			if required {
				return fmt.Errorf("report %s: required column %q (%s) not in the header", r.Type, m.column, m.field)
			}
			return nil
		}
		mentioned[col] = true
		s := step{col: col, column: m.column, conv: m.conv, required: required}
		switch {
		case m.field == "":
		case m.field == "extra.":
			s.key = "extra." + m.column
		default:
			s.key = m.field
		}
		if s.key != "" {
			s.kind, _ = event.KindOf(s.key)
		}
		p.steps = append(p.steps, s)
		return nil
	}
	for _, m := range r.required {
		if err := add(m, true); err != nil {
			return nil, err
		}
	}
	for _, m := range r.optional {
		if err := add(m, false); err != nil {
			return nil, err
		}
	}
	for i, name := range header {
		if !mentioned[i] && name != "" {
			p.leftovers = append(p.leftovers, leftover{col: i, key: "extra." + name})
		}
	}
	return p, nil
}

// build fills e from the cells of one row.
func (p *plan) build(e *event.Event, cells []string, line int) error {
	for _, f := range p.report.constants {
		e.SetTrusted(f.Key, f.Value)
	}
	clear(p.consumed)
	clear(p.failed)
	p.row.cells = cells
	for i := range p.steps {
		s := &p.steps[i]
		v := cells[s.col]
		if v == "" && (s.conv == nil || !s.conv.withRow) {
			if s.required {
				return &RowError{Line: line, Column: s.column, Field: s.key, Err: ErrMissing}
			}
			continue
		}
		if s.key == "" {
			p.consumed[s.col] = true
			continue
		}
		err := p.apply(e, s, v)
		if err == nil {
			p.consumed[s.col] = true
			continue
		}
		if s.required {
			return &RowError{Line: line, Column: s.column, Field: s.key, Err: err}
		}
		// As IntelMQ does, an optional value that does not fit its field
		// is kept as text under extra.<column> rather than lost.
		p.failed[s.col] = true
	}
	for col, failed := range p.failed {
		if failed && !p.consumed[col] {
			p.setExtraString(e, p.fallback[col], cells[col])
		}
	}
	for _, l := range p.leftovers {
		if v := cells[l.col]; v != "" {
			p.setExtraString(e, l.key, v)
		}
	}
	return nil
}

// apply converts v and stores it under the step's field.
func (p *plan) apply(e *event.Event, s *step, v string) error {
	kind := valueString
	if s.conv != nil {
		var err error
		v, kind, err = s.conv.fn(v, &p.row)
		if err != nil {
			return fmt.Errorf("%s: %w", s.conv.name, err)
		}
		if kind == valueNone {
			return nil
		}
	}
	if s.kind != event.KindJSON {
		if kind == valueTime && s.kind == event.KindDateTime {
			// Already canonical: the converter parsed and formatted it.
			e.SetTrusted(s.key, v)
			return nil
		}
		return e.Set(s.key, v)
	}
	switch kind {
	case valueNumber, valueBool:
		e.SetTrusted(s.key, v)
	default:
		p.setExtraString(e, s.key, v)
	}
	return nil
}

// setExtraString stores v as a JSON string; the encoding is ours and always
// valid, so it skips the JSON validation event.Set would repeat.
func (p *plan) setExtraString(e *event.Event, key, v string) {
	p.json = appendJSONString(p.json[:0], v)
	e.SetTrusted(key, string(p.json))
}
