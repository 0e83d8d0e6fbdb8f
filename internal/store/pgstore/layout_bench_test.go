package pgstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/klauspost/compress/zstd"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/shadowserver"
	_ "github.com/vigil-cert/vigil/internal/standard"
)

// layoutSink keeps what the parser makes.
type layoutSink struct{ evs []*event.Event }

func (s *layoutSink) Event(e *event.Event) error   { s.evs = append(s.evs, e); return nil }
func (s *layoutSink) Reject(input []byte, r error) {}

// layoutRecords parses n generated Shadowserver scan_rdp rows into
// records, as the pipeline would store them.
func layoutRecords(n int) [][]byte {
	var buf bytes.Buffer
	pfx := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	rng := rand.New(rand.NewPCG(1, 2))
	shadowserver.Generate(&buf, "scan_rdp", n, rng, shadowserver.GenerateOptions{Prefixes: pfx, Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Step: 100 * time.Millisecond})
	p, _ := pipeline.NewParser("shadowserver", pipeline.Env{}, pipeline.Options{})
	s := &layoutSink{}
	p.Parse(context.Background(), pipeline.Input{Feed: "x", Name: "2026-11-20-scan_rdp-bench-geo.csv", Body: &buf}, s)
	recs := make([][]byte, len(s.evs))
	for i, e := range s.evs {
		e.SetTrusted("feed.name", "bench")
		e.SetTrusted("time.observation", "2026-12-04T19:00:00+00:00")
		recs[i] = event.AppendRecord(nil, e)
	}
	return recs
}

const layoutBatch = 2000

