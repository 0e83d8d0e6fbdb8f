package sqlitestore

import (
	"slices"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// TestPartsOfVersion3Times writes partitions as layout version 3 did
// (absolute times, no event_parts.ts_base nor sealed_as, AS numbers
// and times indexed), reopens the database with this version and writes on, so
// that sealed partitions of both kinds are searched together, the one hot
// at the upgrade among them; every search answers as the rows layout
// does, a version 4 partition's rows hold times that fit in 6 bytes, and
// its AS numbers and times are in lists, not indexes.
func TestPartsOfVersion3Times(t *testing.T) {
	lp := newLayoutPair(t, 11)
	lp.mixAddrs = true
	lp.parts.parts.writeVersion = 3
	lp.insert(5)
	lp.upgrade(`ALTER TABLE event_parts DROP COLUMN ts_base`, `ALTER TABLE event_parts DROP COLUMN sealed_as`, `UPDATE event_layout SET version = 3`)
	lp.insert(5)
	var absolute, relative, indexed, posted int
	for _, p := range lp.partitions() {
		var base, big, sealedAs, indexes, lists int64
		if err := lp.parts.write.QueryRowContext(t.Context(), `SELECT ts_base, sealed_as FROM event_parts WHERE id = ?`, p.n).Scan(&base, &sealedAs); err != nil {
			t.Fatal(err)
		}
		if err := lp.parts.write.QueryRowContext(t.Context(), `SELECT count(*) FILTER (WHERE name IN (?, ?)), count(*) FILTER (WHERE name IN (?, ?)) FROM sqlite_master`,
			p.table+"_src_asn", p.table+"_ts", p.table+"_asn", p.table+"_time").Scan(&indexes, &lists); err != nil {
			t.Fatal(err)
		}
		switch {
		case !p.sealed:
		case sealedAs == 0 && indexes == 2 && lists == 0 && p.sealedAs == 0:
			indexed++
		case sealedAs == partsVersion && indexes == 0 && lists == 2 && p.sealedAs == partsVersion:
			posted++
		default:
			t.Errorf("partition %d: sealed as %d (%d in memory), %d indexes of src_asn and ts, %d tables of lists", p.n, sealedAs, p.sealedAs, indexes, lists)
		}
		if base != p.base {
			t.Fatalf("partition %d: ts_base %d, the memory holds %d", p.n, base, p.base)
		}
		if p.sealedAs >= rowsVersion {
			// Its compact rows in chunks (parts_rows.go).
			for _, r := range sealedRowsOf(t, lp.parts, p) {
				if ts := r.ts - p.base; ts >= 1<<47 || ts <= -1<<47 {
					big++
				}
			}
		} else if err := lp.parts.write.QueryRowContext(t.Context(), `SELECT count(*) FROM `+p.table+` WHERE abs(ts) >= 1 << 47`).Scan(&big); err != nil {
			t.Fatal(err)
		}
		switch {
		case !p.sealed:
		case base == 0:
			absolute++
		case big == 0:
			relative++
		default:
			t.Errorf("partition %d (base %d): %d times of more than 6 bytes", p.n, base, big)
		}
	}
	if absolute == 0 || relative == 0 || indexed == 0 || posted == 0 {
		t.Fatalf("sealed partitions: %d of absolute times, %d of relative ones, %d with AS numbers indexed, %d listed; the test wants each",
			absolute, relative, indexed, posted)
	}
	lp.compare()
}

// TestPartsOfVersion4Addrs seals partitions as layout version 4 did
// (addresses indexed), reopens the database with this version and
// writes on, so that sealed partitions of both kinds are searched
// together, the one hot at the upgrade among them; every search answers
// as the rows layout does, and a version 5 partition's addresses are in
// lists, not indexes, read back in rows of the length they were written
// with (64 bytes) by a store whose own differs.
func TestPartsOfVersion4Addrs(t *testing.T) {
	lp := newLayoutPair(t, 17)
	lp.mixAddrs = true
	lp.parts.parts.writeVersion = 4
	lp.insert(5)
	lp.upgrade(`UPDATE event_layout SET version = 4`)
	// Rows of 64 bytes: lists across several rows.
	lp.parts.parts.addrsRow = 64
	lp.insert(5)
	// Read with rows of 4,000 bytes asked: the partitions' own are read.
	lp.parts.parts.addrsRow = defaultAddrsRow
	var indexed, listed, rows int
	for _, p := range lp.partitions() {
		var sealedAs, indexes, lists int
		if err := lp.parts.write.QueryRowContext(t.Context(), `SELECT sealed_as FROM event_parts WHERE id = ?`, p.n).Scan(&sealedAs); err != nil {
			t.Fatal(err)
		}
		if err := lp.parts.write.QueryRowContext(t.Context(), `SELECT count(*) FILTER (WHERE name IN (?, ?)), count(*) FILTER (WHERE name = ?) FROM sqlite_master`,
			p.table+"_src_ip", p.table+"_dst_ip", p.table+"_ip").Scan(&indexes, &lists); err != nil {
			t.Fatal(err)
		}
		switch {
		case !p.sealed:
		case sealedAs == 4 && indexes == 2 && lists == 0 && p.sealedAs == 4:
			indexed++
		case sealedAs == partsVersion && indexes == 0 && lists == 1 && p.sealedAs == partsVersion:
			listed++
			var n int
			if err := lp.parts.write.QueryRowContext(t.Context(), `SELECT count(*) FROM `+p.table+`_ip`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			rows += n
		default:
			t.Errorf("partition %d: sealed as %d (%d in memory), %d indexes of addresses, %d tables of lists", p.n, sealedAs, p.sealedAs, indexes, lists)
		}
	}
	if indexed == 0 || listed == 0 || rows < 10*listed {
		t.Fatalf("sealed partitions: %d with addresses indexed, %d listed in %d rows; the test wants each, and 10 rows a partition", indexed, listed, rows)
	}
	lp.compare()
}

// TestPartsInTimeOrder stores events nearly in the order of their
// time.source, as a feed's file often comes, so that a chunk of a partition's list by
// time (of 16 events here) holds ids close together and a search that narrows (feed,
// taxonomy) reads them as a range of rows; every search answers as the
// rows layout does.
func TestPartsInTimeOrder(t *testing.T) {
	lp := newLayoutPair(t, 13)
	rows, parts, g := lp.rows, lp.parts, lp.g
	parts.parts.timeChunk = 16
	all := lp.all
	for range 10 {
		all = append(all, g.Batch(250)...)
	}
	slices.SortStableFunc(all, func(a, b *event.Event) int {
		ta, _ := a.Time("time.source")
		tb, _ := b.Time("time.source")
		return ta.Compare(tb)
	})
	// Nearly: each three in reverse, so that a cursor inside a chunk
	// leaves ids of its range out.
	for i := 0; i+2 < len(all); i += 3 {
		all[i], all[i+2] = all[i+2], all[i]
	}
	for start := 0; start < len(all); start += 250 {
		insertOnBoth(t, rows, parts, all[start:min(start+250, len(all))])
	}
	lp.all = all
	lp.compare()
	// Pages of a few events: the cursor falls inside a chunk, whose rows
	// past it the range reads and leaves.
	sample := all[len(all)/2]
	for _, q := range []store.EventQuery{{Feed: sample.Value("feed.name")}, {Taxonomy: sample.Value("classification.taxonomy")}} {
		for _, asc := range []bool{false, true} {
			q.Ascending, q.Limit = asc, 7
			if want, got := allPages(t, rows, q), allPages(t, parts, q); len(want) < 20 || !slices.Equal(want, got) {
				t.Errorf("%+v: parts gave %d events, rows %d (the test wants 20 at least), or another order", q, len(got), len(want))
			}
		}
	}
}
