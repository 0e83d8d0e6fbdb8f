package pipeline

import "errors"

// ErrPermanent marks a stage error that retrying cannot fix (a webhook
// answering 400, say). Stages wrap it (fmt.Errorf("…: %w", ErrPermanent));
// the runner checks it with errors.Is and sends the batch to the dead
// letters instead of having the bus redeliver it.
var ErrPermanent = errors.New("permanent failure")

// ErrUnknownFeed is returned for a feed name that is not configured.
var ErrUnknownFeed = errors.New("no such feed")
