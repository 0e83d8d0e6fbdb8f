package pipeline

import (
	"fmt"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
)

// BenchmarkLabel makes events shaped as the bench's scan_rdp events (30
// fields, raw kept), as a parser makes them, and labels them with a feed
// that has every label. Making them is timed too: the room New reserves
// for the labels is paid there.
func BenchmarkLabel(b *testing.B) {
	f := &Feed{Name: "bench", Provider: "Shadowserver", URL: "https://www.shadowserver.org/what-we-do/network-reporting/",
		Code: "scan_rdp", TLP: "amber", Accuracy: 100, KeepRaw: true}
	template := event.New(30)
	template.SetTrusted("classification.identifier", "open-rdp")
	template.SetTrusted("classification.taxonomy", "vulnerable")
	template.SetTrusted("classification.type", "vulnerable-system")
	template.SetTrusted("protocol.application", "rdp")
	template.SetTrusted("protocol.transport", "tcp")
	template.SetTrusted("raw", "dGltZXN0YW1wLHNldmVyaXR5LGlw")
	template.SetTrusted("source.ip", "192.0.2.1")
	template.SetTrusted("source.port", "3389")
	template.SetTrusted("source.asn", "64496")
	template.SetTrusted("source.geolocation.cc", "BE")
	template.SetTrusted("source.geolocation.city", "Liege")
	template.SetTrusted("source.geolocation.region", "Wallonia")
	template.SetTrusted("time.source", "2026-11-20T10:00:00+00:00")
	for i := range 17 {
		template.SetTrusted(fmt.Sprintf("extra.column_%02d", i), `"value"`)
	}
	const n = 2000
	work := make([]*event.Event, n)
	s := &sink{feed: f, now: "2026-11-20T10:00:00+00:00", labels: feedLabels(f, "2026-11-20T10:00:00+00:00")}
	b.ReportAllocs()
	done := 0
	for b.Loop() {
		for i := range work {
			work[i] = event.New(template.Len() + event.PipelineRoom)
			for _, fl := range template.Fields() {
				work[i].AppendTrusted(fl.Key, fl.Value)
			}
		}
		for _, e := range work {
			s.label(e)
		}
		done += n
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(done), "ns/event")
}
