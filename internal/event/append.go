package event

// AppendTrusted is SetTrusted for builders that produce fields in key
// order, such as parsers with a precomputed field layout: a key that sorts
// after every key already set is appended without searching or shifting.
// A key out of order still lands in its place, through SetTrusted.
func (e *Event) AppendTrusted(key, value string) {
	if n := len(e.fields); (n > 0 && e.fields[n-1].Key >= key) || key == "raw" {
		e.SetTrusted(key, value)
		return
	}
	e.fields = append(e.fields, Field{Key: key, Value: value})
}
