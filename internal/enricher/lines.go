package enricher

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxConfigLine is the longest line a table file may have; anything longer
// is a malformed line, not a reason to give up on the file.
const maxConfigLine = 4096

// LineErrors counts the malformed lines of a table file (a routing table, an
// AS names list) and keeps the first line numbers for the log. Such files are
// configuration: a bad line is reported once when the file is loaded, never
// per event.
type LineErrors struct {
	Count int
	// First holds the numbers of the first ten bad lines, counting from 1.
	First []int
}

const lineErrorsKept = 10

func (le *LineErrors) add(line int) {
	le.Count++
	if len(le.First) < lineErrorsKept {
		le.First = append(le.First, line)
	}
}

// String describes the bad lines for a log message.
func (le LineErrors) String() string {
	if le.Count == 0 {
		return "none"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d (lines", le.Count)
	for _, n := range le.First {
		fmt.Fprintf(&b, " %d", n)
	}
	if le.Count > len(le.First) {
		b.WriteString(" …")
	}
	b.WriteString(")")
	return b.String()
}

// readLines calls fn for every line of r without its line ending. Comments
// (#) and blank lines are skipped; over-long lines go to bad. fn returns
// false for a malformed line.
func readLines(r io.Reader, bad *LineErrors, fn func(line string) bool) error {
	br := bufio.NewReaderSize(r, maxConfigLine)
	for n := 1; ; n++ {
		raw, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			bad.add(n)
			for errors.Is(err, bufio.ErrBufferFull) { // skip the rest of the line
				_, err = br.ReadSlice('\n')
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("line %d: %w", n, err)
			}
			continue
		}
		if len(raw) > 0 {
			line := strings.TrimSpace(string(raw))
			if line != "" && line[0] != '#' && !fn(line) {
				bad.add(n)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
	}
}
