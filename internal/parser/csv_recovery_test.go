package parser

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestCSVRecoveryProperty breaks random lines of valid CSV input in random
// ways and checks, for every CSV-based parser, that nothing vanishes: each
// undamaged row is an event of its own, and each damaged line is an event
// or a reject. A quoted value never spans lines here, so a quote left open
// by damage costs its own line only (issue 8, finding 3).
func TestCSVRecoveryProperty(t *testing.T) {
	parsers := []struct {
		id     string
		opts   map[string]any
		header string
		row    func(i int) string
	}{
		{"csv", map[string]any{"columns": map[string]any{"ip": "source.ip", "seen": "time.source", "note": "extra.note"},
			"constant_fields": map[string]any{"classification.type": "scanner"}},
			"ip,seen,note", func(i int) string {
				return fmt.Sprintf(`192.0.2.%d,2026-11-20 00:%02d:00,"note, %d"`, i%250+1, i%60, i)
			}},
		{"urlhaus", nil, "# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter", func(i int) string {
			return fmt.Sprintf(`"%d","2026-11-20 00:%02d:00","http://192.0.2.%d/x%d","online","","malware_download","elf,mips","https://urlhaus.example.net/url/%d/","r"`, 900000+i, i%60, i%250+1, i, i)
		}},
		{"feodo", nil, `"first_seen_utc","dst_ip","dst_port","c2_status","last_online","malware"`, func(i int) string {
			return fmt.Sprintf(`"2026-11-20 00:%02d:00","192.0.2.%d","%d","online","2026-11-20","Dridex"`, i%60, i%250+1, 1000+i)
		}},
		{"phishtank", nil, "phish_id,url,phish_detail_url,submission_time,verified,verification_time,online,target", func(i int) string {
			return fmt.Sprintf(`%d,"https://p%d.example.com/a,b",http://www.phishtank.example.net/phish_detail.php?phish_id=%d,2026-11-20T00:00:00+00:00,yes,2026-11-20T00:10:00+00:00,yes,Other`, 9000000+i, i, i)
		}},
	}
	damages := []func(rng *rand.Rand, line string) string{
		func(rng *rand.Rand, line string) string { // a quote opening a value
			cells := strings.Split(line, ",")
			i := rng.IntN(len(cells))
			cells[i] = `"` + cells[i]
			return strings.Join(cells, ",")
		},
		func(rng *rand.Rand, line string) string { return line[:rng.IntN(len(line))] },
		func(rng *rand.Rand, line string) string {
			i := rng.IntN(len(line) + 1)
			return line[:i] + "\x01\"\xff" + line[i:]
		},
		func(rng *rand.Rand, line string) string { return line + `,"extra` },
	}
	for _, p := range parsers {
		for seed := uint64(1); seed <= 20; seed++ {
			t.Run(fmt.Sprintf("%s seed %d", p.id, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 3))
				lines := []string{p.header}
				for i := range 100 {
					lines = append(lines, p.row(i))
				}
				damaged := map[int]bool{}
				for n := 1 + rng.IntN(10); n > 0; n-- {
					i := 1 + rng.IntN(len(lines)-1)
					lines[i] = damages[rng.IntN(len(damages))](rng, lines[i])
					damaged[i] = true
				}
				rec, err := parse(t, newParser(t, p.id, p.opts), "feed.csv", []byte(strings.Join(lines, "\n")+"\n"))
				if err != nil {
					t.Fatal(err)
				}
				raws := map[string]int{}
				for _, e := range rec.events {
					raws[string(e.Raw())]++
				}
				for i, line := range lines[1:] {
					i++
					if p.id == "csv" {
						// The generic parser keeps the header with each
						// line, in raw and in the dead letter.
						line = p.header + "\n" + line
					}
					switch {
					case !damaged[i] && raws[line] != 1:
						t.Errorf("undamaged line %d is in %d events, want 1: %q", i+1, raws[line], line)
					case damaged[i] && strings.TrimSpace(line) != "" && raws[line] == 0 && !isRejected(rec, line):
						t.Errorf("damaged line %d vanished: %q", i+1, line)
					}
				}
			})
		}
	}
}

func isRejected(rec *recorder, line string) bool {
	for _, r := range rec.rejects {
		if bytes.Equal(r.input, []byte(line)) {
			return true
		}
	}
	return false
}
