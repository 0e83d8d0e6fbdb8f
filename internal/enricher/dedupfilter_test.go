package enricher

import (
	"testing"
)

func TestFingerprintTable(t *testing.T) {
	const now = 1000
	tab := newFingerprintTable(4, fingerprintBits, nil)
	k1, k2 := hashOf(1), hashOf(2)
	if live, edge := tab.lookup((*[32]byte)(&k1), now%256); live || edge {
		t.Fatal("an empty table holds a key")
	}
	if !tab.add((*[32]byte)(&k1), (now+10)%256, now%256) {
		t.Fatal("no room in an empty table")
	}
	if live, _ := tab.lookup((*[32]byte)(&k1), now%256); !live {
		t.Error("key 1 not found after add")
	}
	if live, _ := tab.lookup((*[32]byte)(&k2), now%256); live {
		t.Error("key 2 found, never added (a 24-bit fingerprint colliding in a 4-bucket table is a 1 in 500,000 chance)")
	}
	t.Run("expiry by bucket", func(t *testing.T) {
		if live, edge := tab.lookup((*[32]byte)(&k1), (now+10)%256); live || !edge {
			t.Errorf("in its last bucket: live %v, edge %v; want an edge (the store decides)", live, edge)
		}
		if live, edge := tab.lookup((*[32]byte)(&k1), (now+11)%256); live || edge {
			t.Errorf("after its last bucket: live %v, edge %v", live, edge)
		}
	})
	t.Run("a later claim of the same fingerprint keeps the later epoch", func(t *testing.T) {
		tab.add((*[32]byte)(&k1), (now+20)%256, now%256)
		tab.add((*[32]byte)(&k1), (now+5)%256, now%256)
		if live, _ := tab.lookup((*[32]byte)(&k1), (now+15)%256); !live {
			t.Error("the later claim was lost")
		}
		if n := tab.live(now % 256); n != 1 {
			t.Errorf("%d slots for one key", n)
		}
	})
	t.Run("sweep after a long pause", func(t *testing.T) {
		// Claimed at bucket 1000 until 1020, then nothing for 200
		// buckets: 8 bits of epoch alone would take 1020 for 1276 (alive
		// at 1200). The sweep knows the epoch from its last run.
		if live, _ := tab.lookup((*[32]byte)(&k1), (now+200)%256); !live {
			t.Fatal("setup: the stale slot does not alias; pick other numbers")
		}
		if n := tab.sweep(now, now+200); n != 1 {
			t.Errorf("sweep emptied %d slots, want 1", n)
		}
		if live, edge := tab.lookup((*[32]byte)(&k1), (now+200)%256); live || edge {
			t.Error("the expired claim is back after the sweep")
		}
	})
}

// TestFingerprintTableOverflow fills a one-bucket table: keys that do not
// fit mark the bucket, so every lookup there answers "maybe" (never "not
// claimed" for a claimed key) until the marked epoch passes.
func TestFingerprintTableOverflow(t *testing.T) {
	const now = 7
	tab := newFingerprintTable(1, fingerprintBits, nil)
	for i := range slotsPerBucket {
		h := hashOf(i)
		if !tab.add((*[32]byte)(&h), now+3, now) {
			t.Fatalf("key %d did not fit in a table with room", i)
		}
	}
	over := hashOf(100)
	if tab.add((*[32]byte)(&over), now+5, now) {
		t.Fatal("a 17th key fit in 16 slots")
	}
	for _, tc := range []struct {
		at   uint8
		want bool
	}{{now, true}, {now + 4, true}, {now + 5, false}, {now + 6, false}} {
		other := hashOf(200)
		live, edge := tab.lookup((*[32]byte)(&other), tc.at)
		if live != tc.want {
			t.Errorf("at bucket %d: live %v, want %v", tc.at, live, tc.want)
		}
		if tc.at == now+5 && !edge {
			t.Errorf("at the mark's last bucket: not an edge")
		}
	}
	// Once the 16 claims expired, their slots are free again.
	if !tab.add((*[32]byte)(&over), now+9, now+4) {
		t.Error("no room after the bucket's claims expired")
	}
	if n := tab.bytes(); n != bucketBytes {
		t.Errorf("a one-bucket table holds %d bytes, want %d", n, bucketBytes)
	}
}

// TestFingerprintFalsePositives measures how often a key never added is
// found, with 12-bit fingerprints so that there are enough to count, and
// compares it with the bound Dedup's comment states: about 2·16·load/2^bits
// for a table filled to load.
func TestFingerprintFalsePositives(t *testing.T) {
	const (
		bits    = 12
		buckets = 4096
		now     = 0
	)
	tab := newFingerprintTable(buckets, bits, nil)
	added := buckets * slotsPerBucket / 2 // half full
	for i := range added {
		h := hashOf(i)
		if !tab.add((*[32]byte)(&h), 10, now) {
			t.Fatalf("overflow at %d keys of %d slots", i, buckets*slotsPerBucket)
		}
	}
	const lookups = 200_000
	found := 0
	for i := added; i < added+lookups; i++ {
		h := hashOf(i)
		if live, _ := tab.lookup((*[32]byte)(&h), now); live {
			found++
		}
	}
	rate := float64(found) / lookups
	load := float64(tab.live(now)) / float64(len(tab.slots))
	expected := 2 * slotsPerBucket * load / (1 << bits)
	t.Logf("false positives: %d of %d lookups (%.2e), expected %.2e at load %.2f, bound %.2e",
		found, lookups, rate, expected, load, float64(2*slotsPerBucket)/(1<<bits))
	if rate < expected*0.8 || rate > expected*1.2 {
		t.Errorf("false positive rate %.2e, want about %.2e", rate, expected)
	}
}
