package notify

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/export"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/taxonomy"
)

// renderer turns the events of one message into MIME entities, from the
// built-in templates or the team's overrides.
type renderer struct {
	cfg      Config
	zone     *time.Location
	team     TeamData
	builtins map[string]*Template
	log      *slog.Logger

	// buffers hold CSV files between messages: a file is needed only
	// until its message's entity is built.
	buffers sync.Pool
	// lent counts the buffers handed out and not yet released: every
	// rendered message must be given back (done), or its files' buffers
	// never return to the pool.
	lent atomic.Int64
	// compressors are gzip writers to reuse: each holds several hundred
	// KB of state.
	compressors sync.Pool
	// messages hold the arrays of entities and signed messages between
	// messages: a pass's workers need each only until its message is
	// packed (recycle, pass.renderAll).
	messages sizedPool

	mu        sync.RWMutex
	overrides map[string]*Template
	// strict makes a failing override an error instead of a fallback to
	// the built-in: previews show the editor what is wrong.
	strict bool
}

func newRenderer(cfg Config, log *slog.Logger) (*renderer, error) {
	zone, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("notify: time zone: %w", err)
	}
	builtins, err := loadBuiltins(zone)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	t := teamOf(cfg.From)
	return &renderer{cfg: cfg, zone: zone, team: TeamData(t), builtins: builtins, log: log, overrides: map[string]*Template{}}, nil
}

// setOverrides replaces the team's templates. One that does not parse
// (saved before validation existed, or by another tool) is logged and
// left out: the built-in serves instead.
func (r *renderer) setOverrides(list []TemplateSource) {
	m := make(map[string]*Template, len(list))
	for _, t := range list {
		p, err := parseTemplate(t, r.zone)
		if err != nil {
			r.log.Error("notification template override does not parse; the built-in is used", "language", t.Language, "name", t.Name, "err", err)
			continue
		}
		m[t.Language+"/"+t.Name] = p
	}
	r.mu.Lock()
	r.overrides = m
	r.mu.Unlock()
}

// withOverride returns a strict copy of r in which t overrides the stored
// template of its language and name, for previews of unsaved drafts.
func (r *renderer) withOverride(t *Template) *renderer {
	c := &renderer{cfg: r.cfg, zone: r.zone, team: r.team, builtins: r.builtins, log: r.log, strict: true}
	r.mu.RLock()
	c.overrides = make(map[string]*Template, len(r.overrides)+1)
	for k, v := range r.overrides {
		c.overrides[k] = v
	}
	r.mu.RUnlock()
	if t != nil {
		c.overrides[t.Language+"/"+t.Name] = t
	}
	return c
}

func (r *renderer) override(key string) *Template {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.overrides[key]
}

// message renders the subject and body of the message template
// lang/name: the team's override when there is one and both its parts
// execute, else the built-in (a message never mixes the two). The body is
// appended to dst.
func (r *renderer) message(dst []byte, lang, name string, data MessageData) (subject string, body []byte, err error) {
	run := func(t *Template) (string, []byte, error) {
		s, err := t.executeSubject(data)
		if err != nil {
			return "", dst, err
		}
		b, err := t.appendBody(dst, data)
		return s, b, err
	}
	if o := r.override(lang + "/" + name); o != nil {
		s, b, err := run(o)
		if err == nil {
			return s, b, nil
		}
		if r.strict {
			return "", dst, err
		}
		r.log.Error("notification template override fails; the built-in is used", "language", lang, "name", name, "err", err)
	}
	t := r.builtins[lang+"/"+name]
	if t == nil {
		return "", dst, fmt.Errorf("no built-in template %s/%s", lang, name)
	}
	return run(t)
}

// explain renders the explanation of one classification type: the
// type's own template (override, then built-in), else the generic one.
// An override that fails is logged and the built-in used.
func (r *renderer) explain(lang string, data TypeData) (string, error) {
	name := TypePrefix + data.Type
	if r.override(lang+"/"+name) == nil && r.builtins[lang+"/"+name] == nil {
		name = TypePrefix + GenericType
	}
	s, err := r.executeType(lang, name, data)
	return strings.TrimRight(s, "\n"), err
}

