package shadowserver

import "github.com/vigil-cert/vigil/internal/event"

// appendJSONString is event.AppendJSONString, quicker for the common cell
// that needs no escape: most of a report's cells go to extra.* fields as
// JSON strings, and checking eight bytes at a time costs a fraction of
// checking each. FuzzQuickJSONString holds it to event's answer.
func appendJSONString(b []byte, s string) []byte {
	if !plainJSONText(s) {
		return event.AppendJSONString(b, s)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// plainJSONText reports whether s is printable ASCII without a quote or a
// backslash, which a JSON string holds as it is. It may answer false for
// such text (the slow path then gives the same bytes), never true for
// other text.
func plainJSONText(s string) bool {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	// hasZero is the classic test for a zero byte in a word; it has no
	// false negatives, which is all this needs.
	hasZero := func(v uint64) uint64 { return (v - ones) & ^v & highs }
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		// A byte of 0x80 or more (not ASCII), one below 0x20 (a control
		// character), a quote, a backslash.
		if x&highs|(x-ones*0x20)&^x&highs|hasZero(x^(ones*'"'))|hasZero(x^(ones*'\\')) != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
