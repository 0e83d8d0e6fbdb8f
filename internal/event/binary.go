package event

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"unsafe"
)

// Batches travel between pipeline stages (over JetStream) and events rest in
// the stores in a compact binary form. Decoding it needs no validation,
// since only Vigil writes it. Harmonized names are written as small
// numbers, and raw as its bytes rather than base64: an event of a wide
// Shadowserver report shrinks to about half its size, and so does the I/O
// of storing it.
//
//	batch  := uvarint(count) record*
//	record := uvarint(fields) field*
//	field  := uvarint(code) [string(key) if code == 0] string(value)
//	string := uvarint(len) bytes
//
// code is 1 + the name's index in recordNames; raw's value is the decoded
// bytes.

// recordNames numbers the harmonized names in records. Stored data depends
// on it: append new names at the end, never reorder or remove.
var recordNames = []string{
	"classification.identifier", "classification.taxonomy", "classification.type",
	"comment", "destination.abuse_contact", "destination.account",
	"destination.allocated", "destination.as_name", "destination.asn",
	"destination.domain_suffix", "destination.fqdn", "destination.geolocation.cc",
	"destination.geolocation.cc_city", "destination.geolocation.city", "destination.geolocation.country",
	"destination.geolocation.latitude", "destination.geolocation.longitude", "destination.geolocation.region",
	"destination.geolocation.state", "destination.ip", "destination.local_hostname",
	"destination.local_ip", "destination.network", "destination.port",
	"destination.registry", "destination.reverse_dns", "destination.tor_node",
	"destination.url", "destination.urlpath", "event_description.target",
	"event_description.text", "event_description.url", "event_hash",
	"feed.accuracy", "feed.code", "feed.documentation",
	"feed.name", "feed.provider", "feed.url",
	"malware.hash.md5", "malware.hash.sha1", "malware.hash.sha256",
	"malware.name", "malware.version", "misp.attribute_uuid",
	"misp.event_uuid", "protocol.application", "protocol.transport",
	"raw", "rtir_id", "screenshot_url",
	"source.abuse_contact", "source.account", "source.allocated",
	"source.as_name", "source.asn", "source.domain_suffix",
	"source.fqdn", "source.geolocation.cc", "source.geolocation.cc_city",
	"source.geolocation.city", "source.geolocation.country", "source.geolocation.latitude",
	"source.geolocation.longitude", "source.geolocation.region", "source.geolocation.state",
	"source.ip", "source.local_hostname", "source.local_ip",
	"source.network", "source.port", "source.registry",
	"source.reverse_dns", "source.tor_node", "source.url",
	"source.urlpath", "status", "time.observation",
	"time.source", "tlp",
}

var recordCodes = func() map[string]uint64 {
	m := make(map[string]uint64, len(recordNames))
	for i, n := range recordNames {
		m[n] = uint64(i + 1)
	}
	return m
}()

var rawCode = recordCodes["raw"]

// RecordCode returns the code a record writes for the field key, 0 when
// it writes the key itself.
func RecordCode(key string) uint64 { return recordCodes[key] }

// ErrBadBatch is returned for a batch or record that does not decode.
var ErrBadBatch = errors.New("malformed event batch")

// AppendRecord appends one event in the compact form.
func AppendRecord(b []byte, e *Event) []byte { return e.appendRecord(b, false, nil) }

