package store

import (
	"database/sql"
	"errors"
	"fmt"
	"testing"
)

// TestNotFound: "no rows", also wrapped, is ErrNotFound; another error is
// kept; each names the operation; nil stays nil.
func TestNotFound(t *testing.T) {
	if err := NotFound(nil, "get x"); err != nil {
		t.Errorf("nil became %v", err)
	}
	err := NotFound(fmt.Errorf("scan: %w", sql.ErrNoRows), "get x")
	if !errors.Is(err, ErrNotFound) || err.Error() != "get x: not found" {
		t.Errorf("no rows became %v", err)
	}
	other := errors.New("disk on fire")
	err = NotFound(other, "get x")
	if !errors.Is(err, other) || errors.Is(err, ErrNotFound) || err.Error() != "get x: disk on fire" {
		t.Errorf("another error became %v", err)
	}
}
