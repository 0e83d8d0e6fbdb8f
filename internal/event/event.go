// Package event is Vigil's harmonized event: IntelMQ's field names and types,
// validated and normalized on the way in, read and written as IntelMQ's JSON
// lines, and identified by a content hash that makes every store idempotent.
package event

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Field is one harmonized key and its normalized value. Values are kept as
// canonical text; the field's Kind says how the text is typed in JSON.
type Field struct {
	Key   string
	Value string
}

// Event is one harmonized observation. The zero value is an empty event ready
// to use. Fields stay sorted by key, so output and hashes are deterministic.
type Event struct {
	fields []Field
	// raw holds the source line's bytes when it was given as bytes
	// (SetRaw, DecodeRecord) and rawHeld is set; it is then not in fields,
	// and becomes base64 text only where text is asked for (Get, Fields,
	// JSON). Raw is most of a wide report's event: kept as bytes it is
	// smaller in memory, and records, which store its bytes, need neither
	// decode nor encode it. (A string and a flag, not a slice of one
	// string: that cost an allocation per event.)
	raw string
	// rawHead is the first part of raw held as bytes, given apart
	// (SetRawParts): a report's header line and its newline, which every
	// event of the report shares as one string instead of a copy each
	// (about half of a wide report's event). raw is then the rest. It is
	// "" or ends in its only newline, so raw's first line is rawHead.
	rawHead string
	// hash is the identity Seal computed and event_hash holds, when
	// sealed is set: Hash returns it without reading event_hash back, as
	// the deduplicator and the batch's identity ask for it once more per
	// event. Every change to event_hash clears sealed.
	hash [len(Hash{})]byte // not a Hash, whose String method vet does not take for %s
	// flags are rawHeld, sealed and unchanged. (Bits in a byte array,
	// not bools: an event stays printable with %s, which vet checks field
	// by field.)
	flags [1]byte
}

// The bits of Event.flags.
const (
	rawHeld = 1 << iota
	sealed
	// unchanged says nothing was set or deleted since Seal: sealing
	// again would give the same fields, so Seal does nothing. A parser's
	// workers can then seal in parallel, while the event's fields are
	// still in their core's cache, and the pipeline's Seal is free.
	unchanged
)

func (e *Event) flag(bit byte) bool { return e.flags[0]&bit != 0 }

func (e *Event) setFlag(bit byte, on bool) {
	if on {
		e.flags[0] |= bit
	} else {
		e.flags[0] &^= bit
	}
}

// hasRaw reports whether raw is held as bytes.
func (e *Event) hasRaw() bool { return e.flag(rawHeld) }

// PipelineRoom is how many fields the pipeline usually adds to a parsed
// event: the feed's labels, time.observation, event_hash and what the ASN
// and GeoIP enrichers find. A parser reserves them when it makes an event
// (New(n + PipelineRoom)): that spares growing its slice later, which
// would copy every field and leave the old array to the garbage
// collector, once per event. A parser whose sink says how many fields the
// pipeline will add (pipeline.RoomTeller: the feed's own labels) leaves
// that instead. Other makers of events ask for what they fill.
const PipelineRoom = 16

// New returns an empty event with room for n fields.
func New(n int) *Event { return &Event{fields: make([]Field, 0, n)} }

// Reset empties the event, keeping its memory for reuse.
func (e *Event) Reset() { *e = Event{fields: e.fields[:0]} }

// Len is the number of fields set.
func (e *Event) Len() int {
	if e.hasRaw() {
		return len(e.fields) + 1
	}
	return len(e.fields)
}

// Fields returns the fields in key order. The slice must not be modified.
// It is the event's own unless raw is held as bytes (SetRaw, DecodeRecord):
// then it is a copy with raw's base64 text in its place.
func (e *Event) Fields() []Field {
	if !e.hasRaw() {
		return e.fields
	}
	i, _ := e.index("raw")
	fields := make([]Field, 0, len(e.fields)+1)
	fields = append(fields, e.fields[:i]...)
	fields = append(fields, Field{Key: "raw", Value: e.rawText()})
	return append(fields, e.fields[i:]...)
}

// Clone returns an independent copy.
func (e *Event) Clone() *Event {
	c := &Event{fields: make([]Field, len(e.fields)), raw: e.raw, rawHead: e.rawHead, hash: e.hash, flags: e.flags}
	copy(c.fields, e.fields)
	return c
}

func (e *Event) index(key string) (int, bool) {
	// Keys share long prefixes ("source.geolocation."), so comparisons are
	// not cheap: a binary search does a handful where a scan does dozens.
	return e.indexFrom(0, key)
}

