package storetest

// The contract of SwapState: a compare-and-set of one state entry, which
// the newsletter's digest claims its window with (two presses of "make
// the digest now" make one digest).

import (
	"fmt"
	"sync"
	"testing"

	"github.com/vigil-cert/vigil/internal/store"
)

func testStateSwap(t *testing.T, s store.Store) {
	ctx := t.Context()
	swap := func(old, value []byte) bool {
		t.Helper()
		ok, err := s.SwapState(ctx, "swap", old, value)
		if err != nil {
			t.Fatalf("SwapState(%q → %q): %v", old, value, err)
		}
		return ok
	}
	get := func() string {
		t.Helper()
		v, err := s.GetState(ctx, "swap")
		if err != nil {
			t.Fatalf("GetState: %v", err)
		}
		return string(v)
	}
	if swap([]byte("a"), []byte("b")) {
		t.Error("a swap from a value of a missing key succeeded")
	}
	if !swap(nil, []byte("a")) {
		t.Fatal("a swap from absent of a missing key failed")
	}
	if swap(nil, []byte("x")) || get() != "a" {
		t.Errorf("a swap from absent of a key set succeeded: %q", get())
	}
	if swap([]byte("b"), []byte("x")) || get() != "a" {
		t.Errorf("a swap from another value succeeded: %q", get())
	}
	if !swap([]byte("a"), []byte("b")) || get() != "b" {
		t.Errorf("a swap from the value held failed: %q", get())
	}
	if !swap([]byte("b"), nil) || get() != "" {
		t.Errorf("a swap to empty failed: %q", get())
	}
	if swap(nil, []byte("x")) || !swap([]byte{}, []byte("c")) || get() != "c" {
		t.Errorf("an empty value is not absent: %q", get())
	}
}

// testStateSwapConcurrent swaps from one value in many goroutines at
// once: exactly one wins.
func testStateSwapConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	if err := s.PutState(ctx, "race", []byte("start")); err != nil {
		t.Fatal(err)
	}
	const n = 8
	won := raceOnce(t, "SwapState", n, func(i int) (string, bool, error) {
		value := fmt.Sprintf("won by %d", i)
		ok, err := s.SwapState(ctx, "race", []byte("start"), []byte(value))
		return value, ok, err
	})
	v, err := s.GetState(ctx, "race")
	if len(won) != 1 || err != nil || string(v) != won[0] {
		t.Errorf("%d goroutines swapped from one value: won by %q, the value is %q, %v; want one winner", n, won, v, err)
	}
}

// raceOnce runs try in n goroutines at once (the i-th with i) and returns
// the names of those that won, each try's name and whether it won; it
// fails the test, naming op, if any try failed.
func raceOnce(t *testing.T, op string, n int, try func(i int) (name string, won bool, err error)) []string {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		won  []string
		errs []error
	)
	for i := range n {
		wg.Go(func() {
			name, ok, err := try(i)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if ok {
				won = append(won, name)
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%s at once: %v", op, errs)
	}
	return won
}
