package event

import "crypto/sha256"

// SetDefaults stores each of fields whose key is not set yet, as SetTrusted
// would, and leaves the keys already set as they are. It is for stages that
// fill in what an event lacks (the feed's labels, an enricher's findings):
// one call finds every place and moves the fields once, where a Has and a
// SetTrusted per field would search twice and shift the slice per field.
// Values must be canonical, as for SetTrusted; an empty value is stored
// too. fields should be in strictly increasing key order; fields that are
// not are set one by one, with the same result.
func (e *Event) SetDefaults(fields ...Field) {
	// Where each missing field goes, as an index into the fields as they
	// are now; few callers pass more than a handful.
	var places [8]int
	var missing [8]Field
	if len(fields) > len(places) || !increasing(fields) || (e.hasRaw() && hasKey(fields, "raw")) {
		for _, f := range fields {
			if !e.Has(f.Key) {
				e.SetTrusted(f.Key, f.Value)
			}
		}
		return
	}
	k := e.missingPlaces(fields, places[:], missing[:])
	if k == 0 {
		return
	}
	e.setFlag(unchanged, false)
	e.insertAt(places[:k], missing[:k])
}

// missingPlaces finds each of fields (in strictly increasing key order)
// whose key the event lacks: it puts the field in missing and the index
// of the field it goes before in places, in order, and returns how many.
func (e *Event) missingPlaces(fields []Field, places []int, missing []Field) int {
	k, from := 0, 0
	for _, f := range fields {
		// A later key sorts after an earlier one, so it is searched for
		// only past the earlier one's place.
		i, ok := e.indexFrom(from, f.Key)
		from = i
		if ok {
			continue
		}
		places[k], missing[k] = i, f
		k++
	}
	return k
}

// insertAt puts each missing[j] before e.fields[places[j]] (places in
// increasing order, as missingPlaces gives them), growing the fields
// once, if at all, and moving each field once.
func (e *Event) insertAt(places []int, missing []Field) {
	n := len(e.fields)
	e.fields = append(e.fields, missing...)
	// Move the tail of each gap from the back, so every field moves once.
	end := n
	for j := len(places) - 1; j >= 0; j-- {
		p := places[j]
		copy(e.fields[p+j+1:end+j+1], e.fields[p:end])
		e.fields[p+j] = missing[j]
		end = p
	}
}

// increasing reports whether the keys of fields are in strictly increasing
// order.
func increasing(fields []Field) bool {
	for i := 1; i < len(fields); i++ {
		if fields[i-1].Key >= fields[i].Key {
			return false
		}
	}
	return true
}

// indexFrom is index searching only from position lo on.
func (e *Event) indexFrom(lo int, key string) (int, bool) {
	hi := len(e.fields)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if e.fields[m].Key < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(e.fields) && e.fields[lo].Key == key
}

// hasKey reports whether one of fields has key.
func hasKey(fields []Field, key string) bool {
	for _, f := range fields {
		if f.Key == key {
			return true
		}
	}
	return false
}

// SealWith is SetDefaults(defaults...) followed by Seal, with the same
// result, for the pipeline's labelling of a parsed event: it hashes the
// fields with the missing defaults merged in as they go, and then moves
// the fields once to make room for the defaults and event_hash together,
// where SetDefaults and Seal would move most of them twice (event_hash
// sorts before the extra.*, feed.*, source.* and time.* keys of most
// events). Defaults that SetDefaults would set one by one (unsorted,
// more than 7, or with raw or event_hash among them) are, followed by
// Seal.
func (e *Event) SealWith(defaults ...Field) Hash {
	// One place more than the defaults: event_hash.
	var places [8]int
	var missing [8]Field
	if len(defaults) > len(places)-1 || !increasing(defaults) || hasKey(defaults, "raw") || hasKey(defaults, "event_hash") {
		e.SetDefaults(defaults...)
		return e.Seal()
	}
	k := e.missingPlaces(defaults, places[:], missing[:])
	if k == 0 && e.Sealed() {
		return Hash(e.hash)
	}
	h := e.hashWith(places[:k], missing[:k])
	hashText := h.upperHex()
	e.changing("event_hash")
	if i, ok := e.indexFrom(0, "event_hash"); ok {
		e.fields[i].Value = hashText
	} else {
		// event_hash goes among the missing defaults in key order; its
		// place is not among theirs, as no default is event_hash.
		j := k
		for j > 0 && missing[j-1].Key > "event_hash" {
			places[j], missing[j] = places[j-1], missing[j-1]
			j--
		}
		places[j], missing[j] = i, Field{Key: "event_hash", Value: hashText}
		k++
	}
	if k > 0 {
		e.insertAt(places[:k], missing[:k])
	}
	e.hash = h
	e.setFlag(sealed, true)
	e.setFlag(unchanged, true)
	return h
}

// hashWith is HashExcept(nil) of the event with fields missing[j] put
// before e.fields[places[j]] (places in increasing order, missing in key
// order, as SetDefaults would insert them).
func (e *Event) hashWith(places []int, missing []Field) Hash {
	buf := hashBuffers.Get().(*[]byte)
	b := (*buf)[:0]
	from := 0
	for j, p := range places {
		for _, f := range e.fields[from:p] {
			b = appendHashed(b, f)
		}
		b = appendHashed(b, missing[j])
		from = p
	}
	for _, f := range e.fields[from:] {
		b = appendHashed(b, f)
	}
	h := sha256.Sum256(b)
	putHashBuffer(buf, b)
	return h
}

// appendHashed appends what the event's hash reads of f, nothing for the
// fields it leaves out.
func appendHashed(b []byte, f Field) []byte {
	if hashExcluded(f.Key) {
		return b
	}
	b = append(b, f.Key...)
	b = append(b, 0)
	b = append(b, f.Value...)
	return append(b, 0)
}