// executeType runs the override of lang/name if there is one, falling
// back to the built-in when it fails, and the built-in otherwise.
func (r *renderer) executeType(lang, name string, data TypeData) (string, error) {
	if o := r.override(lang + "/" + name); o != nil {
		s, err := o.executeType(data)
		if err == nil {
			return s, nil
		}
		if r.strict {
			return "", err
		}
		r.log.Error("notification template override fails; the built-in is used", "language", lang, "name", name, "err", err)
	}
	b := r.builtins[lang+"/"+name]
	if b == nil {
		return "", fmt.Errorf("no built-in template %s/%s", lang, name)
	}
	return b.executeType(data)
}

// renderInput is one notification to render: the new events of one kind
// for one organisation.
type renderInput struct {
	Kind     string // NameDigest or NameImmediate
	Org      constituency.Organisation
	Language string
	Format   string
	Type     string // immediate: the classification type
	Events   []store.StoredEvent
	// Seqs are the queue entries of Events, one each: renderAll needs
	// them for the messages it commits; a preview leaves them out.
	Seqs []int64
	// Repeats go into the first part of a digest.
	Repeats     []Repeat
	MoreRepeats int
	Now         time.Time
}

// rendered is one message before signing: the subject and the MIME
// entity, and the events it reports.
type rendered struct {
	kind        string // NameDigest or NameImmediate
	Subject     string
	Entity      []byte
	Events      []event.Hash
	Part, Parts int
	// first is the index in the renderInput's Events of the first of
	// Events: a message's events are the next of the input's.
	first int
	// text and attachments are kept for previews.
	text        string
	attachments []Attachment
	// runs are where the entity's attachments lie in base64, and the
	// bytes they encode, parts of files: for packing the message
	// (packBody), after which files are released (renderer.done).
	runs  []outbox.Base64Run
	files []attachmentFile
	// entity is the array Entity is in, and textBuf the one text is
	// in, from renderer.messages, given back by recycle.
	entity, textBuf *[]byte
}

// attachmentFile is a rendered attachment.
type attachmentFile struct {
	Attachment
	ContentType string
	Data        []byte
	// buffer holds Data when it came from renderer.buffers.
	buffer *[]byte
}

// maxPooledBytes bounds the buffers kept for reuse, so that one very
// large file does not stay in memory for the rest of the run.
const maxPooledBytes = 4 << 20

func (r *renderer) buffer() *[]byte {
	r.lent.Add(1)
	if b, ok := r.buffers.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 64<<10)
	return &b
}

func (r *renderer) releaseBuffer(b *[]byte) {
	if b != nil {
		r.lent.Add(-1)
	}
	if b != nil && cap(*b) <= maxPooledBytes {
		*b = (*b)[:0]
		r.buffers.Put(b)
	}
}

// release returns the buffers of files, which must not be used after.
func (r *renderer) release(files ...[]attachmentFile) {
	for _, list := range files {
		for i := range list {
			r.releaseBuffer(list[i].buffer)
			list[i].buffer, list[i].Data = nil, nil
		}
	}
}

// The queue hands out events without store.NotificationWithheld; the
// renderer leaves them out too, for events that come from elsewhere
// (previews).

