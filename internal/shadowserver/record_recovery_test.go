package shadowserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// countingSink counts events and keeps rejects, so a large report does not
// hold its events in memory.
type countingSink struct {
	events  int
	raws    map[string]int // raw → events with it, when kept
	rejects []reject
}

func (c *countingSink) Event(e *event.Event) error {
	c.events++
	if c.raws != nil {
		c.raws[string(e.Raw())]++
	}
	return nil
}

func (c *countingSink) Reject(input []byte, reason error) {
	c.rejects = append(c.rejects, reject{bytes.Clone(input), reason})
}

// TestStrayQuoteCostsOneLine is finding 3 of issue 8: a scan_rdp report of
// 100,001 good rows with one unterminated quote on line 3 stored 65,461
// events; the other rows vanished into one dead letter of 4 MiB. Now the
// damaged line is the only reject and every other row is an event.
func TestStrayQuoteCostsOneLine(t *testing.T) {
	const rows = 100001
	var buf bytes.Buffer
	if err := Generate(&buf, "scan_rdp", rows, rand.New(rand.NewPCG(3, 3)), GenerateOptions{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(buf.String(), "\n")
	// Line 3 (index 2): a quote opens the port cell and is never closed.
	cells := strings.Split(lines[2], ",")
	cells[4] = `"` + cells[4]
	lines[2] = strings.Join(cells, ",")
	input := strings.Join(lines, "")

	p, err := New(DefaultSchema(), "")
	if err != nil {
		t.Fatal(err)
	}
	var c countingSink
	if err := p.Parse(context.Background(), pipeline.Input{Name: "2026-11-20-scan_rdp-belgium-geo.csv", Body: strings.NewReader(input)}, &c); err != nil {
		t.Fatal(err)
	}
	if c.events != rows-1 || len(c.rejects) != 1 {
		t.Fatalf("%d events and %d rejects, want %d and 1", c.events, len(c.rejects), rows-1)
	}
	var re *RowError
	if !errors.As(c.rejects[0].reason, &re) || re.Line != 3 || re.Column != "port" || !errors.Is(re, errUnclosedQuote) {
		t.Fatalf("reject reason %v, want line 3, column port, unclosed quote", c.rejects[0].reason)
	}
	if want := lines[0] + strings.TrimSuffix(lines[2], "\n"); string(c.rejects[0].input) != want {
		t.Fatalf("dead letter holds %d bytes, want the header and line 3 alone (%d bytes)", len(c.rejects[0].input), len(want))
	}
}

// damage is one way a line of a report gets broken in transit or by a
// careless producer.
type damage func(rng *rand.Rand, line string) string

var damages = map[string]damage{
	"stray quote opening a cell": func(rng *rand.Rand, line string) string {
		cells := strings.Split(line, ",")
		i := rng.IntN(len(cells))
		cells[i] = `"` + cells[i]
		return strings.Join(cells, ",")
	},
	"stray quote anywhere": func(rng *rand.Rand, line string) string {
		i := rng.IntN(len(line) + 1)
		return line[:i] + `"` + line[i:]
	},
	"truncated": func(rng *rand.Rand, line string) string {
		return line[:rng.IntN(len(line))]
	},
	"truncated inside a quoted cell": func(rng *rand.Rand, line string) string {
		i := rng.IntN(len(line))
		return line[:i] + `,"` + line[i:min(len(line), i+5)]
	},
	"junk bytes": func(rng *rand.Rand, line string) string {
		junk := make([]byte, 1+rng.IntN(8))
		for k := range junk {
			for junk[k] == 0 || junk[k] == '\n' || junk[k] == '\r' {
				junk[k] = byte(rng.IntN(256))
			}
		}
		i := rng.IntN(len(line) + 1)
		return line[:i] + string(junk) + line[i:]
	},
	"extra cell": func(rng *rand.Rand, line string) string { return line + ",extra" },
	"missing cell": func(rng *rand.Rand, line string) string {
		i := strings.LastIndexByte(line, ',')
		return line[:max(i, 0)]
	},
	"quoted cell with its quote doubled wrong": func(rng *rand.Rand, line string) string {
		cells := strings.Split(line, ",")
		i := rng.IntN(len(cells))
		cells[i] = `"` + cells[i] + `"x"`
		return strings.Join(cells, ",")
	},
}

// TestRecoveryProperty takes valid generated reports, breaks random lines
// in random ways, and checks that nothing vanishes: every undamaged row is
// an event of its own, and every damaged line is in an event or a reject.
func TestRecoveryProperty(t *testing.T) {
	p, err := New(DefaultSchema(), "")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for k := range damages {
		kinds = append(kinds, k)
	}
	reports := Reports()
	for seed := uint64(1); seed <= 100; seed++ {
		rng := rand.New(rand.NewPCG(seed, 8))
		report := reports[rng.IntN(len(reports))]
		t.Run(fmt.Sprintf("%s seed %d", report, seed), func(t *testing.T) {
			var buf bytes.Buffer
			if err := Generate(&buf, report, 200, rng, GenerateOptions{}); err != nil {
				t.Fatal(err)
			}
			text := strings.TrimSuffix(buf.String(), "\n")
			lines := strings.Split(text, "\n")
			damaged := map[int]string{} // line index → how
			for n := 1 + rng.IntN(10); n > 0; n-- {
				i := 1 + rng.IntN(len(lines)-1) // never the header
				kind := kinds[rng.IntN(len(kinds))]
				lines[i] = damages[kind](rng, lines[i])
				damaged[i] = kind
			}
			input := strings.Join(lines, "\n") + "\n"
			c := countingSink{raws: map[string]int{}}
			if err := p.Parse(context.Background(), pipeline.Input{Name: report + ".csv", Body: strings.NewReader(input)}, &c); err != nil {
				t.Fatal(err)
			}
			inSomething := func(line string) bool {
				for raw := range c.raws {
					if strings.Contains(raw, line) {
						return true
					}
				}
				for _, r := range c.rejects {
					if bytes.Contains(r.input, []byte(line)) {
						return true
					}
				}
				return false
			}
			for i, line := range lines[1:] {
				i++
				how, bad := damaged[i]
				switch {
				case !bad && c.raws[lines[0]+"\n"+line] != 1:
					// raw is the header, a newline and the row.
					t.Errorf("undamaged line %d is in %d events, want 1: %.80q\ndamage: %v", i+1, c.raws[lines[0]+"\n"+line], line, damaged)
				case bad && strings.TrimSpace(line) != "" && !inSomething(line):
					t.Errorf("line %d (%s) vanished: %.80q", i+1, how, line)
				}
			}
		})
	}
}
