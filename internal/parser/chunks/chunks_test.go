package chunks

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// numbers is a chunk of a made-up input: the numbers 0, 1, 2, … in
// chunks of size, squared by the workers.
type numbers struct {
	in, out []int
}

// counting is a Job over the numbers below total, recording what was
// handed on and how many workers were made.
type counting struct {
	total, size int
	next        int
	delivered   []int
	workers     atomic.Int32
	failAt      int   // Deliver fails when it reaches this number; 0 never
	readErr     error // Fill fails with it after the last number
}

var errDeliver = errors.New("deliver failed")

func (c *counting) job() Job[numbers] {
	return Job[numbers]{
		New: func() *numbers { return &numbers{} },
		Fill: func(n *numbers) (bool, error) {
			n.in = n.in[:0]
			for len(n.in) < c.size && c.next < c.total {
				n.in = append(n.in, c.next)
				c.next++
			}
			if c.next == c.total {
				return false, c.readErr
			}
			return true, nil
		},
		NewWorker: func() func(*numbers) {
			c.workers.Add(1)
			return func(n *numbers) {
				n.out = n.out[:0]
				for _, v := range n.in {
					if v%7 == 0 {
						runtime.Gosched() // let the workers finish out of order
					}
					n.out = append(n.out, v*v)
				}
			}
		},
		Deliver: func(n *numbers) error {
			for _, v := range n.out {
				if c.failAt > 0 && v == c.failAt*c.failAt {
					return errDeliver
				}
				c.delivered = append(c.delivered, v)
			}
			return nil
		},
	}
}

func squares(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i * i
	}
	return s
}

func TestRunKeepsInputOrder(t *testing.T) {
	for _, workers := range []int{1, 2, 3, 8} {
		for _, size := range []int{1, 5, 64} {
			for _, inFlight := range []int{0, 2, 5} {
				t.Run(fmt.Sprintf("%d workers, chunks of %d, %d in flight", workers, size, inFlight), func(t *testing.T) {
					c := &counting{total: 1000, size: size}
					if err := Run(context.Background(), Options{Workers: workers, InFlight: inFlight}, c.job()); err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(c.delivered, squares(1000)) {
						t.Fatalf("handed on out of order or incomplete: %d results", len(c.delivered))
					}
				})
			}
		}
	}
}

// TestSmallInputNeedsNoWorkers: an input that ends in its first chunk is
// worked on the caller's goroutine by the one worker state made for it.
func TestSmallInputNeedsNoWorkers(t *testing.T) {
	c := &counting{total: 10, size: 64}
	if err := Run(context.Background(), Options{Workers: 4}, c.job()); err != nil {
		t.Fatal(err)
	}
	if got := c.workers.Load(); got != 1 {
		t.Errorf("%d worker states made for one chunk, want 1", got)
	}
	if !slices.Equal(c.delivered, squares(10)) {
		t.Errorf("handed on %v", c.delivered)
	}
	c = &counting{total: 1000, size: 64}
	if err := Run(context.Background(), Options{Workers: 4}, c.job()); err != nil {
		t.Fatal(err)
	}
	if got := c.workers.Load(); got != 4 {
		t.Errorf("%d worker states made for many chunks, want 4", got)
	}
}

// TestReadErrorComesAfterTheRecordsBeforeIt: a Fill error is returned once
// the chunk it ended is handed on.
func TestReadErrorComesAfterTheRecordsBeforeIt(t *testing.T) {
	readErr := errors.New("stream broken")
	for _, workers := range []int{1, 3} {
		c := &counting{total: 500, size: 16, readErr: readErr}
		if err := Run(context.Background(), Options{Workers: workers}, c.job()); !errors.Is(err, readErr) {
			t.Fatalf("%d workers: got %v, want the read error", workers, err)
		}
		if !slices.Equal(c.delivered, squares(500)) {
			t.Errorf("%d workers: %d results handed on before the read error, want 500", workers, len(c.delivered))
		}
	}
}

// TestStopsAndEndsItsWorkers stops a run from Deliver and by cancelling
// inside a synctest bubble, which fails when a worker is left blocked.
func TestStopsAndEndsItsWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &counting{total: 100000, size: 10, failAt: 5000}
		if err := Run(context.Background(), Options{Workers: 4}, c.job()); !errors.Is(err, errDeliver) {
			t.Fatalf("got %v, want the Deliver error", err)
		}
		if !slices.Equal(c.delivered, squares(5000)) {
			t.Errorf("%d results handed on before the failure, want 5000", len(c.delivered))
		}
		if c.next >= 5000+10*9 {
			t.Errorf("read up to %d: more than the chunks in flight past the failure", c.next)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		c := &counting{total: 100000, size: 10}
		job := c.job()
		deliver := job.Deliver
		job.Deliver = func(n *numbers) error {
			if len(c.delivered) >= 3000 {
				cancel()
			}
			return deliver(n)
		}
		if err := Run(ctx, Options{Workers: 4}, job); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		if len(c.delivered) > 3010 {
			t.Errorf("%d results handed on after cancelling at 3000", len(c.delivered))
		}
	})
}

// TestWorkerPanicReachesTheCaller: a panic while working on a chunk is
// raised on Run's goroutine, where a caller can recover from it as it could
// without workers, and the workers end.
func TestWorkerPanicReachesTheCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &counting{total: 10000, size: 10}
		job := c.job()
		newWorker := job.NewWorker
		job.NewWorker = func() func(*numbers) {
			work := newWorker()
			return func(n *numbers) {
				if n.in[0] == 5000 {
					panic("bad chunk")
				}
				work(n)
			}
		}
		defer func() {
			if v := recover(); v != "bad chunk" {
				t.Errorf("recovered %v, want the worker's panic", v)
			}
			if !slices.Equal(c.delivered, squares(5000)) {
				t.Errorf("%d results handed on before the panic, want 5000", len(c.delivered))
			}
		}()
		_ = Run(context.Background(), Options{Workers: 4}, job)
		t.Error("Run returned instead of panicking")
	})
}
