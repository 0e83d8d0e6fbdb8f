// Package chunks parses one input on every core and keeps its order: the
// caller splits the input into chunks of records on its own goroutine,
// workers turn each chunk into its results, and the caller hands the
// results on in input order. It knows nothing of any format; parsers of
// large inputs (Shadowserver's CSV, the generic CSV parser) use it.
//
// The decisions a reader needs to know:
//
//   - Reading and handing on stay on the caller's goroutine. A pipeline
//     sink is not safe for concurrent use, and the input's reader may be
//     tied to the sink (the runner's refusing reader ends an input once the
//     sink refused it), so only the work in between moves to other
//     goroutines; the one exception is a sink's Prepare (pipeline.Preparer),
//     which Records calls on the workers and which is safe for that.
//   - Memory is bounded: at most Options.InFlight chunks are read and not
//     yet handed on, and their memory is reused (but for a chunk's
//     records under Records.KeepText, which what the workers made of them
//     may keep: the Shadowserver parser's events hold their rows so).
//   - A small input pays for no goroutine: the first chunk is read before
//     any worker starts, and an input that ends within it is worked on the
//     caller's goroutine.
//   - When handing on fails (the sink refused the input, the pipeline
//     stopped) or the context ends, Run stops reading, the workers skip the
//     chunks still queued, and Run returns only once every worker has
//     ended. A panic while working on a chunk is raised again on the
//     caller's goroutine when that chunk's turn comes.
package chunks

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// Options size the work.
type Options struct {
	// Workers is the number of goroutines working on chunks; 0 means
	// GOMAXPROCS. With 1 every chunk is worked on the caller's goroutine.
	Workers int
	// InFlight bounds the chunks read and not yet handed on; 0 means
	// twice the workers (at most 16), enough to keep them busy while the
	// caller reads and hands on.
	InFlight int
}

// Job is what Run does with an input, in chunks of type C.
type Job[C any] struct {
	// New returns an empty chunk. Run makes at most InFlight of them and
	// reuses them.
	New func() *C
	// Fill reads the next records of the input into c, replacing what c
	// held. more is false once the input has ended. A non-nil err ends
	// the input too: it stands after the records of c, which are worked
	// and handed on before Run returns err.
	Fill func(c *C) (more bool, err error)
	// NewWorker returns the function one worker applies to each chunk,
	// with scratch state of its own: no two goroutines share one.
	NewWorker func() func(c *C)
	// Deliver hands on the results of c, on the caller's goroutine, in
	// the order the chunks were filled. An error stops the input, and
	// Run returns it.
	Deliver func(c *C) error
}

// slot is a chunk on its way through the workers.
type slot[C any] struct {
	c    *C
	done chan struct{} // receives once the chunk is worked (or skipped)
	// panicked is what working on the chunk panicked with, raised again
	// on the caller's goroutine when the chunk's turn comes, as it would
	// have been without workers (a web handler that recovers from a
	// panic keeps doing so).
	panicked any
}

// workOn applies work to s's chunk, keeping a panic for the caller.
func (s *slot[C]) workOn(work func(*C)) {
	defer func() {
		if v := recover(); v != nil {
			s.panicked = v
		}
	}()
	work(s.c)
}

// Run reads the input with job.Fill, works on its chunks with
// o.Workers goroutines and hands the results on with job.Deliver in input
// order. It returns the first error of Fill, Deliver or the context.
func Run[C any](ctx context.Context, o Options, job Job[C]) error {
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	inFlight := o.InFlight
	if inFlight <= 0 {
		// Two chunks a worker keep every core busy; the cap keeps one
		// input's memory the same on a host with many cores.
		inFlight = min(2*workers, maxDefaultInFlight)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	first := job.New()
	more, readErr := job.Fill(first)
	if workers <= 1 || inFlight <= 1 || !more || readErr != nil {
		return sequential(ctx, job, first, more, readErr)
	}
	return parallel(ctx, job, first, workers, inFlight)
}

// maxDefaultInFlight bounds the chunks of one input in flight when
// Options.InFlight is not set.
const maxDefaultInFlight = 16

// sequential works on every chunk on the caller's goroutine, reusing one
// chunk: c is already filled.
func sequential[C any](ctx context.Context, job Job[C], c *C, more bool, readErr error) error {
	work := job.NewWorker()
	for {
		work(c)
		if err := job.Deliver(c); err != nil {
			return err
		}
		if readErr != nil || !more {
			return readErr
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		more, readErr = job.Fill(c)
	}
}

// parallel works on the chunks with workers goroutines; first is filled
// and the input goes on after it.
func parallel[C any](ctx context.Context, job Job[C], first *C, workers, inFlight int) (err error) {
	jobs := make(chan *slot[C], inFlight)
	var stopped atomic.Bool
	var wg sync.WaitGroup
	// Every worker's state is made before any goroutine starts, so that
	// a NewWorker that panics leaves no worker waiting on jobs.
	works := make([]func(*C), workers)
	for i := range works {
		works[i] = job.NewWorker()
	}
	for _, work := range works {
		wg.Go(func() {
			for s := range jobs {
				if !stopped.Load() {
					s.workOn(work)
				}
				s.done <- struct{}{}
			}
		})
	}
	defer func() {
		// Workers skip what is queued and end; none outlives Run.
		stopped.Store(true)
		close(jobs)
		wg.Wait()
	}()

	// queue holds the chunks in input order; free the ones handed on.
	queue := make([]*slot[C], 0, inFlight)
	var free []*slot[C]
	submit := func(s *slot[C]) {
		queue = append(queue, s)
		jobs <- s // never blocks: at most inFlight slots exist
	}
	submit(&slot[C]{c: first, done: make(chan struct{}, 1)})
	reading := true
	var readErr error
	deliverHead := func() error {
		// A cancelled input stops here too: the chunks already worked
		// are not handed on.
		if err := ctx.Err(); err != nil {
			return err
		}
		head := queue[0]
		queue = queue[1:]
		if v := head.panicked; v != nil {
			panic(v)
		}
		if err := job.Deliver(head.c); err != nil {
			return err
		}
		free = append(free, head)
		return nil
	}
	for {
		if reading && len(queue) < inFlight {
			// Hand on what is ready before reading more, so results do
			// not wait behind the reader.
			if len(queue) > 0 {
				select {
				case <-queue[0].done:
					if err := deliverHead(); err != nil {
						return err
					}
					continue
				default:
				}
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			var s *slot[C]
			if n := len(free); n > 0 {
				s, free = free[n-1], free[:n-1]
				s.panicked = nil
			} else {
				s = &slot[C]{c: job.New(), done: make(chan struct{}, 1)}
			}
			var more bool
			more, readErr = job.Fill(s.c)
			reading = more && readErr == nil
			submit(s)
			continue
		}
		if len(queue) == 0 {
			return readErr
		}
		<-queue[0].done
		if err := deliverHead(); err != nil {
			return err
		}
	}
}