// appendRecord is AppendRecord; withoutHead leaves raw's head held apart
// out of raw's value (AppendBatchHeads writes it once a batch). c, when
// not nil, remembers the names of the events written before and their
// codes, which the events of one report share: a batch's names are then
// found again by comparing strings that are mostly the same string,
// instead of looking each up in recordCodes (half of what writing a
// record cost in a profile of the bus's batches).
func (e *Event) appendRecord(b []byte, withoutHead bool, c *RecordCoder) []byte {
	b = binary.AppendUvarint(b, uint64(e.Len()))
	// raw held as bytes is written as it is, in its place among the
	// names (raw is not one of e.fields then).
	raw := e.hasRaw()
	next := 0  // recordNames before next sort before the keys so far
	shift := 0 // where the last key was found among the remembered, from i
	for i, f := range e.fields {
		if raw && f.Key >= "raw" {
			b = e.appendRawRecord(b, withoutHead)
			raw = false
		}
		code := c.code(f.Key, i, &shift, &next)
		if code == rawCode {
			if nb, ok := appendRawBytes(b, f.Value); ok {
				b = nb
				continue
			}
			code = 0 // not base64 after all: keep it as text
		}
		b = binary.AppendUvarint(b, code)
		if code == 0 {
			b = binary.AppendUvarint(b, uint64(len(f.Key)))
			b = append(b, f.Key...)
		}
		b = binary.AppendUvarint(b, uint64(len(f.Value)))
		b = append(b, f.Value...)
	}
	if raw {
		b = e.appendRawRecord(b, withoutHead)
	}
	return b
}

// appendRawRecord appends raw held as bytes as a record field, without
// its head held apart if withoutHead.
func (e *Event) appendRawRecord(b []byte, withoutHead bool) []byte {
	b = binary.AppendUvarint(b, rawCode)
	if withoutHead {
		b = binary.AppendUvarint(b, uint64(len(e.raw)))
		return append(b, e.raw...)
	}
	b = binary.AppendUvarint(b, uint64(e.rawLen()))
	return e.appendRaw(b)
}

// appendRawBytes appends raw's field (its code, length and decoded bytes),
// decoding straight into b rather than into a copy first: raw is most of a
// wide report's record. ok is false when v is not base64; the caller then
// goes on from its own b.
func appendRawBytes(b []byte, v string) ([]byte, bool) {
	start := len(b)
	b = binary.AppendUvarint(b, rawCode)
	// The length comes before the bytes; it is known from v's length
	// unless v has line breaks, which the decoder skips.
	guess := len(v) / 4 * 3
	if len(v)%4 != 0 {
		guess = base64.StdEncoding.DecodedLen(len(v))
	}
	for i := len(v) - 1; i >= 0 && i >= len(v)-2 && v[i] == '='; i-- {
		guess--
	}
	b = binary.AppendUvarint(b, uint64(max(guess, 0)))
	at := len(b)
	b, err := base64.StdEncoding.AppendDecode(b, []byte(v))
	if err != nil {
		return nil, false
	}
	if n := len(b) - at; n != guess {
		raw := append([]byte(nil), b[at:]...)
		b = binary.AppendUvarint(b[:start], rawCode)
		b = binary.AppendUvarint(b, uint64(n))
		b = append(b, raw...)
	}
	return b, true
}

// AppendBatch appends events in the batch form.
func AppendBatch(b []byte, events []*Event) []byte {
	b = binary.AppendUvarint(b, uint64(len(events)))
	for _, e := range events {
		b = AppendRecord(b, e)
	}
	return b
}

// The batch form with heads is the batch form with raw's header lines
// (SetRawParts) written once a batch, not in every record: a wide
// report's header line is about half of its events' records.
//
//	batchHeads := uvarint(heads) string(head)* uvarint(count) (uvarint(head) record)*
//
// head is 0 for a record whose raw is whole, or 1 + the index of its
// head; raw's value in the record is then what follows the head. A head
// ends in its only newline.

// maxBatchHeads bounds the heads of a batch: an event of a head past them
// writes its raw whole.
const maxBatchHeads = 16

