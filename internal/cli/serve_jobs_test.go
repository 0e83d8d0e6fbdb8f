package cli

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestJobsManyFailures shows that any number of failing jobs ends serve's
// group: the first failure cancels the jobs still running and is the one
// wait returns, and no later failure blocks (an error channel of four
// served seven jobs before).
func TestJobsManyFailures(t *testing.T) {
	group, ctx := newJobs(context.Background())
	stopped := make(chan struct{})
	group.run("long", func(ctx context.Context) error {
		<-ctx.Done()
		close(stopped)
		return ctx.Err()
	})
	group.run("first", func(context.Context) error { return errors.New("broken") })
	// The group cancels its context once it has kept the first error.
	<-ctx.Done()
	for i := range 20 {
		group.run(fmt.Sprint("job ", i), func(context.Context) error { return fmt.Errorf("failure %d", i) })
	}
	done := make(chan error, 1)
	go func() { done <- group.wait() }()
	select {
	case err := <-done:
		if err == nil || err.Error() != "first: broken" {
			t.Errorf("wait = %v, want first: broken", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("wait blocked")
	}
	select {
	case <-stopped:
	default:
		t.Error("the long job was not cancelled")
	}
}

// TestJobsStopWithoutError shows that jobs ending because the context was
// cancelled (the signal that stops serve) are no failure.
func TestJobsStopWithoutError(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	group, _ := newJobs(parent)
	for i := range 3 {
		group.run(fmt.Sprint("job ", i), func(ctx context.Context) error {
			<-ctx.Done()
			return fmt.Errorf("job %d: %w", i, ctx.Err())
		})
	}
	group.run("clean", func(ctx context.Context) error { <-ctx.Done(); return nil })
	cancel()
	if err := group.wait(); err != nil {
		t.Fatalf("wait = %v, want nil: a cancelled job has only stopped", err)
	}
}