// BenchmarkEventLayouts measures two layouts of events in PostgreSQL for
// issue 14's design (docs/EVENTSTORE.md), with COPY, one transaction per
// batch of 2,000: "blocks", zstd blocks of 128 records beside a narrow
// table of the indexed columns with its five indexes kept as rows
// arrive, and "blocks-hot", the same with the narrow table's indexes
// built in bulk once its partition is sealed. It prints rows/s, bytes per
// event, and the sealing's time. Run it with
//
//	VIGIL_TEST_POSTGRES=DSN go test -run '^$' -bench EventLayouts -benchtime 1x ./internal/store/pgstore
func BenchmarkEventLayouts(b *testing.B) {
	t := b
	dsn := os.Getenv("VIGIL_TEST_POSTGRES")
	if dsn == "" {
		b.Skip("VIGIL_TEST_POSTGRES is not set")
	}
	ctx := context.Background()
	recs := layoutRecords(20000)
	total := 400000
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	for range b.N {
		for _, layout := range []string{"blocks-hot", "blocks"} {
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			conn.Exec(ctx, "DROP SCHEMA IF EXISTS lay CASCADE")
			conn.Exec(ctx, "CREATE SCHEMA lay")
			conn.Exec(ctx, "SET search_path=lay")
			ddl := map[string]string{
				"rowzstd": `CREATE TABLE ev (seq bigint, hash bytea, time_source timestamptz, src_ip inet, src_asn int, src_fqdn text, data bytea) PARTITION BY RANGE (seq);
CREATE TABLE ev_0 PARTITION OF ev FOR VALUES FROM (0) TO (1000000000);
CREATE INDEX ON ev USING brin (time_source); CREATE INDEX ON ev (src_ip); CREATE INDEX ON ev (src_asn, time_source); CREATE INDEX ON ev (hash); CREATE INDEX ON ev (src_fqdn) WHERE src_fqdn IS NOT NULL;`,
				"blocks-hot": `CREATE TABLE blk (block bigint PRIMARY KEY, data bytea);
CREATE TABLE ix (block bigint, slot int, hash bytea, time_source timestamptz, src_ip inet, src_asn int, src_fqdn text) PARTITION BY RANGE (block);
CREATE TABLE ix_0 PARTITION OF ix FOR VALUES FROM (0) TO (1000000000);
CREATE INDEX ON ix USING brin (block);`,
				"blocks": `CREATE TABLE blk (block bigint PRIMARY KEY, data bytea);
CREATE TABLE ix (block bigint, slot int, hash bytea, time_source timestamptz, src_ip inet, src_asn int, src_fqdn text) PARTITION BY RANGE (block);
CREATE TABLE ix_0 PARTITION OF ix FOR VALUES FROM (0) TO (1000000000);
CREATE INDEX ON ix USING brin (time_source); CREATE INDEX ON ix (src_ip); CREATE INDEX ON ix (src_asn, time_source); CREATE INDEX ON ix (hash); CREATE INDEX ON ix (src_fqdn) WHERE src_fqdn IS NOT NULL;`,
			}[layout]
			if _, err := conn.Exec(ctx, ddl); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			var seq, blockNo, slot int64
			var cpuEnc time.Duration
			for done := 0; done < total; done += layoutBatch {
				t0 := time.Now()
				rows := make([][]any, 0, layoutBatch)
				var blocks [][]any
				var blk []byte
				for i := 0; i < layoutBatch; i++ {
					r := recs[(done+i)%len(recs)]
					var h [32]byte
					binary.BigEndian.PutUint64(h[:], uint64(done+i)*0x9E3779B97F4A7C15)
					ip := netip.AddrFrom4([4]byte{10, byte(done + i>>16), byte(done + i>>8), byte(done + i)})
					ts := time.Unix(1762000000+int64(done+i)/10, 0)
					asn := 64512 + (done+i)%1000
					var fqdn any
					if (done+i)%4 == 0 {
						fqdn = fmt.Sprintf("be.example.d%d.host%d.", (done+i)%1000, done+i)
					}
					switch layout {
					case "rowzstd":
						rows = append(rows, []any{seq, h[:], ts, ip, asn, fqdn, enc.EncodeAll(r, nil)})
					case "blocks", "blocks-hot":
						rows = append(rows, []any{blockNo, int(slot), h[:], ts, ip, asn, fqdn})
						blk = append(blk, r...)
						slot++
						if slot == 128 || i == layoutBatch-1 {
							blocks = append(blocks, []any{blockNo, enc.EncodeAll(blk, nil)})
							blk = blk[:0]
							blockNo++
							slot = 0
						}
					}
					seq++
				}
				cpuEnc += time.Since(t0)
				tx, err := conn.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				switch layout {
				case "rowzstd":
					_, err = tx.CopyFrom(ctx, pgx.Identifier{"ev"}, []string{"seq", "hash", "time_source", "src_ip", "src_asn", "src_fqdn", "data"}, pgx.CopyFromRows(rows))
				case "blocks", "blocks-hot":
					if _, err = tx.CopyFrom(ctx, pgx.Identifier{"blk"}, []string{"block", "data"}, pgx.CopyFromRows(blocks)); err == nil {
						_, err = tx.CopyFrom(ctx, pgx.Identifier{"ix"}, []string{"block", "slot", "hash", "time_source", "src_ip", "src_asn", "src_fqdn"}, pgx.CopyFromRows(rows))
					}
				}
				if err != nil {
					t.Fatal(err)
				}
				if err := tx.Commit(ctx); err != nil {
					t.Fatal(err)
				}
			}
			el := time.Since(start)
			var size int64
			conn.QueryRow(ctx, "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname='lay' AND c.relkind IN ('r','m')").Scan(&size)
			fmt.Printf("%s: %d rows in %v = %.0f/s (client encode %v), %d B/event\n", layout, total, el.Round(time.Millisecond), float64(total)/el.Seconds(), cpuEnc.Round(time.Millisecond), size/int64(total))
			if layout == "blocks-hot" {
				t0 := time.Now()
				for _, ix := range []string{"CREATE INDEX ON ix_0 USING brin (time_source)", "CREATE INDEX ON ix_0 (src_ip)", "CREATE INDEX ON ix_0 (src_asn, time_source)", "CREATE INDEX ON ix_0 (hash)", "CREATE INDEX ON ix_0 (src_fqdn) WHERE src_fqdn IS NOT NULL"} {
					if _, err := conn.Exec(ctx, ix); err != nil {
						t.Fatal(err)
					}
				}
				conn.QueryRow(ctx, "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname='lay' AND c.relkind IN ('r','m')").Scan(&size)
				fmt.Printf("  sealing (5 indexes built in bulk): %v, then %d B/event\n", time.Since(t0).Round(time.Millisecond), size/int64(total))
			}
			conn.Exec(ctx, "DROP SCHEMA lay CASCADE")
			conn.Close(ctx)
		}
	}
}