// AppendBatchHeads appends events in the batch form with heads.
func AppendBatchHeads(b []byte, events []*Event) []byte {
	var heads [maxBatchHeads]string
	n := 0
	for _, e := range events {
		if e.rawHead != "" && n < len(heads) && headIndex(heads[:n], e.rawHead) < 0 {
			heads[n] = e.rawHead
			n++
		}
	}
	b = binary.AppendUvarint(b, uint64(n))
	for _, h := range heads[:n] {
		b = binary.AppendUvarint(b, uint64(len(h)))
		b = append(b, h...)
	}
	b = binary.AppendUvarint(b, uint64(len(events)))
	var c RecordCoder
	for _, e := range events {
		k := -1
		if e.rawHead != "" {
			k = headIndex(heads[:n], e.rawHead)
		}
		b = binary.AppendUvarint(b, uint64(k+1))
		b = e.appendRecord(b, k >= 0, &c)
	}
	return b
}

// headIndex is the index of head in heads, -1 if it is not there. The
// events of a report share one string: its first comparison is of the
// same pointer.
func headIndex(heads []string, head string) int {
	for k, h := range heads {
		if h == head {
			return k
		}
	}
	return -1
}

// DecodeBatchHeads reads a batch written by AppendBatchHeads, as
// DecodeBatch reads one of AppendBatch. The events of a head share it.
// The events keep no reference to b; AdoptBatchHeads decodes without the
// copy.
func DecodeBatchHeads(b []byte) ([]*Event, error) {
	return AdoptBatchHeads([]byte(string(b)))
}

// AdoptBatchHeads reads a batch as DecodeBatchHeads does, but b itself
// becomes the one string the events' keys and values are parts of,
// instead of a copy of it: b must not change once it is given, and stays
// in memory as long as any of the events is referenced. A reader that
// decompresses a batch into a buffer of its own (a bus's worker) gives
// that buffer, and spares a copy of every batch (1.6 GB a million events
// of the bench's report, 2 s of CPU in a profile of bench ingest through
// JetStream).
func AdoptBatchHeads(b []byte) ([]*Event, error) {
	r := recordReader{b: b, s: unsafe.String(unsafe.SliceData(b), len(b))}
	nh, ok := r.uvarint()
	if !ok || nh > maxBatchHeads {
		return nil, ErrBadBatch
	}
	var heads [maxBatchHeads]string
	for k := range nh {
		h, ok := r.str()
		if !ok || !isRawHead(h) {
			return nil, ErrBadBatch
		}
		heads[k] = h
	}
	return r.batch(heads[:nh])
}

// recordReader decodes records from one buffer; keys and values are slices
// of a single string copy of it, so decoding allocates little.
type recordReader struct {
	b   []byte
	s   string
	pos int
	// head is the head of the record's raw held apart (the batch form
	// with heads), "" for raw whole.
	head string
	// keys, when not nil, gives keys without a code one string each.
	keys *keyTable
}

// keyTable holds the keys without a code (extra.*) that an arena's
// records had: the events decoded into it share one string for each,
// rather than each its own part of its record. Whoever compares the
// keys of many events (an export's columns, of every row) then compares
// the same string, which is equal at once.
type keyTable struct {
	keys []string
}

// maxTableKeys bounds a keyTable: events hold a few extra fields, of a
// few names.
const maxTableKeys = 16

// intern returns the table's string equal to key, key itself (and keeps
// it, while there is room) when there is none.
func (t *keyTable) intern(key string) string {
	for _, k := range t.keys {
		if k == key {
			return k
		}
	}
	if len(t.keys) < maxTableKeys {
		t.keys = append(t.keys, key)
	}
	return key
}

func (r *recordReader) uvarint() (uint64, bool) {
	// Most of a record's numbers (codes, lengths) are below 128: one byte,
	// read without binary.Uvarint's loop.
	if r.pos < len(r.b) && r.b[r.pos] < 0x80 {
		r.pos++
		return uint64(r.b[r.pos-1]), true
	}
	v, k := binary.Uvarint(r.b[r.pos:])
	if k <= 0 {
		return 0, false
	}
	r.pos += k
	return v, true
}