// render splits in into as many messages as its thresholds need and renders
// each: a notification with more than MaxEventsPerMessage events, or whose
// attachments (after compression) exceed MaxAttachmentBytes, becomes
// several numbered messages ("part 2 of 3") of about equal size.
func (r *renderer) render(in renderInput) ([]rendered, error) {
	if len(in.Events) == 0 {
		return nil, nil
	}
	columns, err := csvColumns(in.Events)
	if err != nil {
		return nil, err
	}
	base := in.Org.Handle
	if in.Kind == NameImmediate && in.Type != "" {
		base += "-" + in.Type
	}
	base += "-" + in.Now.In(r.zone).Format("20060102T1504")

	// Cut into parts of at most size events, of about equal length, and
	// make the parts smaller while one's attachments are too large. size
	// shrinks every round, so this ends (at one event a part, which is
	// sent however large it is).
	n := len(in.Events)
	size := min(n, r.cfg.MaxEventsPerMessage)
	var chunks [][]store.StoredEvent
	var files [][]attachmentFile
	for {
		chunks = split(in.Events, (n+size-1)/size)
		files = make([][]attachmentFile, len(chunks))
		smaller := 0
		for i, c := range chunks {
			name := base
			if len(chunks) > 1 {
				name = fmt.Sprintf("%s-part%d", base, i+1)
			}
			if files[i], err = r.attachments(in.Format, name, c, columns); err != nil {
				r.release(files...)
				return nil, err
			}
			if bytes := attachmentBytes(files[i]); bytes > r.cfg.MaxAttachmentBytes && len(c) > 1 {
				// As many events as would have fitted, a little fewer.
				smaller = max(1, min(len(c)-1, int(int64(len(c))*r.cfg.MaxAttachmentBytes/bytes*9/10)))
				break
			}
		}
		if smaller == 0 {
			break
		}
		r.release(files...)
		size = smaller
	}

	out := make([]rendered, 0, len(chunks))
	first := 0
	for i, c := range chunks {
		m, err := r.renderPart(in, c, files[i], i+1, len(chunks))
		if err != nil {
			r.release(files...)
			return nil, err
		}
		m.first = first
		first += len(c)
		// The entity holds the files now; its runs refer to them until
		// the message is packed (done).
		m.files = files[i]
		out = append(out, m)
	}
	return out, nil
}

// done releases what m holds for packing: its runs are not valid after.
func (r *renderer) done(m *rendered) {
	r.release(m.files)
	m.files, m.runs = nil, nil
}

// recycle is done, and gives m's entity back for the next message's:
// neither is used after. (A preview, which shows the entity, is done
// with the files only.)
func (r *renderer) recycle(m *rendered) {
	r.done(m)
	r.messages.put(m.entity)
	r.messages.put(m.textBuf)
	m.entity, m.Entity, m.textBuf, m.text = nil, nil, nil, ""
}

// split cuts events into parts slices of about equal length.
func split(events []store.StoredEvent, parts int) [][]store.StoredEvent {
	parts = max(1, min(parts, len(events)))
	size := (len(events) + parts - 1) / parts
	var out [][]store.StoredEvent
	for len(events) > 0 {
		k := min(size, len(events))
		out = append(out, events[:k:k])
		events = events[k:]
	}
	return out
}

func attachmentBytes(files []attachmentFile) int64 {
	var n int64
	for _, f := range files {
		n += int64(len(f.Data))
	}
	return n
}

// csvColumns is every field present in the events, in export's order,
// without the withheld ones; every part of a message gets the same header.
func csvColumns(events []store.StoredEvent) ([]string, error) {
	all, err := export.FieldsPresent(export.Slice(events))
	if err != nil {
		return nil, fmt.Errorf("attachment columns: %w", err)
	}
	return slices.DeleteFunc(all, func(c string) bool { return slices.Contains(store.NotificationWithheld, c) }), nil
}

// attachments renders the files of one message in format.
func (r *renderer) attachments(format, base string, events []store.StoredEvent, columns []string) ([]attachmentFile, error) {
	switch format {
	case FormatXARF:
		reporter := reporterOf(r.team)
		files := make([]attachmentFile, 0, len(events))
		width := len(fmt.Sprint(len(events)))
		for i, e := range events {
			b, err := xarfReport(e, reporter)
			if err != nil {
				return nil, err
			}
			files = append(files, attachmentFile{
				Attachment:  Attachment{Name: fmt.Sprintf("%s-xarf-%0*d.json", base, width, i+1), Events: 1},
				ContentType: "application/json",
				Data:        b,
			})
		}
		return files, nil
	case FormatJSON:
		var b bytes.Buffer
		stripped := make([]store.StoredEvent, len(events))
		for i, e := range events {
			stripped[i] = store.StoredEvent{Hash: e.Hash, Stored: e.Stored, Event: withoutWithheld(e.Event)}
		}
		if err := export.WriteJSONLines(&b, export.Slice(stripped)); err != nil {
			return nil, fmt.Errorf("JSON attachment: %w", err)
		}
		return r.maybeGzip(base+".jsonl", "application/x-ndjson", b.Bytes(), len(events))
	default:
		buf := r.buffer()
		data, err := export.AppendCSV(*buf, export.Slice(events), export.CSVOptions{Columns: columns})
		*buf = data
		if err != nil {
			return nil, fmt.Errorf("CSV attachment: %w", err)
		}
		files, err := r.maybeGzip(base+".csv", "text/csv", data, len(events))
		if err != nil {
			return nil, err
		}
		if files[0].Gzipped {
			r.releaseBuffer(buf)
		} else {
			files[0].buffer = buf
		}
		return files, nil
	}
}

