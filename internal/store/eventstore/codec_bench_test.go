package eventstore

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/vigil-cert/vigil/internal/event"
)

// BenchmarkBlockCodec compares ways to compress a block of generated
// events: bytes per event and CPU per event of compressing.
func BenchmarkBlockCodec(b *testing.B) {
	g := newGenerator(b, 20000)
	events := g.batch(b, 20000)
	codecs := []struct {
		name string
		enc  func(dst, src []byte) []byte
	}{
		{"zstd-fastest", zstdCodec(zstd.SpeedFastest)},
		{"zstd-default", zstdCodec(zstd.SpeedDefault)},
		{"zstd-better", zstdCodec(zstd.SpeedBetterCompression)},
		{"s2", func(dst, src []byte) []byte { return s2.Encode(dst[:cap(dst)], src) }},
		{"s2-better", func(dst, src []byte) []byte { return s2.EncodeBetter(dst[:cap(dst)], src) }},
	}
	// A dictionary built from the first 2,000 events' records (other
	// events than those compressed below, which start at 2,000), so that
	// one record alone compresses well and stays readable by itself.
	var samples [][]byte
	var history []byte
	for _, e := range events[:2000] {
		rec := event.AppendRecord(nil, e)
		samples = append(samples, rec)
		if len(history) < 110<<10 {
			history = append(history, rec...)
		}
	}
	dict, err := zstd.BuildDict(zstd.BuildDictOptions{ID: 1, Contents: samples, History: history, Level: zstd.SpeedFastest})
	if err != nil {
		b.Fatal(err)
	}
	dictEnc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false), zstd.WithEncoderDict(dict))
	codecs = append(codecs, struct {
		name string
		enc  func(dst, src []byte) []byte
	}{"zstd-fastest-dict", func(dst, src []byte) []byte { return dictEnc.EncodeAll(src, dst[:0]) }})
	events = events[2000:]
	for _, per := range []int{1, 8, 128} {
		blocks := make([][]byte, 0, len(events)/per)
		raw := 0
		for i := 0; i+per <= len(events); i += per {
			var blk, rec []byte
			for _, e := range events[i : i+per] {
				rec = event.AppendRecord(rec[:0], e)
				blk = binary.AppendUvarint(blk, uint64(len(rec)))
				blk = append(blk, rec...)
			}
			raw += len(blk)
			blocks = append(blocks, blk)
		}
		n := len(blocks) * per
		for _, c := range codecs {
			b.Run(fmt.Sprintf("%s/%d", c.name, per), func(b *testing.B) {
				var size int
				var dst []byte
				start := time.Now()
				for b.Loop() {
					size = 0
					for _, blk := range blocks {
						dst = c.enc(dst[:0], blk)
						size += len(dst)
					}
				}
				b.ReportMetric(float64(size)/float64(n), "B/event")
				b.ReportMetric(float64(raw)/float64(n), "rawB/event")
				b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N*n), "ns/event")
			})
		}
	}
}

func zstdCodec(level zstd.EncoderLevel) func(dst, src []byte) []byte {
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false))
	return func(dst, src []byte) []byte { return enc.EncodeAll(src, dst[:0]) }
}
