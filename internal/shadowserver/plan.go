package shadowserver

import (
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// RowError says why a row could not become an event. Line is the physical
// line the row starts on (the header is line 1).
type RowError struct {
	Line   int
	Column string // empty when the row as a whole is wrong
	Field  string // the harmonized field the column was going to
	Err    error
}

// InputLine is the line the row starts on, for the pipeline's accounting
// of an input refused after too many dead letters.
func (e *RowError) InputLine() int { return e.Line }

func (e *RowError) Error() string { return e.Explain().String() }

func (e *RowError) Unwrap() error { return e.Err }

// Explain is Error in the reader's language: the reason by its message
// when it has one, else in English (i18n.Reason).
func (e *RowError) Explain() i18n.Message {
	reason := i18n.Reason(e.Err)
	var fe *event.FieldError
	if errors.As(e.Err, &fe) {
		v := fe.Value
		if len(v) > 80 {
			v = v[:77] + "..."
		}
		reason = i18n.M("shadowserver.reason.value", fe.ReasonMessage(), v)
	}
	switch {
	case e.Column != "" && e.Field != "":
		return i18n.M("shadowserver.row.field", e.Line, e.Column, e.Field, reason)
	case e.Column != "":
		return i18n.M("shadowserver.row.column", e.Line, e.Column, reason)
	}
	return i18n.M("pipeline.reject.line", e.Line, reason)
}

// ErrMissing is wrapped by the reason for an empty required date-time cell
// (time.source); other empty required cells leave their field unset.
var ErrMissing error = i18n.NewError("shadowserver.reason.missing")

// plan is a report's mapping resolved against one file's header: column
// positions and field keys are worked out once, not per row. Every field a
// row can produce has a slot, and slots are numbered in key order, so an
// event is assembled by appending, never by inserting.
type plan struct {
	report    *Report
	header    []string
	row       row // index by column name, for converters reading the row
	steps     []step
	leftovers []leftover // columns no mapping mentions: extra.<column>
	// fallback is the extra.<column> slot of each mapped column, used when
	// an optional value does not validate and is kept as text instead;
	// -1 for columns no mapping uses.
	fallback  []int
	constants []slotValue
	keys      []string // slot -> field key, sorted
	rawSlot   int
	// room is how many fields each event has room for beyond its own:
	// what the sink says the pipeline adds to an event of the plan's keys
	// (pipeline.RoomTeller), else event.PipelineRoom.
	room int
	// labels are the fields the sink gives every event that lacks them
	// (pipeline.Labeller), in key order; placed says where build writes
	// each among the slots.
	labels []event.Field
	placed []placedLabel
	// rawHead is the CSV file's header line and a newline, put in front
	// of each row in raw as IntelMQ's CSV parsers do, so that the values
	// can be read with their column names; "" for JSON, whose objects
	// name their values. It is one string every row's event shares
	// (event.SetRawParts) instead of a copy each.
	rawHead string

	// text is the feed's invalid_utf8 and epoch_seconds; replacedBytes
	// and replacedRows count what invalid_utf8: replace repaired.
	text          pipeline.TextOptions
	replacedBytes int
	replacedRows  int
	// unescaped is set for a JSON row whose cells are not all text of
	// the row's source: checkText then checks every cell.
	unescaped bool

	// per-row scratch, reused
	vals     []string // slot -> value; "" is unset
	span     []int    // slot -> index into spans when the value is in row.text, else -1
	spans    []textSpan
	consumed []bool
	failed   []bool
	// arena holds the memory of the events to come (event.Arena): a
	// worker's own, never shared between plans.
	arena event.Arena
}

type step struct {
	col      int // the column, or -1 for a missing one a row-reading converter still runs for
	column   string
	key      string // the field to set; "" ignores the column
	slot     int
	kind     event.Kind
	conv     *converter
	required bool
}

type leftover struct {
	col  int
	slot int
}

type slotValue struct {
	slot  int
	value string
}

type textSpan struct{ start, end int }

// placedLabel is where build writes a label among the slots: before slot
// (len(keys) for after the last), or, when same, in slot's own place,
// where a value of the row wins.
type placedLabel struct {
	slot int
	same bool
}

// Provider is feed.provider of every Shadowserver event, as IntelMQ sets it.
const Provider = "Shadowserver"

// compile resolves r against a header. A required column missing from the
// header makes the whole file unusable. Optional columns missing are fine:
// reports gain and lose columns over time. fileName is the input's base
// name, recorded in extra.file_name.
func (r *Report) compile(header []string, fileName string) (*plan, error) {
	p := &plan{
		room:     event.PipelineRoom,
		report:   r,
		header:   header,
		row:      row{index: make(map[string]int, len(header))},
		fallback: make([]int, len(header)),
		consumed: make([]bool, len(header)),
		failed:   make([]bool, len(header)),
	}
	for i, name := range header {
		if _, dup := p.row.index[name]; !dup {
			p.row.index[name] = i
		}
		p.fallback[i] = -1
	}
	b := &planBuilder{p: p, slots: map[string]int{}, mentioned: make([]bool, len(header))}
	for _, m := range r.required {
		if err := b.add(m, true); err != nil {
			return nil, err
		}
	}
	for _, m := range r.optional {
		if err := b.add(m, false); err != nil {
			return nil, err
		}
	}
	for i, name := range header {
		if !b.mentioned[i] && name != "" {
			p.leftovers = append(p.leftovers, leftover{col: i, slot: b.slot("extra." + name)})
		}
	}
	for _, f := range r.constants {
		p.constants = append(p.constants, slotValue{slot: b.slot(f.Key), value: f.Value})
	}
	// Provenance as IntelMQ records it, whichever collector brought the
	// report: the runner labels events with the configured feed only where
	// the parser set nothing, so these win over the feed's name.
	for _, f := range r.provenance(fileName) {
		p.constants = append(p.constants, slotValue{slot: b.slot(f.Key), value: f.Value})
	}
	p.rawSlot = b.slot("raw")
	p.sortSlots()
	p.vals = make([]string, len(p.keys))
	p.span = make([]int, len(p.keys))
	return p, nil
}

// planBuilder gathers a plan's steps and numbers the event fields they
// write (slots) in order of appearance; sortSlots renumbers them in key
// order once every key is known.
type planBuilder struct {
	p         *plan
	slots     map[string]int
	mentioned []bool // columns some mapping reads
}

func (b *planBuilder) slot(key string) int {
	if n, ok := b.slots[key]; ok {
		return n
	}
	b.slots[key] = len(b.p.keys)
	b.p.keys = append(b.p.keys, key)
	return len(b.p.keys) - 1
}

// add makes the step of one mapping. A required column missing from the
// header fails the report; a missing optional one is skipped.
func (b *planBuilder) add(m mapping, required bool) error {
	p := b.p
	col, ok := p.row.index[m.column]
	if !ok {
		if required {
			return fmt.Errorf("report %s: required column %q (%s) not in the header", p.report.Type, m.column, m.field)
		}
		if m.conv == nil || !m.conv.withRow || m.field == "" {
			return nil
		}
		// A converter that reads other columns (category_or_detail
		// falls back to detail) runs on an empty cell when its own
		// column is missing, so that a report whose JSON objects
		// leave the key out, or set it to null, and its CSV form
		// with or without the column all give the same event.
		col = -1
	} else {
		b.mentioned[col] = true
	}
	s := step{col: col, column: m.column, conv: m.conv, required: required, slot: -1}
	switch {
	case m.field == "":
	case m.field == "extra.":
		s.key = "extra." + m.column
	default:
		s.key = m.field
	}
	if s.key != "" {
		s.kind, _ = event.KindOf(s.key)
		s.slot = b.slot(s.key)
		if !required && col >= 0 && p.header[col] != "" {
			p.fallback[col] = b.slot("extra." + p.header[col])
		}
	}
	p.steps = append(p.steps, s)
	return nil
}

// sortSlots renumbers the slots in key order, so that an event's fields
// come out sorted without sorting each event.
func (p *plan) sortSlots() {
	order := make([]int, len(p.keys))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool { return p.keys[order[i]] < p.keys[order[j]] })
	renumber := make([]int, len(order))
	sorted := make([]string, len(order))
	for newSlot, old := range order {
		renumber[old] = newSlot
		sorted[newSlot] = p.keys[old]
	}
	p.keys = sorted
	for i := range p.steps {
		if p.steps[i].slot >= 0 {
			p.steps[i].slot = renumber[p.steps[i].slot]
		}
	}
	for i := range p.leftovers {
		p.leftovers[i].slot = renumber[p.leftovers[i].slot]
	}
	for i, f := range p.fallback {
		if f >= 0 {
			p.fallback[i] = renumber[f]
		}
	}
	for i := range p.constants {
		p.constants[i].slot = renumber[p.constants[i].slot]
	}
	p.rawSlot = renumber[p.rawSlot]
}

