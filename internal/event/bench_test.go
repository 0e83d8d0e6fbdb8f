package event_test

import (
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
)

// benchScanRDP are the bench's events (vigil bench ingest): scan_rdp rows
// with raw, labelled as the pipeline labels them before sealing.
func benchScanRDP(b *testing.B) []*event.Event {
	events := shadowserverReports(b, 2000, "scan_rdp")
	for _, e := range events {
		e.SetTrusted("feed.name", "bench")
		e.SetTrusted("feed.provider", "Shadowserver")
		e.SetTrusted("time.observation", "2026-11-20T10:00:00+00:00")
	}
	return events
}

func BenchmarkSeal(b *testing.B) {
	events := benchScanRDP(b)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, e := range events {
			e.Seal()
		}
		n += len(events)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
}

func BenchmarkAppendRecord(b *testing.B) {
	events := benchScanRDP(b)
	for _, e := range events {
		e.Seal()
	}
	b.ReportAllocs()
	var buf []byte
	n := 0
	for b.Loop() {
		for _, e := range events {
			buf = event.AppendRecord(buf[:0], e)
		}
		n += len(events)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
}

func BenchmarkDecodeRecord(b *testing.B) {
	events := benchScanRDP(b)
	records := make([][]byte, len(events))
	for i, e := range events {
		e.Seal()
		records[i] = event.AppendRecord(nil, e)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, r := range records {
			if _, err := event.DecodeRecord(r); err != nil {
				b.Fatal(err)
			}
		}
		n += len(records)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
}

// BenchmarkAppendRecordSetRaw is BenchmarkAppendRecord for events whose
// raw was given with SetRaw, as a parser can give it.
func BenchmarkAppendRecordSetRaw(b *testing.B) {
	events := benchScanRDP(b)
	for _, e := range events {
		e.SetRaw(e.Raw())
		e.Seal()
	}
	b.ReportAllocs()
	var buf []byte
	n := 0
	for b.Loop() {
		for _, e := range events {
			buf = event.AppendRecord(buf[:0], e)
		}
		n += len(events)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
}