// Get returns the value of key and whether it is set.
func (e *Event) Get(key string) (string, bool) {
	if e.hasRaw() && key == "raw" {
		return e.rawText(), true
	}
	i, ok := e.index(key)
	if !ok {
		return "", false
	}
	return e.fields[i].Value, true
}

// GetNear is Get for a loop over events of one shape (a batch of one
// report), which have their keys at the same places: *at is where key
// was found, or would go, in the last event asked, and is set to where
// it is in e. Where e has key at *at, one comparison of equal strings
// finds it; where e has not and it would go at *at, two find that; else
// it is searched for as Get does.
func (e *Event) GetNear(key string, at *int) (string, bool) {
	if e.hasRaw() && key == "raw" {
		return e.rawText(), true
	}
	i, ok := e.indexNear(key, *at)
	*at = i
	if !ok {
		return "", false
	}
	return e.fields[i].Value, true
}

// HasNear is Has as GetNear is Get.
func (e *Event) HasNear(key string, at *int) bool {
	if e.hasRaw() && key == "raw" {
		return true // raw held as bytes: not encoded to answer
	}
	i, ok := e.indexNear(key, *at)
	*at = i
	return ok
}

// DeleteNear is Delete as GetNear is Get.
func (e *Event) DeleteNear(key string, at *int) {
	if key == "raw" && e.hasRaw() {
		e.setFlag(unchanged, false)
	}
	e.changing(key)
	i, ok := e.indexNear(key, *at)
	*at = i
	if ok {
		e.fields = append(e.fields[:i], e.fields[i+1:]...)
		e.setFlag(unchanged, false)
	}
}

// indexNear is index trying position i first, then a few places either
// side: the rows of a report differ by a cell left empty here and there,
// which moves the keys after it a place or two (over half of a generated
// scan_rdp report's events have key at another place than the event
// before), where a search from the start compares keys with long common
// prefixes a handful of times.
func (e *Event) indexNear(key string, i int) (int, bool) {
	f := e.fields
	if uint(i) < uint(len(f)) && f[i].Key == key {
		return i, true
	}
	if uint(i) > uint(len(f)) {
		return e.indexFrom(0, key)
	}
	if i == 0 || f[i-1].Key < key {
		// key is at i or after it: walked to.
		for j := i; j < len(f); j++ {
			if j > i+nearPlaces {
				return e.indexFrom(j, key)
			}
			switch c := strings.Compare(f[j].Key, key); {
			case c == 0:
				return j, true
			case c > 0:
				return j, false
			}
		}
		return len(f), false
	}
	// key sorts before f[i-1] (or is it): walked back to.
	for j := i - 1; j >= max(i-1-nearPlaces, 0); j-- {
		if f[j].Key == key {
			return j, true
		}
		if j == 0 || f[j-1].Key < key {
			return j, false
		}
	}
	return e.indexFrom(0, key)
}

// nearPlaces is how far indexNear walks from the place it was given.
const nearPlaces = 3

// Value returns the value of key, or "" when it is not set.
func (e *Event) Value(key string) string {
	v, _ := e.Get(key)
	return v
}

// Has reports whether key is set.
func (e *Event) Has(key string) bool {
	if e.hasRaw() && key == "raw" {
		return true
	}
	_, ok := e.index(key)
	return ok
}

// Set validates and normalizes value for key and stores it, replacing any
// previous value. An empty value leaves the event unchanged: feeds use empty
// cells for "not known". The error is a *FieldError.
func (e *Event) Set(key, value string) error {
	return e.SetWith(InputRules{}, key, value)
}

// SetWith is Set under a feed's rules.
func (e *Event) SetWith(rules InputRules, key, value string) error {
	if value == "" {
		return nil
	}
	v, err := NormalizeWith(rules, key, value)
	if err != nil {
		return err
	}
	e.SetTrusted(key, v)
	return nil
}

// SetTrusted stores a value already in canonical form without checking it.
// It is for values produced by Vigil itself (decoding its own batches,
// enrichers writing typed results).
func (e *Event) SetTrusted(key, value string) {
	e.changing(key)
	e.setFlag(unchanged, false)
	i, ok := e.index(key)
	if ok {
		e.fields[i].Value = value
		return
	}
	e.fields = append(e.fields, Field{})
	copy(e.fields[i+1:], e.fields[i:])
	e.fields[i] = Field{Key: key, Value: value}
}

// SetTime stores a date-time field.
func (e *Event) SetTime(key string, t time.Time) { e.SetTrusted(key, FormatTime(t)) }

// SetInt stores an integer-typed field (port, ASN, integer) without parsing.
func (e *Event) SetInt(key string, n int64) { e.SetTrusted(key, strconv.FormatInt(n, 10)) }

