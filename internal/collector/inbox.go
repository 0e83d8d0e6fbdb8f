package collector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
)

func init() {
	pipeline.RegisterCollector("inbox",
		"files dropped into a directory (write, then rename in); options dir, poll, keep",
		newInboxFromOptions)
}

// processingDir holds the files being delivered; its leading dot keeps the
// inbox scan from picking it up.
const processingDir = ".processing"

// Inbox delivers the files dropped into a directory, one at a time in name
// order. Writers must write a file under a name starting with "." or ending
// in .tmp or .part and rename it into place when it is complete: such names
// are ignored, and a rename is atomic, so a half-written file is never read.
//
// A picked file is first moved to <dir>/.processing. When the pipeline took
// it, it moves to <data>/archive/<feed>/<yyyy-mm-dd>/ (or is deleted); when
// the pipeline refused it as a whole it moves to <data>/failed/<feed>/ and a
// dead letter says why. Files found in .processing at start were interrupted
// by a crash and are delivered again first; the store is idempotent on the
// event hash, so nothing is stored twice.
type Inbox struct {
	feed       string
	dir        string
	archiveDir string // "" deletes delivered files
	failedDir  string
	poll       time.Duration
	store      inboxStore // may be nil: failures are then only logged
	logger     *slog.Logger
	now        func() time.Time
}

// InboxConfig configures an Inbox.
type InboxConfig struct {
	Feed string
	// Dir is the watched directory.
	Dir string
	// ArchiveDir receives delivered files in per-day folders; "" deletes them.
	ArchiveDir string
	// FailedDir receives files the pipeline refused.
	FailedDir string
	// Poll is how often Dir is listed (default 1s).
	Poll time.Duration
}

// NewInbox returns an inbox collector. env.Store receives dead letters for
// refused files.
func NewInbox(env pipeline.Env, cfg InboxConfig) (*Inbox, error) {
	if cfg.Feed == "" {
		return nil, errors.New("inbox: feed name is empty")
	}
	if cfg.Dir == "" {
		return nil, fmt.Errorf("inbox: %w", pipeline.OptionProblem("collector.inbox.nodir"))
	}
	if cfg.FailedDir == "" {
		return nil, errors.New("inbox: directory of failed files not set")
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	in := &Inbox{
		feed:       cfg.Feed,
		dir:        cfg.Dir,
		archiveDir: cfg.ArchiveDir,
		failedDir:  cfg.FailedDir,
		poll:       cfg.Poll,
		store:      env.Store,
	}
	_, in.logger, in.now = fromEnv(env, "inbox", cfg.Feed)
	return in, nil
}

// inboxOptions are the inbox's collector options.
type inboxOptions struct {
	// Dir is the watched directory (default <data>/inbox/<feed>).
	Dir  string        `opt:"dir"`
	Poll time.Duration `opt:"poll"`
	// Keep archives delivered files; false deletes them.
	Keep bool `opt:"keep"`
}

func newInboxFromOptions(env pipeline.Env, feed string, opts pipeline.Options) (pipeline.Collector, error) {
	o := inboxOptions{Dir: filepath.Join(env.DataDir, "inbox", feed), Poll: time.Second, Keep: true}
	if err := opts.Decode(&o); err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	if env.DataDir == "" {
		return nil, errors.New("inbox: no data directory")
	}
	cfg := InboxConfig{
		Feed:      feed,
		Dir:       o.Dir,
		FailedDir: filepath.Join(env.DataDir, "failed", feed),
		Poll:      o.Poll,
	}
	if o.Keep {
		cfg.ArchiveDir = filepath.Join(env.DataDir, "archive", feed)
	}
	return NewInbox(env, cfg)
}

// Run delivers files until ctx ends. It returns an error only when the
// inbox cannot be set up.
func (in *Inbox) Run(ctx context.Context, deliver pipeline.Deliver) error {
	processing := filepath.Join(in.dir, processingDir)
	for _, d := range []string{in.dir, processing, in.failedDir} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return i18n.Wrap(err, "collector.inbox.mkdir")
		}
	}

	// Whatever a crash left in .processing goes first, so files still leave
	// in name order.
	in.drain(ctx, processing, deliver, false)
	tick := time.NewTicker(in.poll)
	defer tick.Stop()
	for {
		in.drain(ctx, in.dir, deliver, true)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// drain delivers every eligible file of dir in name order. Files of the
// inbox proper are claimed (moved into .processing) first.
func (in *Inbox) drain(ctx context.Context, dir string, deliver pipeline.Deliver, claim bool) {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		// An inbox removed by mistake is recreated rather than ending the
		// collector; other errors are retried at the next poll.
		in.logger.Error("list inbox", "dir", dir, "err", err)
		if errors.Is(err, fs.ErrNotExist) {
			if err := os.MkdirAll(filepath.Join(in.dir, processingDir), 0o750); err != nil {
				in.logger.Error("recreate inbox", "dir", in.dir, "err", err)
			}
		}
		return
	}
	for _, entry := range entries {
		if ctx.Err() != nil {
			return
		}
		name := entry.Name()
		if !entry.Type().IsRegular() || ignored(name) {
			continue
		}
		path := filepath.Join(dir, name)
		if claim {
			claimed := filepath.Join(in.dir, processingDir, name)
			if err := os.Rename(path, claimed); err != nil {
				if !errors.Is(err, fs.ErrNotExist) { // another process took it
					in.logger.Error("claim file", "file", name, "err", err)
				}
				continue
			}
			path = claimed
		}
		in.handle(ctx, path, deliver)
	}
}

