package output

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vigil-cert/vigil/internal/pipeline"
)

func init() {
	pipeline.RegisterOutput("jsonl",
		"appends events as IntelMQ JSON lines to a file; options path (with {feed}, {date})",
		newJSONLFromOptions)
}

// JSONL appends each batch as IntelMQ JSON lines to a file, one fsync per
// batch. The path may hold {feed} (the batch's feed) and {date} (today,
// yyyy-mm-dd in UTC), so files can be split per feed and per day. A
// relative path in the config file is taken from the data directory.
//
// Delivery is at least once: a batch written just before a crash, and not
// yet acknowledged on the bus, is written again after the restart, so a
// file may hold the same event twice. Readers that care deduplicate by
// event hash, as Vigil's own jsonl parser and store do.
//
// A file moved away by logrotate or an operator is noticed at the next
// batch and a new one is created at the configured path; no signal is
// needed.
type JSONL struct {
	pattern string
	now     func() time.Time

	mu sync.Mutex
	// open holds the file currently written for each feed; an old day's
	// file is closed when the feed's path moves on.
	open map[string]*jsonlFile
}

type jsonlFile struct {
	path string
	f    *os.File
}

// NewJSONL returns a JSON-lines output writing to pattern.
func NewJSONL(pattern string, now func() time.Time) (*JSONL, error) {
	if pattern == "" {
		return nil, fmt.Errorf("jsonl output: %w", pipeline.OptionProblem("output.jsonl.nopath"))
	}
	if now == nil {
		now = time.Now
	}
	return &JSONL{pattern: pattern, now: now, open: map[string]*jsonlFile{}}, nil
}

func newJSONLFromOptions(env pipeline.Env, opts pipeline.Options) (pipeline.Output, error) {
	var o struct {
		// Path is the file pattern; relative, it is taken from the data
		// directory.
		Path string `opt:"path"`
	}
	if err := opts.Decode(&o); err != nil {
		return nil, fmt.Errorf("jsonl output: %w", err)
	}
	pattern := o.Path
	if pattern != "" && !filepath.IsAbs(pattern) && env.DataDir != "" {
		pattern = filepath.Join(env.DataDir, pattern)
	}
	return NewJSONL(pattern, env.Now)
}

// Path returns the file a batch of feed is written to now.
func (j *JSONL) Path(feed string) string {
	return strings.NewReplacer(
		"{feed}", safeFileName(feed),
		"{date}", j.now().UTC().Format(time.DateOnly),
	).Replace(j.pattern)
}

// safeFileName keeps a feed name from reaching outside the configured
// folder ("../x") or making odd file names.
func safeFileName(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		case c == '.' && i > 0:
		default:
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

// Write appends the batch and syncs the file. On a failed write the file is
// cut back to its previous length, so no half line is left for the next
// batch to continue.
func (j *JSONL) Write(ctx context.Context, b *pipeline.Batch) error {
	if len(b.Events) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	buf := make([]byte, 0, 512*len(b.Events))
	for _, e := range b.Events {
		buf = e.AppendJSON(buf)
		buf = append(buf, '\n')
	}

	j.mu.Lock()
	defer j.mu.Unlock()
	f, err := j.file(b.Feed)
	if err != nil {
		return err
	}
	info, err := f.f.Stat()
	if err != nil {
		return fmt.Errorf("jsonl %s: %w", f.path, err)
	}
	if _, err := f.f.Write(buf); err != nil {
		if terr := f.f.Truncate(info.Size()); terr != nil {
			err = fmt.Errorf("%w (and cutting back: %w)", err, terr)
		}
		j.closeFeed(b.Feed)
		return fmt.Errorf("jsonl %s: %w", f.path, err)
	}
	if err := f.f.Sync(); err != nil {
		j.closeFeed(b.Feed)
		return fmt.Errorf("jsonl %s: sync: %w", f.path, err)
	}
	return nil
}

// file returns the open file for feed, opening it when the path changed
// (a new day) or the file was moved away (rotation).
func (j *JSONL) file(feed string) (*jsonlFile, error) {
	path := j.Path(feed)
	if cur, ok := j.open[feed]; ok {
		if cur.path == path && sameFile(cur.f, path) {
			return cur, nil
		}
		j.closeFeed(feed)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("jsonl %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("jsonl: %w", err)
	}
	cur := &jsonlFile{path: path, f: f}
	j.open[feed] = cur
	return cur, nil
}

// sameFile reports whether path still names the open file f.
func sameFile(f *os.File, path string) bool {
	onDisk, err := os.Stat(path)
	if err != nil {
		return false // gone (rotated away) or unreadable: reopen
	}
	open, err := f.Stat()
	if err != nil {
		return false
	}
	return os.SameFile(onDisk, open)
}

func (j *JSONL) closeFeed(feed string) {
	if cur, ok := j.open[feed]; ok {
		cur.f.Close()
		delete(j.open, feed)
	}
}

// Close closes the open files.
func (j *JSONL) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	var errs []error
	for feed, cur := range j.open {
		if err := cur.f.Close(); err != nil && !errors.Is(err, fs.ErrClosed) {
			errs = append(errs, err)
		}
		delete(j.open, feed)
	}
	return errors.Join(errs...)
}

var _ pipeline.Output = (*JSONL)(nil)
