package event

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
	if k == 0 {
		return
	}
	e.setFlag(unchanged, false)
	n := len(e.fields)
	e.fields = append(e.fields, missing[:k]...) // grows once, if at all
	// Move the tail of each gap from the back, so every field moves once.
	end := n
	for j := k - 1; j >= 0; j-- {
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