func (r *recordReader) str() (string, bool) {
	l, ok := r.uvarint()
	if !ok || l > uint64(len(r.b)-r.pos) {
		return "", false
	}
	v := r.s[r.pos : r.pos+int(l)]
	r.pos += int(l)
	return v, true
}

func (r *recordReader) record() (*Event, bool) {
	e := &Event{}
	if !r.recordInto(e, func(n int) []Field { return make([]Field, 0, n) }) {
		return nil, false
	}
	return e, true
}

// recordInto decodes one record into e, its fields appended to what
// room returns for their number.
func (r *recordReader) recordInto(e *Event, room func(int) []Field) bool {
	nf, ok := r.uvarint()
	if !ok || nf > uint64(len(r.b)-r.pos) {
		return false
	}
	e.fields = room(int(nf))
	last, lastCode := "", uint64(0)
	for i := range nf {
		code, ok := r.uvarint()
		if !ok || code > uint64(len(recordNames)) {
			return false
		}
		var key string
		if code == 0 {
			if key, ok = r.str(); !ok {
				return false
			}
			if r.keys != nil {
				key = r.keys.intern(key)
			}
		} else {
			key = recordNames[code-1]
		}
		val, ok := r.str()
		if !ok {
			return false
		}
		// Records are written from sorted events; a record that is not
		// sorted was not written by Vigil. Two names with codes are in
		// order when their codes are (recordNames are sorted): most of a
		// record's, whose comparison as text would cost more than the
		// rest of their decoding.
		if i > 0 {
			if code != 0 && lastCode != 0 && namesSorted {
				if code <= lastCode {
					return false
				}
			} else if last >= key {
				return false
			}
		}
		last, lastCode = key, code
		if code == rawCode {
			// Kept as the bytes they are, a part of the one string
			// copy of the buffer; base64 is made only if asked for.
			e.raw, e.rawHead = val, r.head
			e.setFlag(rawHeld, true)
			continue
		}
		e.fields = append(e.fields, Field{Key: key, Value: val})
	}
	return true
}

// DecodeRecord reads one event written by AppendRecord.
func DecodeRecord(b []byte) (*Event, error) {
	r := recordReader{b: b, s: string(b)}
	e, ok := r.record()
	if !ok || r.pos != len(b) {
		return nil, ErrBadBatch
	}
	return e, nil
}

// RecordArena decodes many records held end to end in one array: their
// events share one array, their fields another and their keys and values
// one string copy of the records, so that decoding thousands of records
// costs a few allocations instead of three each. A key without a code
// (extra.*) is one string for all its events (keyTable). What it decodes
// stays in memory as long as any of it is referenced: it suits records
// that are used together and let go together (a notifier's queue of one
// organisation).
type RecordArena struct {
	b      []byte
	s      string
	events []Event
	fields []Field
	keys   keyTable
}

// arenaChunk is how many events an arena allocates at once at least, when
// the room made at first is spent (and 16 times as many fields).
const arenaChunk = 256

// NewRecordArena returns an arena for the records in b, room made for
// about events events of fields fields in all. b must not change while
// the arena is used.
func NewRecordArena(b []byte, events, fields int) *RecordArena {
	return &RecordArena{b: b, s: string(b), events: make([]Event, 0, events), fields: make([]Field, 0, fields)}
}

// Reuse makes a ready for the records in b as NewRecordArena(b, events,
// fields) would, in the arrays it holds when they are large enough: what
// it decoded before is overwritten, and must not be used any more. A
// reader that decodes one set of records after another (a notifier's
// worker, one organisation's queue after another) spares the allocation
// and the clearing of its arrays for every set.
func (a *RecordArena) Reuse(b []byte, events, fields int) {
	a.b, a.s = b, string(b)
	if cap(a.events) < events {
		a.events = make([]Event, 0, events)
	}
	if cap(a.fields) < fields {
		a.fields = make([]Field, 0, fields)
	}
	a.events, a.fields = a.events[:0], a.fields[:0]
	clear(a.keys.keys)
	a.keys.keys = a.keys.keys[:0]
}

