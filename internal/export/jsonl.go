package export

import (
	"bufio"
	"fmt"
	"io"
)

// WriteJSONLines writes each event as one IntelMQ JSON object per line, the
// form IntelMQ's file output writes and its file collector reads.
func WriteJSONLines(w io.Writer, events Events) error {
	bw := bufio.NewWriter(w)
	var line []byte
	for e, err := range events {
		if err != nil {
			bw.Flush()
			return err
		}
		if e.Event == nil {
			continue
		}
		line = e.Event.AppendJSON(line[:0])
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return fmt.Errorf("write JSON lines: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write JSON lines: %w", err)
	}
	return nil
}
