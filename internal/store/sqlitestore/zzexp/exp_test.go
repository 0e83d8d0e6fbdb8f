package zzexp

import (
	"strings"
	"database/sql"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(0, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var variants = map[string][]string{
	"noindex":  {},
	"hash":     {"CREATE UNIQUE INDEX h ON events(hash)"},
	"hash+time": {"CREATE UNIQUE INDEX h ON events(hash)", "CREATE INDEX t ON events(time_source)"},
	"all4":     {"CREATE UNIQUE INDEX h ON events(hash)", "CREATE INDEX t ON events(time_source)", "CREATE INDEX s ON events(src_ip, time_source) WHERE src_ip IS NOT NULL", "CREATE INDEX a ON events(src_asn, time_source) WHERE src_asn IS NOT NULL"},
	"all4-nots":     {"CREATE UNIQUE INDEX h ON events(hash)", "CREATE INDEX t ON events(time_source)", "CREATE INDEX s ON events(src_ip) WHERE src_ip IS NOT NULL", "CREATE INDEX a ON events(src_asn) WHERE src_asn IS NOT NULL"},
}

func TestExp(t *testing.T) {
	g := storetest.NewGenerator(1)
	var batches [][]*event.Event
	for range 100 {
		batches = append(batches, g.Batch(1000))
	}
	for _, name := range []string{"noindex", "all4", "noindex-multi", "all4-multi"} {
		multi := strings.HasSuffix(name, "-multi")
		vname := strings.TrimSuffix(name, "-multi")
		db, _ := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "x.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_pragma=cache_size(-262144)&_txlock=immediate")
		db.SetMaxOpenConns(1)
		db.Exec(`CREATE TABLE events (id INTEGER PRIMARY KEY, hash BLOB NOT NULL, time_source INTEGER NOT NULL, stored INTEGER, feed TEXT, src_ip BLOB, src_asn INTEGER, data BLOB)`)
		for _, ix := range variants[vname] {
			if _, err := db.Exec(ix); err != nil {
				t.Fatal(err)
			}
		}
		c0, w0 := cpu(), time.Now()
		var cLast time.Duration
		for bi, batch := range batches {
			cb := cpu()
			tx, _ := db.Begin()
			const per = 50
			q := `INSERT INTO events (hash, time_source, stored, feed, src_ip, src_asn, data) VALUES (?,?,?,?,?,?,?)`
			n := 1
			if multi {
				q += strings.Repeat(",(?,?,?,?,?,?,?)", per-1)
				n = per
			}
			st, err := tx.Prepare(q)
			if err != nil {
				t.Fatal(err)
			}
			args := make([]any, 0, 7*per)
			for i := 0; i < len(batch); i += n {
				args = args[:0]
				for _, e := range batch[i : i+n] {
					c := store.ExtractColumns(e, time.Now())
					h := e.Hash()
					buf := event.AppendBatch(nil, []*event.Event{e})
					args = append(args, h[:], c.TimeSource, 1, c.Feed, c.SrcIP.Bytes(), c.SrcASN, buf)
				}
				if _, err := st.Exec(args...); err != nil {
					t.Fatal(err)
				}
			}
			st.Close()
			tx.Commit()
			if bi == len(batches)-1 {
				cLast = cpu() - cb
			}
		}
		c := cpu() - c0
		fmt.Printf("%-10s cpu %.1f µs/event (last batch %.1f µs/event), wall %v, %d bytes/event\n", name, float64(c.Microseconds())/100000, float64(cLast.Microseconds())/1000, time.Since(w0).Round(time.Millisecond), len(event.AppendBatch(nil, batches[0][:1])))
		db.Close()
	}
}
