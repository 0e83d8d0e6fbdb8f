package mailreport

import (
	"context"

	"github.com/vigil-cert/vigil/internal/mailin"
)

// Handle is handle, for the test that a report and its mail's "done" are
// one commit.
func (w *Worker) Handle(ctx context.Context, m mailin.Mail) error { return w.handle(ctx, m) }
