package pipeline

// ReportKeeper is a sink that keeps statistics per report type within one
// feed: an inbox or a Reports API collector brings many Shadowserver report
// types through one configured feed, and the feeds page shows each of them
// as its own line. The runner's sink implements it; parsers call SetReport
// and Warn, so sinks that do not keep reports (in tests, say) need not.
type ReportKeeper interface {
	// Report names the report type of the input being parsed (Shadowserver's
	// feed_name, "Accessible-RDP"), before its first event or reject.
	Report(name string)
	// Warn counts something odd about the input that cost nothing (a row
	// short of its trailing empty cells, read as IntelMQ reads it).
	Warn(reason error)
}

// SetReport tells sink, when it keeps them, the report type of the input.
func SetReport(sink Sink, name string) {
	if k, ok := sink.(ReportKeeper); ok && name != "" {
		k.Report(name)
	}
}

// Warn tells sink, when it counts them, of something odd that cost nothing.
func Warn(sink Sink, reason error) {
	if k, ok := sink.(ReportKeeper); ok && reason != nil {
		k.Warn(reason)
	}
}

// DataLineCounter is a sink that counts the lines of an input that carry no
// data (a CSV header, lines a feed skips, comments), so that "lines read"
// on the feeds page and in `vigil ingest` counts data lines only. The
// runner's sink implements it; parsers call NotData.
type DataLineCounter interface {
	NotData(lines int)
}

// NotData tells sink, when it counts lines, that lines of the input just
// read carry no data.
func NotData(sink Sink, lines int) {
	if k, ok := sink.(DataLineCounter); ok && lines > 0 {
		k.NotData(lines)
	}
}
