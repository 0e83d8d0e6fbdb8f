package event_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/cputime"
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

// BenchmarkLabelAndSeal labels and seals the bench's events as the
// pipeline's sink does, with SetDefaults and Seal and with SealWith.
// Filling the events (as a parser makes them, with room for the labels
// and event_hash) is not timed.
func BenchmarkLabelAndSeal(b *testing.B) {
	events := shadowserverReports(b, 2000, "scan_rdp")
	labels := []event.Field{{Key: "feed.name", Value: "bench"}, {Key: "time.observation", Value: "2026-11-20T10:00:00+00:00"}}
	for _, way := range []struct {
		name string
		seal func(*event.Event, ...event.Field) event.Hash
	}{
		{"SetDefaultsAndSeal", func(e *event.Event, fields ...event.Field) event.Hash { e.SetDefaults(fields...); return e.Seal() }},
		{"SealWith", (*event.Event).SealWith},
	} {
		b.Run(way.name, func(b *testing.B) {
			work := make([]*event.Event, len(events))
			for i, e := range events {
				work[i] = event.New(e.Len() + len(labels) + 1)
			}
			b.ReportAllocs()
			n := 0
			var cpu time.Duration // of the timed part: the machine is shared
			for b.Loop() {
				b.StopTimer()
				for i, e := range events {
					work[i].Reset() // keeps its room: no garbage to collect
					for _, f := range e.Fields() {
						work[i].AppendTrusted(f.Key, f.Value)
					}
				}
				b.StartTimer()
				start := cputime.Process()
				for _, e := range work {
					way.seal(e, labels...)
				}
				cpu += cputime.Process() - start
				n += len(work)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/event")
		})
	}
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

// BenchmarkSetDefaults fills the fields the ASN and GeoIP enrichers and
// the feed's labels add into the bench's events, with SetDefaults and with
// the Has and SetTrusted per field it replaced.
func BenchmarkSetDefaults(b *testing.B) {
	events := benchScanRDP(b)
	sets := [][]event.Field{
		{{Key: "feed.accuracy", Value: "100"}, {Key: "feed.code", Value: "c"}, {Key: "feed.name", Value: "bench"},
			{Key: "feed.provider", Value: "p"}, {Key: "feed.url", Value: "https://x.example/"},
			{Key: "time.observation", Value: "2026-11-20T10:00:00+00:00"}, {Key: "tlp", Value: "AMBER"}},
		{{Key: "source.as_name", Value: "EXAMPLE"}, {Key: "source.asn", Value: "64496"}, {Key: "source.network", Value: "192.0.2.0/24"}},
		{{Key: "source.geolocation.cc", Value: "BE"}, {Key: "source.geolocation.city", Value: "Liege"},
			{Key: "source.geolocation.latitude", Value: "50.6"}, {Key: "source.geolocation.longitude", Value: "5.5"},
			{Key: "source.geolocation.region", Value: "Wallonia"}},
	}
	for _, way := range []struct {
		name string
		set  func(*event.Event, ...event.Field)
	}{{"SetDefaults", (*event.Event).SetDefaults}, {"HasAndSetTrusted", event.OldSetDefaults}} {
		b.Run(way.name, func(b *testing.B) {
			work := make([]*event.Event, len(events))
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				b.StopTimer()
				for i, e := range events {
					// Room for the new fields, as New gives a parser's
					// events.
					work[i] = event.New(e.Len())
					for _, f := range e.Fields() {
						work[i].AppendTrusted(f.Key, f.Value)
					}
				}
				b.StartTimer()
				for _, e := range work {
					for _, s := range sets {
						way.set(e, s...)
					}
				}
				n += len(work)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
		})
	}
}

// BenchmarkRecordArenaDecodeString decodes records as the notifier does
// its queue's: into one arena, from one string.
func BenchmarkRecordArenaDecodeString(b *testing.B) {
	// Events as `vigil bench notify` stores them: a scan's report of
	// about fifteen short fields.
	events := make([]*event.Event, 2000)
	for i := range events {
		e := event.New(16)
		e.SetTrusted("time.source", "2026-12-05T13:04:05+00:00")
		e.SetTrusted("classification.taxonomy", "vulnerable")
		e.SetTrusted("classification.type", "ddos-amplifier")
		e.SetTrusted("classification.identifier", "open-dns")
		e.SetTrusted("source.ip", fmt.Sprintf("11.%d.%d.%d", i/65536, i/256%256, i%256))
		e.SetInt("source.port", 53)
		e.SetTrusted("protocol.application", "dns")
		e.SetTrusted("protocol.transport", "udp")
		e.SetInt("source.asn", int64(64512+i%1000))
		e.SetTrusted("feed.name", "shadowserver-open-dns")
		e.SetTrusted("tlp", "AMBER")
		e.SetExtra("sequence", strconv.Itoa(i))
		e.Seal()
		e.SetTrusted("extra.constituency", `["org-00001"]`)
		events[i] = e
	}
	var all []byte
	var spans [][2]int
	for _, e := range events {
		e.Seal()
		start := len(all)
		all = event.AppendRecord(all, e)
		spans = append(spans, [2]int{start, len(all)})
	}
	s := string(all)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		a := event.NewRecordArena(nil, len(spans), 16*len(spans))
		for _, sp := range spans {
			if _, err := a.DecodeString(s[sp[0]:sp[1]]); err != nil {
				b.Fatal(err)
			}
		}
		n += len(spans)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
}