// ignored reports whether a file name marks a file still being written.
func ignored(name string) bool {
	return strings.HasPrefix(name, ".") ||
		strings.HasSuffix(name, ".tmp") ||
		strings.HasSuffix(name, ".part")
}

// handle delivers one claimed file and moves it on according to the result.
func (in *Inbox) handle(ctx context.Context, path string, deliver pipeline.Deliver) {
	name := filepath.Base(path)
	start := in.now()
	err := in.deliverFile(ctx, path, deliver)
	switch {
	case err == nil:
		if in.archiveDir == "" {
			if err := os.Remove(path); err != nil {
				in.logger.Error("remove delivered file", "file", name, "err", err)
			}
		} else {
			if _, err := moveUnique(path, filepath.Join(in.archiveDir, utcDate(in.now()))); err != nil {
				in.logger.Error("archive delivered file", "file", name, "err", err)
			}
		}
		in.logger.Info("file delivered", "file", name, "duration", in.now().Sub(start))
	case ctx.Err() != nil:
		// Shutting down: the file stays in .processing and is delivered
		// again on the next start.
		in.logger.Info("delivery interrupted; will resume at next start", "file", name)
	default:
		in.fail(ctx, path, err)
	}
}

func (in *Inbox) deliverFile(ctx context.Context, path string, deliver pipeline.Deliver) error {
	f, err := os.Open(path)
	if err != nil {
		return &i18n.Error{Message: i18n.FileProblem(filepath.Base(path), err), Err: err}
	}
	defer f.Close()
	body, name, closeBody, err := maybeGunzip(f, filepath.Base(path))
	if err != nil {
		return err
	}
	defer closeBody()
	return deliver(ctx, pipeline.Input{Feed: in.feed, Name: name, Body: body})
}

// fail moves a refused file to the failed folder and records why, so an
// analyst sees it on the dead-letter page and can move it back once the
// cause is fixed.
func (in *Inbox) fail(ctx context.Context, path string, reason error) {
	name := filepath.Base(path)
	in.logger.Error("file refused", "file", name, "err", reason)
	if _, err := moveUnique(path, in.failedDir); err != nil {
		in.logger.Error("move refused file", "file", name, "err", err)
	}
	if in.store == nil {
		return
	}
	// The recording must happen even when ctx was cancelled by a failing
	// stage: without it the file would sit in failed/ unnoticed.
	ctx = context.WithoutCancel(ctx)
	now := in.now()
	letter := store.DeadLetter{
		Feed:   in.feed,
		Parser: "collector/inbox",
		Input:  []byte(name),
		Error:  reason.Error(),
		Time:   now,
	}
	// Said in the reader's language when the reason says itself.
	letter.Problem, _ = i18n.Said(reason)
	if err := in.store.AddDeadLetters(ctx, []store.DeadLetter{letter}); err != nil {
		in.logger.Error("record dead letter", "file", name, "err", err)
	}
	if err := in.store.AddFeedCounters(ctx, store.FeedKey{Feed: in.feed}, store.FeedCounters{DeadLetters: 1}, now, time.Time{}, reason.Error(), letter.Problem); err != nil {
		in.logger.Error("record feed error", "file", name, "err", err)
	}
}

// moveUnique renames path into dir, creating dir, and adds a counter to the
// name when dir already holds one of that name: a report sent twice must
// not overwrite the copy of the first.
func moveUnique(path, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	name := filepath.Base(path)
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	if strings.HasSuffix(strings.ToLower(name), ".gz") {
		// keep report.csv.gz → report.1.csv.gz, still readable by name.
		ext = filepath.Ext(stem) + ext
		stem = strings.TrimSuffix(name, ext)
	}
	dest := filepath.Join(dir, name)
	for n := 1; ; n++ {
		if _, err := os.Lstat(dest); errors.Is(err, fs.ErrNotExist) {
			break
		}
		dest = filepath.Join(dir, stem+"."+strconv.Itoa(n)+ext)
	}
	if err := moveFile(path, dest); err != nil {
		return "", err
	}
	return dest, nil
}

// moveFile renames, or copies and removes when the two folders are on
// different file systems (an inbox on a shared mount, say).
func moveFile(from, to string) error {
	err := os.Rename(from, to)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		return err
	}
	src, openErr := os.Open(from)
	if openErr != nil {
		return err
	}
	defer src.Close()
	dst, createErr := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if createErr != nil {
		return fmt.Errorf("%w; copy: %w", err, createErr)
	}
	if _, copyErr := io.Copy(dst, src); copyErr != nil {
		dst.Close()
		os.Remove(to)
		return fmt.Errorf("%w; copy: %w", err, copyErr)
	}
	if syncErr := dst.Sync(); syncErr != nil {
		dst.Close()
		os.Remove(to)
		return fmt.Errorf("%w; copy: %w", err, syncErr)
	}
	if closeErr := dst.Close(); closeErr != nil {
		os.Remove(to)
		return fmt.Errorf("%w; copy: %w", err, closeErr)
	}
	return os.Remove(from)
}

var _ pipeline.Collector = (*Inbox)(nil)

// Fetch makes one pass over the inbox at once (a run asked for by hand):
// it delivers every file waiting. What is in .processing is left to Run,
// which may be delivering it right now.
func (in *Inbox) Fetch(ctx context.Context, deliver pipeline.Deliver) error {
	processing := filepath.Join(in.dir, processingDir)
	for _, d := range []string{in.dir, processing, in.failedDir} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return i18n.Wrap(err, "collector.inbox.mkdir")
		}
	}
	in.drain(ctx, in.dir, deliver, true)
	return nil
}

var _ pipeline.Fetcher = (*Inbox)(nil)
