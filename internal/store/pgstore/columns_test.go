package pgstore

import (
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestFillReusesColumns fills a batch into the arrays of an earlier,
// larger batch whose events had every column: the second batch's columns
// are its own, with nothing left of the first's (the arrays come from
// columnPool in fill).
func TestFillReusesColumns(t *testing.T) {
	now := time.Now()
	first := storetest.NewGenerator(5).Batch(6)
	for _, e := range first {
		for k, v := range map[string]string{
			"destination.ip": "192.0.2.7", "destination.asn": "64500", "destination.fqdn": "dst.example.org",
			"source.url": "http://src.example.org/a", "destination.url": "http://dst.example.org/b",
			"malware.hash.md5": "0123456789abcdef0123456789abcdef",
		} {
			if err := e.Set(k, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	second := make([]*event.Event, 4)
	for i := range second {
		e := event.New(4)
		for k, v := range map[string]string{
			"time.source": event.FormatTime(now.Add(time.Duration(i) * time.Second)),
			"feed.name":   "bare", "classification.type": "scanner",
		} {
			if err := e.Set(k, v); err != nil {
				t.Fatal(err)
			}
		}
		second[i] = e
	}
	arrays := new(columnArrays)
	var b batchColumns
	b.fillInto(arrays, first, now)
	if b.srcIP[0] == nil || b.dstIP[0] == nil || !b.dstASN[0].Valid || !b.dstFQDN[0].Valid ||
		!b.srcURL[0].Valid || !b.dstURL[0].Valid || !b.md5[0].Valid {
		t.Fatalf("first batch: a column is missing: %+v", b)
	}
	b.release()
	b.fillInto(arrays, second, now)
	defer b.release()
	if len(b.hash) != len(second) || len(b.srcIP) != len(second) || len(b.sha256) != len(second) {
		t.Fatalf("second batch: %d hashes, %d source addresses, %d sha256; want %d", len(b.hash), len(b.srcIP), len(b.sha256), len(second))
	}
	for i, e := range second {
		h := e.Hash()
		if string(b.hash[i]) != string(h[:]) {
			t.Errorf("event %d: hash of another event", i)
		}
		if b.srcIP[i] != nil || b.dstIP[i] != nil {
			t.Errorf("event %d: addresses %v, %v left from the first batch", i, b.srcIP[i], b.dstIP[i])
		}
		if b.srcASN[i].Valid || b.dstASN[i].Valid || b.srcFQDN[i].Valid || b.dstFQDN[i].Valid ||
			b.srcURL[i].Valid || b.dstURL[i].Valid || b.md5[i].Valid || b.sha1[i].Valid || b.sha256[i].Valid {
			t.Errorf("event %d: a column left from the first batch", i)
		}
		if b.feed[i].String != "bare" || b.typ[i].String != "scanner" {
			t.Errorf("event %d: feed %q, type %q", i, b.feed[i].String, b.typ[i].String)
		}
	}
}