// withoutWithheld returns e without the withheld fields, copying it only
// when it has some.
func withoutWithheld(e *event.Event) *event.Event {
	if !slices.ContainsFunc(store.NotificationWithheld, e.Has) {
		return e
	}
	c := e.Clone()
	store.WithoutWithheld(c)
	return c
}

// maybeGzip compresses a file larger than GzipAboveBytes. The gzip header
// carries no name or time, so the same file compresses to the same bytes.
func (r *renderer) maybeGzip(name, contentType string, data []byte, events int) ([]attachmentFile, error) {
	f := attachmentFile{Attachment: Attachment{Name: name, Events: events}, ContentType: contentType, Data: data}
	if r.cfg.GzipAboveBytes > 0 && int64(len(data)) > r.cfg.GzipAboveBytes {
		var b bytes.Buffer
		b.Grow(len(data) / 4)
		w, ok := r.compressors.Get().(*gzip.Writer)
		if ok {
			w.Reset(&b)
		} else {
			w, _ = gzip.NewWriterLevel(&b, gzip.DefaultCompression)
		}
		if _, err := w.Write(data); err != nil {
			return nil, fmt.Errorf("gzip %s: %w", name, err)
		}
		if err := w.Close(); err != nil {
			return nil, fmt.Errorf("gzip %s: %w", name, err)
		}
		r.compressors.Put(w)
		f.Name += ".gz"
		f.ContentType = "application/gzip"
		f.Data = b.Bytes()
		f.Gzipped = true
	}
	return []attachmentFile{f}, nil
}

// tableColumns are the candidates for the text's event table, shown when
// at least one listed event has them.
var tableColumns = []string{
	"time.source", "source.ip", "source.port", "source.fqdn", "source.url",
	"destination.port", "classification.identifier", "malware.name", "protocol.application",
}

// renderPart renders one message of a notification.
func (r *renderer) renderPart(in renderInput, events []store.StoredEvent, files []attachmentFile, part, parts int) (rendered, error) {
	org := OrgData{Handle: in.Org.Handle, Name: in.Org.Name, Sector: in.Org.Sector, Country: in.Org.Country}
	if org.Name == "" {
		org.Name = org.Handle
	}
	data := MessageData{
		Kind: in.Kind, Language: in.Language, Format: in.Format,
		Org: org, Team: r.team, Type: in.Type,
		Events: len(events), Total: len(in.Events), Part: part, Parts: parts,
		PortalURL:  r.cfg.PortalURL,
		WindowDays: int((r.cfg.Window + 12*time.Hour) / (24 * time.Hour)),
		Date:       in.Now,
	}
	if part == 1 {
		data.Repeats, data.MoreRepeats = in.Repeats, in.MoreRepeats
	}
	for _, f := range files {
		data.Attachments = append(data.Attachments, f.Attachment)
	}
	hashes := make([]event.Hash, len(events))
	for i, e := range events {
		hashes[i] = hashOf(e)
	}
	data.First, data.Last = timeBounds(events)
	groups := byType(events, r.cfg.TableRows)
	// Most events first: the biggest problem leads the message.
	sort.Slice(groups, func(i, j int) bool {
		if groups[i].count != groups[j].count {
			return groups[i].count > groups[j].count
		}
		return groups[i].typ < groups[j].typ
	})
	data.Sections = make([]Section, 0, len(groups))
	for _, g := range groups {
		s, err := r.section(in.Language, org, g)
		if err != nil {
			return rendered{}, err
		}
		data.Sections = append(data.Sections, s)
	}
	// The body is rendered into an array of the pool, given back once
	// reflowed, and the text reflowed into another, given back with the
	// entity's (recycle): the entity holds the text encoded.
	bodyBuf := r.messages.get(0)
	subject, raw, err := r.message((*bodyBuf)[:0], in.Language, in.Kind, data)
	*bodyBuf = raw
	if err != nil {
		r.messages.put(bodyBuf)
		return rendered{}, err
	}
	textBuf := r.messages.get(len(raw) + len(raw)/16)
	*textBuf = appendReflowed((*textBuf)[:0], unsafe.String(unsafe.SliceData(raw), len(raw)), textWidth)
	r.messages.put(bodyBuf)
	body := unsafe.String(unsafe.SliceData(*textBuf), len(*textBuf))
	mimeParts := make([]mimePart, 0, 1+len(files))
	mimeParts = append(mimeParts, textPart(body))
	for _, f := range files {
		mimeParts = append(mimeParts, filePart(f.ContentType, f.Name, f.Data))
	}
	buf := r.messages.get(multipartSize(mimeParts))
	entity, runs := multipartMixedRuns(*buf, mimeParts)
	*buf = entity
	return rendered{kind: in.Kind, Subject: subject, Entity: entity, Events: hashes, Part: part, Parts: parts,
		text: body, attachments: data.Attachments, runs: runs, entity: buf, textBuf: textBuf}, nil
}

