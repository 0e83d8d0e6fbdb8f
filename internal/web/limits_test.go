package web

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestServerTimeouts checks that every listener `vigil serve` opens has
// its read, write and idle timeouts and a header limit.
func TestServerTimeouts(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		srv := NewServer(http.NotFoundHandler(), Limits{}, nil)
		d := DefaultLimits()
		if srv.ReadHeaderTimeout != d.ReadHeaderTimeout || srv.ReadTimeout != d.ReadTimeout ||
			srv.WriteTimeout != d.WriteTimeout || srv.IdleTimeout != d.IdleTimeout || srv.MaxHeaderBytes != d.MaxHeaderBytes {
			t.Fatalf("server %+v", srv)
		}
		for name, v := range map[string]time.Duration{"read header": srv.ReadHeaderTimeout, "read": srv.ReadTimeout, "write": srv.WriteTimeout, "idle": srv.IdleTimeout} {
			if v <= 0 {
				t.Errorf("%s timeout not set", name)
			}
		}
	})
	t.Run("configured", func(t *testing.T) {
		l := Limits{ReadHeaderTimeout: 2 * time.Second, ReadTimeout: 3 * time.Second, WriteTimeout: 4 * time.Second, IdleTimeout: 5 * time.Second, MaxHeaderBytes: 8192}
		srv := NewServer(http.NotFoundHandler(), l, nil)
		if srv.ReadHeaderTimeout != 2*time.Second || srv.ReadTimeout != 3*time.Second || srv.WriteTimeout != 4*time.Second ||
			srv.IdleTimeout != 5*time.Second || srv.MaxHeaderBytes != 8192 {
			t.Fatalf("server %+v", srv)
		}
	})
}

// serveLimited runs h behind limitRequests on a NewServer listener.
func serveLimited(t *testing.T, l Limits, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(limitRequests(l, h), l, nil)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// TestLongExportOutlivesWriteTimeout streams a response for twice the
// write timeout: it completes because it keeps making progress, while a
// handler that writes nothing for longer than the timeout is cut off.
// The timeout is 2 s and a row comes every tenth of it. A machine that
// holds the handler back for long enough between two rows (with a 1 s
// timeout it happened at load 25–29) lets the deadline pass: that run
// did not keep making progress and proves nothing either way, and is
// run again. The handler measures its pauses from the request's
// arrival on, so that a run is judged by what it did, not by a guess of
// how long is long enough.
func TestLongExportOutlivesWriteTimeout(t *testing.T) {
	l := Limits{WriteTimeout: 2 * time.Second}
	const chunks = 20
	var (
		mu      sync.Mutex
		arrived time.Time // the export request's first byte was read
		// exported has the pauses of the export once the handler has
		// written its last row.
		exported = make(chan pauses, 1)
	)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(limitRequests(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stalled" {
			time.Sleep(2 * l.WriteTimeout)
			fmt.Fprintln(w, "too late")
			return
		}
		mu.Lock()
		last := arrived
		mu.Unlock()
		var p pauses
		for i := range chunks {
			fmt.Fprintf(w, "row %d\n", i)
			w.(http.Flusher).Flush()
			now := time.Now()
			if i == 0 {
				p.first = now.Sub(last)
			}
			p.longest, last = max(p.longest, now.Sub(last)), now
			time.Sleep(l.WriteTimeout / 10)
		}
		exported <- p
	})), l, nil)
	srv.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateActive {
			mu.Lock()
			arrived = time.Now()
			mu.Unlock()
		}
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	base := "http://" + ln.Addr().String()

	// The deadline is pushed at the first row a quarter of the timeout
	// after the last push, the first time a quarter of the timeout after
	// the handler began: the pause before the first row and the longest
	// one, together under half the timeout, leave a quarter of it to
	// spare.
	for run := 1; ; run++ {
		// A connection of its own, so that its arrival is this request's.
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		res, err := client.Get(base + "/export.csv")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		rows := strings.Count(string(body), "\n")
		p := <-exported
		if err == nil && rows == chunks {
			break
		}
		if p.first+p.longest < l.WriteTimeout/2 || run == 10 {
			t.Fatalf("export cut short after %d rows (run %d, %v before the first row, %v the longest pause): %v",
				rows, run, p.first, p.longest, err)
		}
		t.Logf("run %d: the machine held the export back (%v before the first row, %v the longest pause): run again",
			run, p.first, p.longest)
	}
	res, err := http.Get(base + "/stalled")
	if err == nil {
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err == nil {
			t.Fatalf("a stalled response past the write timeout arrived: %q", body)
		}
	}
}

// pauses are how long a streamed export went without writing: before
// its first row, and at most.
type pauses struct{ first, longest time.Duration }

// TestBodyLimits checks the request body bound, and the larger one of
// the upload route.
func TestBodyLimits(t *testing.T) {
	l := Limits{MaxBodyBytes: 1000, MaxUploadBytes: 5000}
	base := serveLimited(t, l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		fmt.Fprint(w, n)
	}))
	post := func(path string, size int, chunked bool) int {
		t.Helper()
		var body io.Reader = strings.NewReader(strings.Repeat("x", size))
		if chunked {
			// Hide the length, so only the reader's limit can stop it.
			body = io.MultiReader(body)
		}
		res, err := http.Post(base+path, "application/octet-stream", body)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	for _, tc := range []struct {
		name    string
		path    string
		size    int
		chunked bool
		want    int
	}{
		{"form within the limit", "/login", 1000, false, http.StatusOK},
		{"form over the limit, length declared", "/login", 1001, false, http.StatusRequestEntityTooLarge},
		{"form over the limit, streamed", "/login", 1001, true, http.StatusRequestEntityTooLarge},
		{"upload within its limit", "/constituency/import", 5000, true, http.StatusOK},
		{"upload over its limit", "/constituency/import", 5001, false, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := post(tc.path, tc.size, tc.chunked); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
		})
	}
}