// provenance returns the fields naming where an event came from: the
// provider, the report's feed name and type, and the input's file name.
// The type is the report's file_name ("event4_sinkhole"), not its key in
// the schema: Shadowserver's downloaded schema keys some reports
// differently ("event_sinkhole") from Vigil's built-in one, and feed.code
// must not change when a team starts loading it.
// A value that does not validate (a feed_name from a downloaded schema
// holding a NUL, say) is left out rather than failing the report.
func (r *Report) provenance(fileName string) []event.Field {
	fields := make([]event.Field, 0, 4)
	for _, f := range []event.Field{
		{Key: "feed.provider", Value: Provider},
		{Key: "feed.name", Value: r.FeedName},
		{Key: "feed.code", Value: r.FileName},
	} {
		if v, err := event.Normalize(f.Key, f.Value); err == nil && v != "" {
			fields = append(fields, event.Field{Key: f.Key, Value: v})
		}
	}
	if fileName != "" && event.TextProblem(fileName) == "" {
		fields = append(fields, event.Field{Key: "extra.file_name", Value: string(event.AppendJSONString(nil, fileName))})
	}
	return fields
}

// build makes the event of one row; rec is the row's source text.
func (p *plan) build(cells []string, rec []byte, recText string, line int) (*event.Event, error) {
	clear(p.vals)
	for i := range p.span {
		p.span[i] = -1
	}
	p.spans = p.spans[:0]
	p.row.text = p.row.text[:0]
	clear(p.consumed)
	clear(p.failed)
	if err := p.checkText(cells, rec, line); err != nil {
		return nil, err
	}
	for _, c := range p.constants {
		p.vals[c.slot] = c.value
	}
	p.row.cells = cells
	for i := range p.steps {
		s := &p.steps[i]
		v := ""
		if s.col >= 0 {
			v = cells[s.col]
		}
		if v == "" && (s.conv == nil || !s.conv.withRow) {
			// An empty required cell leaves its field unset and the row
			// is read, as in IntelMQ, whose Event.add ignores an empty
			// value and whose converters turn an empty cell into None.
			// The one exception is a date-time: IntelMQ's
			// add_UTC_to_timestamp makes " UTC" of an empty cell, which
			// fails the row, and an event without its time cannot be
			// placed, so the row goes to the dead letters here too.
			if s.required && s.kind == event.KindDateTime {
				return nil, &RowError{Line: line, Column: s.column, Field: s.key, Err: ErrMissing}
			}
			continue
		}
		if s.key == "" {
			p.markConsumed(s.col)
			continue
		}
		converterFailed, err := p.apply(s, v)
		if err == nil {
			p.markConsumed(s.col)
			continue
		}
		if s.required {
			if converterFailed {
				err = i18n.Wrap(err, "shadowserver.reason.converter", s.conv.name)
			}
			return nil, &RowError{Line: line, Column: s.column, Field: s.key, Err: err}
		}
		// As IntelMQ does, an optional value that does not fit its field
		// is kept as text under extra.<column> rather than lost.
		if s.col >= 0 {
			p.failed[s.col] = true
		}
	}
	for col, failed := range p.failed {
		if failed && !p.consumed[col] && p.fallback[col] >= 0 {
			p.setJSONString(p.fallback[col], cells[col])
		}
	}
	for _, l := range p.leftovers {
		if v := cells[l.col]; v != "" {
			p.setJSONString(l.slot, v)
		}
	}
	// raw is the source text, as IntelMQ keeps it: for CSV the header
	// line, a newline and the row. The row goes into the event with
	// SetRawParts after the header line the report's events share, which
	// keeps them so: base64, IntelMQ's form of raw, is made only where
	// raw is read as text, not for every row on its way to the store.
	// The row is recText when the caller has rec as a string already (of
	// which the cells are parts), else a copy in the row's text.
	if recText == "" {
		start := len(p.row.text)
		p.row.text = append(p.row.text, rec...)
		p.setSpan(p.rawSlot, start)
	}

	// One string holds every generated value of the row.
	text := string(p.row.text)
	for slot, sp := range p.span {
		if sp >= 0 {
			p.vals[slot] = text[p.spans[sp].start:p.spans[sp].end]
		}
	}
	if recText != "" {
		p.vals[p.rawSlot] = recText
	}
	// The slots are in key order and raw is not among the fields, so the
	// fields are written straight into the event, with room for the
	// fields the pipeline adds later.
	n := 0
	for slot, v := range p.vals {
		if v != "" && slot != p.rawSlot {
			n++
		}
	}
	for _, l := range p.placed {
		if !l.same || p.vals[l.slot] == "" {
			n++
		}
	}
	e, fields := p.arena.MakeSorted(n, p.room)
	n = 0
	next := 0 // the next label to write
	for slot, v := range p.vals {
		for ; next < len(p.placed) && p.placed[next].slot == slot; next++ {
			if !p.placed[next].same {
				fields[n] = p.labels[next]
				n++
			} else if v == "" {
				v = p.labels[next].Value
			}
		}
		if v != "" && slot != p.rawSlot {
			fields[n] = event.Field{Key: p.keys[slot], Value: v}
			n++
		}
	}
	for ; next < len(p.placed); next++ {
		fields[n] = p.labels[next]
		n++
	}
	if raw := p.vals[p.rawSlot]; raw != "" || p.rawHead != "" {
		e.SetRawParts(p.rawHead, raw)
	}
	return e, nil
}