// typeGroup is what a section tells of the events of one classification
// type: how many there are, their identifiers (as they are, each once, in
// the order they first occur) and the first of them, in their order, for
// its table.
type typeGroup struct {
	typ         string
	count       int
	identifiers []string
	shown       []store.StoredEvent
	seen        map[string]bool // identifiers, once a type has many
}

// byType groups events by classification.type, in the order the types
// first occur, keeping the first rows events of each. A message has a
// handful of types: a list finds them faster than a map. The events are
// not copied by group: a section lists only its first rows (a morning's
// pass would otherwise copy a million events, 75 MB).
func byType(events []store.StoredEvent, rows int) []typeGroup {
	var groups []typeGroup
	last, nearType, nearID := -1, 0, 0
	for _, e := range events {
		typ, _ := e.Event.GetNear("classification.type", &nearType)
		if last < 0 || groups[last].typ != typ {
			last = -1
			for g := range groups {
				if groups[g].typ == typ {
					last = g
					break
				}
			}
			if last < 0 {
				last = len(groups)
				groups = append(groups, typeGroup{typ: typ})
			}
		}
		g := &groups[last]
		g.count++
		if id, _ := e.Event.GetNear("classification.identifier", &nearID); id != "" && !g.has(id) {
			g.identifiers = append(g.identifiers, id)
		}
	}
	// The first rows of each, in one array, found again from the start
	// until every group has its own.
	shown, left := 0, 0
	for g := range groups {
		shown += min(groups[g].count, rows)
	}
	all := make([]store.StoredEvent, 0, shown)
	for g := range groups {
		n := min(groups[g].count, rows)
		groups[g].shown = all[len(all) : len(all) : len(all)+n]
		all = all[:len(all)+n]
		left += n
	}
	last = -1
	for _, e := range events {
		if left == 0 {
			break
		}
		typ, _ := e.Event.GetNear("classification.type", &nearType)
		if last < 0 || groups[last].typ != typ {
			for g := range groups {
				if groups[g].typ == typ {
					last = g
					break
				}
			}
		}
		if g := &groups[last]; len(g.shown) < cap(g.shown) {
			g.shown = append(g.shown, e)
			left--
		}
	}
	return groups
}

// has reports whether id is one of g's identifiers. A type has a few: a
// look through the list finds one faster than a map, kept for a type
// with many (seen).
func (g *typeGroup) has(id string) bool {
	if g.seen != nil {
		if g.seen[id] {
			return true
		}
		g.seen[id] = true
		return false
	}
	if slices.Contains(g.identifiers, id) {
		return true
	}
	if len(g.identifiers) >= 16 {
		g.seen = make(map[string]bool, 2*len(g.identifiers))
		for _, known := range g.identifiers {
			g.seen[known] = true
		}
		g.seen[id] = true
	}
	return false
}