// SetExtra stores extra.name as a JSON string. Text that is not storable
// (see TextProblem) is refused with a *FieldError rather than repaired.
func (e *Event) SetExtra(name, value string) error {
	if value == "" {
		return nil
	}
	if p := textProblem(value); p != nil {
		return newFieldError("extra."+name, value, p)
	}
	e.SetTrusted("extra."+name, string(AppendJSONString(nil, value)))
	return nil
}

// SetRaw keeps the source line as raw, which reads as base64 text as
// IntelMQ keeps it (Get, Fields, JSON). The line is copied; the bytes are
// kept rather than the text, which is made only where it is read.
func (e *Event) SetRaw(line []byte) { e.SetRawString(string(line)) }

// SetRawString is SetRaw for a line already in a string, which the event
// keeps without copying: a parser can hand over a part of a string it
// made for the whole row.
func (e *Event) SetRawString(line string) {
	if i, ok := e.index("raw"); ok {
		e.fields = append(e.fields[:i], e.fields[i+1:]...)
	}
	e.raw, e.rawHead = line, ""
	e.setFlag(rawHeld, true)
	e.setFlag(unchanged, false)
}

// SetRawParts is SetRawString for the line head + rest, where head is a
// header line with its newline that many events share (a report's): the
// event keeps head as it is given, not a copy of it, and raw reads as
// the two joined wherever it is read (Get, Raw, records, JSON). A head
// that is not one line ending in its newline is joined at once.
func (e *Event) SetRawParts(head, rest string) {
	if !isRawHead(head) {
		e.SetRawString(head + rest)
		return
	}
	e.SetRawString(rest)
	e.rawHead = head
}

// isRawHead reports whether h can be raw's header held apart: one line,
// ending in its newline.
func isRawHead(h string) bool {
	return h != "" && strings.IndexByte(h, '\n') == len(h)-1
}

// rawLen is the length of raw held as bytes.
func (e *Event) rawLen() int { return len(e.rawHead) + len(e.raw) }

// appendRaw appends raw held as bytes.
func (e *Event) appendRaw(b []byte) []byte { return append(append(b, e.rawHead...), e.raw...) }