// leaveRoomFor sets the room the events leave for what the pipeline adds
// to what sink says of events with the plan's keys, if it says.
func (p *plan) leaveRoomFor(sink pipeline.Sink) {
	if t, ok := sink.(pipeline.RoomTeller); ok {
		p.room = max(t.Room(p.keys), 0)
	}
	if l, ok := sink.(pipeline.Labeller); ok {
		p.placeLabels(l.Labels())
	}
}

// placeLabels makes build write labels (a pipeline.Labeller's) among the
// slots, and leaves that much less room. Labels that are not in strictly
// increasing key order, or with raw among them, are left to the sink.
func (p *plan) placeLabels(labels []event.Field) {
	for i, l := range labels {
		if l.Key == "raw" || i > 0 && labels[i-1].Key >= l.Key {
			return
		}
	}
	p.labels = labels
	p.place()
	p.room = max(p.room-len(labels), 0)
}

// place works out where build writes p.labels among the slots.
func (p *plan) place() {
	p.placed = make([]placedLabel, len(p.labels))
	for i, l := range p.labels {
		slot, same := slices.BinarySearch(p.keys, l.Key)
		p.placed[i] = placedLabel{slot: slot, same: same}
	}
}

// markConsumed notes that a column's value went to its field; col is -1
// for a missing column.
func (p *plan) markConsumed(col int) {
	if col >= 0 {
		p.consumed[col] = true
	}
}

