package outbox

import (
	"os"
	"testing"
)

// BenchmarkPackBody packs the body in $VIGIL_BENCH_BODY (a signed digest
// as the notifier makes them), or a made-up one.
func BenchmarkPackBody(b *testing.B) {
	body, err := os.ReadFile(os.Getenv("VIGIL_BENCH_BODY"))
	if err != nil {
		body = []byte(mimeBase64(make([]byte, 1<<20)))
	}
	b.SetBytes(int64(len(body)))
	var n int
	for b.Loop() {
		n = len(PackBody(body))
	}
	b.ReportMetric(float64(n), "packed-bytes")
}

func BenchmarkUnpackBody(b *testing.B) {
	body, err := os.ReadFile(os.Getenv("VIGIL_BENCH_BODY"))
	if err != nil {
		body = []byte(mimeBase64(make([]byte, 1<<20)))
	}
	packed := PackBody(body)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := UnpackBody(BodyPacked, packed, len(body)); err != nil {
			b.Fatal(err)
		}
	}
}
