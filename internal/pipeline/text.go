package pipeline

// InvalidUTF8Counter is what a parser reports to when it read bytes that
// were not UTF-8 as U+FFFD under invalid_utf8: replace. The runner's sink
// implements it with a Prometheus counter; parsers call CountInvalidUTF8,
// so sinks that do not count (tests, retries) need not implement it.
type InvalidUTF8Counter interface {
	InvalidUTF8Replaced(bytes int)
}

// CountInvalidUTF8 tells sink, when it counts them, that n bytes of one
// input were replaced.
func CountInvalidUTF8(sink Sink, n int) {
	if c, ok := sink.(InvalidUTF8Counter); ok && n > 0 {
		c.InvalidUTF8Replaced(n)
	}
}