// rawText is raw held as bytes in its base64 form.
func (e *Event) rawText() string {
	b := e.appendRawBase64(make([]byte, 0, base64.StdEncoding.EncodedLen(e.rawLen())))
	// b is the string's alone from here on: no second copy of it.
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// appendRawBase64 appends raw held as bytes in its base64 form, for
// rawText and JSON alike. Head and rest are encoded as one text through
// a small buffer a multiple of 3 bytes long, so that neither raw joined
// nor a []byte of it is made: raw is the larger part of many events, and
// JSON and notifications read it for every event.
func (e *Event) appendRawBase64(dst []byte) []byte {
	var chunk [3 * 256]byte
	n := 0
	for _, part := range [2]string{e.rawHead, e.raw} {
		for part != "" {
			c := copy(chunk[n:], part)
			n, part = n+c, part[c:]
			if n == len(chunk) {
				dst = base64.StdEncoding.AppendEncode(dst, chunk[:])
				n = 0
			}
		}
	}
	return base64.StdEncoding.AppendEncode(dst, chunk[:n])
}

// Raw returns the decoded source line.
func (e *Event) Raw() []byte {
	if e.hasRaw() {
		return e.appendRaw(make([]byte, 0, e.rawLen()))
	}
	v, ok := e.Get("raw")
	if !ok {
		return nil
	}
	b, _ := base64.StdEncoding.DecodeString(v)
	return b
}

// Delete removes key.
func (e *Event) Delete(key string) {
	if key == "raw" && e.hasRaw() {
		e.setFlag(unchanged, false)
	}
	e.changing(key)
	if i, ok := e.index(key); ok {
		e.fields = append(e.fields[:i], e.fields[i+1:]...)
		e.setFlag(unchanged, false)
	}
}

// changing forgets what the event holds outside fields for key, which is
// about to be set or deleted: raw held as bytes, the identity Seal kept.
func (e *Event) changing(key string) {
	switch key {
	case "raw":
		e.raw, e.rawHead = "", ""
		e.setFlag(rawHeld, false)
	case "event_hash":
		e.setFlag(sealed, false)
	}
}

// Time returns a date-time field parsed.
func (e *Event) Time(key string) (time.Time, bool) {
	v, ok := e.Get(key)
	if !ok {
		return time.Time{}, false
	}
	t, err := ParseTime(v)
	return t, err == nil
}

// Hash identifies an event by its content.
type Hash [32]byte

// String is the lower-case hex form used in URLs and the API.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// ParseHash reads the hex form of a hash.
func ParseHash(s string) (Hash, bool) {
	var h Hash
	if len(s) != 64 {
		return h, false
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, false
	}
	return h, true
}

// hashExcluded are left out of the hash, as IntelMQ's deduplicator does by
// default: the same observation read twice differs only in when it was read
// and in its raw form. event_hash holds the result.
func hashExcluded(key string) bool {
	return key == "time.observation" || key == "raw" || key == "event_hash"
}

// Hash is the event's key in every store. It is the identity fixed by Seal
// when the event was parsed (so that enrichment from a routing table that
// changed in between cannot turn a replayed event into a new one), or else
// SHA-256 over the sorted fields except time.observation, raw and
// event_hash.
func (e *Event) Hash() Hash {
	at := 0
	return e.HashNear(&at)
}

// HashNear is Hash looking for event_hash as GetNear does.
func (e *Event) HashNear(at *int) Hash {
	if e.flag(sealed) {
		return Hash(e.hash)
	}
	if v, ok := e.GetNear("event_hash", at); ok {
		if h, ok := ParseHash(v); ok {
			return h
		}
	}
	return e.HashExcept(nil)
}

// Sealed reports whether the event was sealed and nothing was set or
// deleted since: sealing it again would change nothing.
func (e *Event) Sealed() bool { return e.flag(unchanged) }

// Resealed marks an event that another process sealed as sealed again,
// without hashing it: its event_hash holds what Seal computed, and
// nothing was set or deleted since (the bus passes events of a batch
// whose producer said so). It reports false, changing nothing, when
// event_hash is missing or not a hash; Seal then computes it.
func (e *Event) Resealed() bool {
	v, ok := e.Get("event_hash")
	if !ok {
		return false
	}
	h, ok := ParseHash(v)
	if !ok {
		return false
	}
	e.hash = h
	e.setFlag(sealed, true)
	e.setFlag(unchanged, true)
	return true
}

// Seal computes the event's identity from its current fields and keeps it in
// event_hash (upper-case hex, IntelMQ's type for the field), replacing any
// value the input carried. The pipeline seals every event as it leaves its
// parser. Sealing an event again when nothing was set or deleted since
// does nothing, as it would give the same.
func (e *Event) Seal() Hash {
	if e.Sealed() {
		return Hash(e.hash)
	}
	h := e.HashExcept(nil)
	e.SetTrusted("event_hash", h.upperHex())
	e.hash = h
	e.setFlag(sealed, true)
	e.setFlag(unchanged, true)
	return h
}

// upperHex is strings.ToUpper(h.String()) in one allocation instead of
// four: every event is sealed.
func (h Hash) upperHex() string {
	const digits = "0123456789ABCDEF"
	var b [2 * len(h)]byte
	for i, c := range h {
		b[2*i] = digits[c>>4]
		b[2*i+1] = digits[c&0xf]
	}
	return string(b[:])
}

// HashExcept is Hash leaving out the named fields as well; deduplication uses
// it with its configured filter keys.
func (e *Event) HashExcept(skip map[string]bool) Hash {
	buf := hashBuffers.Get().(*[]byte)
	b := (*buf)[:0]
	for _, f := range e.fields {
		if skip != nil && skip[f.Key] {
			continue
		}
		b = appendHashed(b, f)
	}
	h := sha256.Sum256(b)
	putHashBuffer(buf, b)
	return h
}

// hashBuffers hold what an event's hash reads. Wide reports make events
// of a few KiB; a buffer of 4 KiB on the stack, as before, was zeroed at
// every hash (about a tenth of sealing a Shadowserver event), where a
// pooled one is reused as it is.
var hashBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, 4096)
	return &b
}}

// putHashBuffer gives buf, holding b now, back to hashBuffers, unless an
// event's huge field made it too big to keep.
func putHashBuffer(buf *[]byte, b []byte) {
	if cap(b) > 64<<10 {
		return
	}
	*buf = b[:0]
	hashBuffers.Put(buf)
}

// SortedKeys returns the keys of a map of field names, sorted; a helper for
// building events from maps in tests and tools.
func SortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// FieldsExceptRaw returns the fields in key order without raw. The slice
// must not be modified. It is for readers that have no use for raw (the
// stores' indexed columns): unlike Fields it never encodes raw held as
// bytes, and it is the event's own slice unless raw is held as text.
func (e *Event) FieldsExceptRaw() []Field {
	if e.hasRaw() {
		return e.fields // raw held as bytes is never in fields
	}
	i, ok := e.index("raw")
	if !ok {
		return e.fields
	}
	fields := make([]Field, 0, len(e.fields)-1)
	fields = append(fields, e.fields[:i]...)
	return append(fields, e.fields[i+1:]...)
}
