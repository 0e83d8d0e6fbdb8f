package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// openStore returns a real SQLite store in a temporary directory.
func openStore(t *testing.T) store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "vigil.db"), sqlitestore.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// tWriter sends log lines to the test's log, shown only on failure or -v.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// fixedNow is the clock of the tests.
func fixedNow() time.Time { return time.Date(2026, 11, 20, 8, 30, 0, 0, time.UTC) }

// delivered is what a recording deliver function saw.
type delivered struct {
	Feed, Name, Body string
}

// recorder is a deliver function that reads every input whole.
type recorder struct {
	mu   sync.Mutex
	got  []delivered
	fail func(in pipeline.Input) error // optional
}

func (r *recorder) deliver(ctx context.Context, in pipeline.Input) error {
	body, err := io.ReadAll(in.Body)
	if err != nil {
		return err
	}
	if r.fail != nil {
		if err := r.fail(in); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, delivered{in.Feed, in.Name, string(body)})
	return nil
}

func (r *recorder) all() []delivered {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivered(nil), r.got...)
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLimitReader(t *testing.T) {
	for _, tc := range []struct {
		name    string
		input   string
		limit   int64
		wantErr error
		want    string
	}{
		{"under the limit", "abc", 5, nil, "abc"},
		{"exactly the limit", "abcde", 5, nil, "abcde"},
		{"over the limit", "abcdef", 5, ErrTooLarge, "abcde"},
		{"no limit", "abcdef", 0, nil, "abcdef"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := io.ReadAll(newLimitReader(strings.NewReader(tc.input), tc.limit))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if string(got) != tc.want {
				t.Errorf("read %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzLimitReader(f *testing.F) {
	f.Add([]byte("2026-11-20,192.0.2.1\n"), int64(4))
	f.Add([]byte{}, int64(1))
	f.Fuzz(func(t *testing.T, data []byte, limit int64) {
		if limit <= 0 || limit > 1<<20 {
			t.Skip()
		}
		got, err := io.ReadAll(newLimitReader(bytes.NewReader(data), limit))
		if int64(len(data)) <= limit {
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("within the limit: got %d bytes, err %v", len(got), err)
			}
			return
		}
		if !errors.Is(err, ErrTooLarge) || !bytes.Equal(got, data[:limit]) {
			t.Fatalf("over the limit: got %d bytes, err %v", len(got), err)
		}
	})
}

func TestMaybeGunzip(t *testing.T) {
	for _, tc := range []struct {
		name, file  string
		body        []byte
		wantName    string
		wantContent string
	}{
		{"plain file", "report.csv", []byte("a,b\n"), "report.csv", "a,b\n"},
		{"gzip file", "report.csv.gz", gzipped(t, "a,b\n"), "report.csv", "a,b\n"},
		{"gz name but already decompressed", "report.csv.GZ", []byte("a,b\n"), "report.csv", "a,b\n"},
		{"empty gz", "empty.gz", nil, "empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, name, closeFn, err := maybeGunzip(bytes.NewReader(tc.body), tc.file)
			if err != nil {
				t.Fatal(err)
			}
			defer closeFn()
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if name != tc.wantName || string(got) != tc.wantContent {
				t.Errorf("got %q %q, want %q %q", name, got, tc.wantName, tc.wantContent)
			}
		})
	}
}