// Decode reads the record at b[start:end] as DecodeRecord does. The
// event's fields are capped at its own: setting one copies them.
func (a *RecordArena) Decode(start, end int) (*Event, error) {
	if start < 0 || start > end || end > len(a.b) {
		return nil, ErrBadBatch
	}
	e := a.event()
	r := recordReader{b: a.b[start:end], s: a.s[start:end], keys: &a.keys}
	ok := r.recordInto(e, a.room)
	if !ok || r.pos != len(r.b) {
		*e = Event{}
		return nil, ErrBadBatch
	}
	return e, nil
}

// DecodeString reads the record rec as DecodeRecord does, its keys and
// values parts of rec itself (or, for a key without a code, of a record
// the arena decoded before), not of a copy: for records a reader holds
// as strings already (a notifier's copy of its queue), whose events then
// keep rec in memory as long as any of them is referenced. The arena's
// own array (NewRecordArena's b) is not used and may be nil.
func (a *RecordArena) DecodeString(rec string) (*Event, error) {
	e := a.event()
	// Read only: the bytes are rec's, which cannot change.
	r := recordReader{b: unsafe.Slice(unsafe.StringData(rec), len(rec)), s: rec, keys: &a.keys}
	ok := r.recordInto(e, a.room)
	if !ok || r.pos != len(r.b) {
		*e = Event{}
		return nil, ErrBadBatch
	}
	return e, nil
}

// event returns room for one more event.
func (a *RecordArena) event() *Event {
	if len(a.events) == cap(a.events) {
		a.events = make([]Event, 0, arenaChunk)
	}
	a.events = a.events[:len(a.events)+1]
	e := &a.events[len(a.events)-1]
	*e = Event{} // reused (Reuse)
	return e
}

// room returns room for an event's n fields, capped at them.
func (a *RecordArena) room(n int) []Field {
	if cap(a.fields)-len(a.fields) < n {
		a.fields = make([]Field, 0, max(n, 16*arenaChunk))
	}
	f := a.fields[len(a.fields) : len(a.fields) : len(a.fields)+n]
	a.fields = a.fields[:len(a.fields)+n]
	return f
}

// DecodeBatch reads a batch written by AppendBatch. The events keep no
// reference to b. They are a RecordArena's: they share a few arrays, their
// fields a few others and their keys and values one string copy of b: a batch is
// used and let go together, and decoding it costs a few allocations
// instead of two each event. An event's fields are capped at its own:
// setting one copies them.
func DecodeBatch(b []byte) ([]*Event, error) {
	r := recordReader{b: b, s: string(b)}
	return r.batch(nil)
}

// batch reads the count and records of a batch, each after its head's
// number when heads is not nil (the batch form with heads).
func (r *recordReader) batch(heads []string) ([]*Event, error) {
	b := r.b
	n, ok := r.uvarint()
	if !ok || n > uint64(len(b)) {
		return nil, ErrBadBatch
	}
	// The events are made as their records are read, from an arena whose
	// first array is at most a chunk: a damaged count is refused at the
	// first record missing, not trusted for an allocation.
	a := RecordArena{events: make([]Event, 0, min(n, arenaChunk))}
	events := make([]*Event, n)
	for i := range events {
		e := a.event()
		r.head = ""
		if heads != nil {
			k, ok := r.uvarint()
			if !ok || k > uint64(len(heads)) {
				return nil, ErrBadBatch
			}
			if k > 0 {
				r.head = heads[k-1]
			}
		}
		if !r.recordInto(e, a.room) || (r.head != "" && !e.hasRaw()) {
			return nil, ErrBadBatch
		}
		events[i] = e
	}
	if r.pos != len(b) {
		return nil, ErrBadBatch
	}
	return events, nil
}