// apply converts v and stores it in the step's slot. Harmonized fields are
// validated and normalized by event.Normalize, exactly as event.Set does.
// converterFailed says the error is the converter's, which the caller
// names when the error is shown: most are not (an optional value that
// fails is kept as text), and naming it costs more than the conversion.
func (p *plan) apply(s *step, v string) (converterFailed bool, err error) {
	kind := valueString
	start := len(p.row.text)
	if s.conv != nil {
		v, kind, err = s.conv.fn(v, &p.row)
		if err != nil {
			p.row.text = p.row.text[:start]
			return true, err
		}
		if kind == valueNone {
			return false, nil
		}
	}
	if kind == valueTime {
		// The converter wrote a canonical date-time to row.text.
		switch s.kind {
		case event.KindDateTime:
			p.setSpan(s.slot, start)
			return false, nil
		case event.KindJSON:
			// Date-times have nothing to escape: quoting them is enough.
			var tmp [40]byte
			n := copy(tmp[:], p.row.text[start:])
			p.row.text = append(p.row.text[:start], '"')
			p.row.text = append(p.row.text, tmp[:n]...)
			p.row.text = append(p.row.text, '"')
			p.setSpan(s.slot, start)
			return false, nil
		}
		v = string(p.row.text[start:])
		p.row.text = p.row.text[:start]
		kind = valueString
	}
	if s.kind != event.KindJSON {
		if canonical(s.kind, v) {
			p.setValue(s.slot, v)
			return false, nil
		}
		n, err := event.NormalizeWith(event.InputRules{EpochSeconds: p.text.EpochSeconds}, s.key, v)
		if err != nil {
			return false, err
		}
		p.setValue(s.slot, n)
		return false, nil
	}
	switch kind {
	case valueNumber, valueBool:
		p.setValue(s.slot, v)
	default:
		p.setJSONString(s.slot, v)
	}
	return false, nil
}

func (p *plan) setValue(slot int, v string) {
	p.vals[slot] = v
	p.span[slot] = -1
}

// setJSONString stores v as a JSON string; the encoding is ours and always
// valid, so it skips the JSON validation event.Set would repeat.
func (p *plan) setJSONString(slot int, v string) {
	start := len(p.row.text)
	p.row.text = appendJSONString(p.row.text, v)
	p.setSpan(slot, start)
}

func (p *plan) setSpan(slot, start int) {
	p.span[slot] = len(p.spans)
	p.spans = append(p.spans, textSpan{start, len(p.row.text)})
}

// forWorker returns a copy of the plan for one more goroutine: what was
// compiled is shared, read only; the per-row scratch and the counts of
// repaired text are its own.
func (p *plan) forWorker() *plan {
	w := *p
	w.row = row{index: p.row.index, epochSeconds: p.row.epochSeconds}
	w.consumed = make([]bool, len(p.consumed))
	w.failed = make([]bool, len(p.failed))
	w.vals = make([]string, len(p.vals))
	w.span = make([]int, len(p.span))
	w.spans = nil
	w.arena = event.Arena{}
	w.replacedBytes, w.replacedRows = 0, 0
	return &w
}