// timeBounds returns the earliest and the latest time.source of events
// (zero when none has one). Times in the canonical form compare as text,
// so only the few that are earlier or later than all before them are
// parsed; any other form takes the slow path of parsing every time.
func timeBounds(events []store.StoredEvent) (first, last time.Time) {
	var lo, hi string
	near := 0
	for _, e := range events {
		v, ok := e.Event.GetNear("time.source", &near)
		if !ok {
			continue
		}
		if !canonicalTime(v) {
			return timeBoundsParsed(events)
		}
		if lo == "" || v < lo {
			if t, err := event.ParseTime(v); err == nil {
				lo, first = v, t
			}
		}
		if hi == "" || v > hi {
			if t, err := event.ParseTime(v); err == nil {
				hi, last = v, t
			}
		}
	}
	return first, last
}

// canonicalTime reports whether v has the form event.FormatTime gives,
// from 1970 on: such times are never zero, and sort as text as they do
// in time.
func canonicalTime(v string) bool { return event.SortsAsTime(v) && v[:4] >= "1970" }

// timeBoundsParsed is timeBounds parsing every time.
func timeBoundsParsed(events []store.StoredEvent) (first, last time.Time) {
	for _, e := range events {
		if t, ok := e.Event.Time("time.source"); ok {
			if first.IsZero() || t.Before(first) {
				first = t
			}
			if t.After(last) {
				last = t
			}
		}
	}
	return first, last
}

// section renders the explanation and the table of one type's events.
func (r *renderer) section(lang string, org OrgData, g typeGroup) (Section, error) {
	typ := g.typ
	s := Section{Type: typ, Count: g.count}
	if typ == "" {
		s.Type = "unknown"
	}
	s.Taxonomy, _ = taxonomy.TaxonomyOf(typ)
	// g's own list, which nothing reads after.
	s.Identifiers = g.identifiers
	for i, id := range s.Identifiers {
		s.Identifiers[i] = printableLine(id)
	}
	sort.Strings(s.Identifiers)
	var err error
	s.Explanation, err = r.explain(lang, TypeData{Type: s.Type, Taxonomy: s.Taxonomy, Identifiers: s.Identifiers, Count: s.Count, Org: org, Language: lang})
	if err != nil {
		return s, err
	}
	shown := g.shown
	s.Shown, s.More = len(shown), g.count-len(shown)
	if len(shown) > 0 {
		// Written into a buffer of the templates' pool: only its
		// indented copy is kept.
		b := executeBuffers.Get().(*bytes.Buffer)
		defer func() {
			if b.Cap() <= 1<<20 {
				b.Reset()
				executeBuffers.Put(b)
			}
		}()
		if err := export.WriteTable(b, export.Slice(shown), export.TableOptions{Columns: tableColumnsOf(shown), MaxWidth: 64}); err != nil {
			return s, fmt.Errorf("event table: %w", err)
		}
		// Indented, the table is preformatted text that reflow leaves alone.
		s.Table = indent(bytes.TrimRight(b.Bytes(), "\n"), "  ")
	}
	return s, nil
}

// repeatedInTitle are table columns whose value the section title already
// gives when every listed event has the same one.
var repeatedInTitle = map[string]bool{"classification.identifier": true, "malware.name": true, "protocol.application": true}

// tableColumnsOf picks the table columns for events: the candidates some
// event has, without those that only repeat one value the title shows.
func tableColumnsOf(events []store.StoredEvent) []string {
	var cols []string
	for _, c := range tableColumns {
		// Whether no event has c, or all that do the same value.
		first, present, differ := "", false, false
		near := 0 // where the event before had c (GetNear)
		for _, e := range events {
			v, ok := e.Event.GetNear(c, &near)
			if !ok {
				continue
			}
			if !present {
				first, present = v, true
			} else if v != first {
				differ = true
				break
			}
		}
		if !present || (repeatedInTitle[c] && !differ) {
			continue
		}
		cols = append(cols, c)
	}
	if len(cols) == 0 {
		cols = []string{export.HashColumn}
	}
	return cols
}
