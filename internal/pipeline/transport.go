package pipeline

import "context"

// Transport carries batches from the parsers to the workers that enrich and
// store them: JetStream in `vigil serve` (package bus), a channel inside one
// process for `vigil ingest` and `vigil bench` (Local).
type Transport interface {
	// Publish hands a batch on. The returned Pending resolves once the batch
	// is durable on the transport (JetStream) or fully processed (Local).
	Publish(ctx context.Context, b *Batch) (Pending, error)
	// Consume calls handle for every batch, from up to workers goroutines,
	// until ctx ends. A batch is acknowledged when handle returns nil and
	// delivered again otherwise.
	Consume(ctx context.Context, workers int, handle func(ctx context.Context, b *Batch) error) error
}

// Pending is a published batch not yet known to be safe.
type Pending interface {
	Wait(ctx context.Context) error
}

// Local is an in-process Transport: a bounded channel, so a slow consumer
// holds the parser back (back-pressure) and memory stays bounded.
type Local struct {
	ch chan localItem
}

type localItem struct {
	batch *Batch
	done  chan error
}

type localPending chan error

func (p localPending) Wait(ctx context.Context) error {
	select {
	case err := <-p:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// NewLocal returns a Local transport holding at most depth batches in flight.
func NewLocal(depth int) *Local {
	return &Local{ch: make(chan localItem, depth)}
}

// Publish implements Transport.
func (l *Local) Publish(ctx context.Context, b *Batch) (Pending, error) {
	done := make(chan error, 1)
	select {
	case l.ch <- localItem{batch: b, done: done}:
		return localPending(done), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Consume implements Transport. A failed batch is not retried in process:
// its error is returned to the publisher, which decides.
func (l *Local) Consume(ctx context.Context, workers int, handle func(ctx context.Context, b *Batch) error) error {
	errs := make(chan error, workers)
	for range workers {
		go func() {
			for {
				select {
				case it := <-l.ch:
					it.done <- handle(ctx, it.batch)
				case <-ctx.Done():
					errs <- nil
					return
				}
			}
		}()
	}
	for range workers {
		<-errs
	}
	return ctx.Err()
}
