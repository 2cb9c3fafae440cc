package localcluster

import (
	"context"
	"testing"
	"time"
)

// startTimeout is generous: other builds and tests may share the CPU.
const startTimeout = 3 * time.Minute

// StartT starts n clusters for a test and stops them in t.Cleanup, even when
// the test fails or panics. Missing binaries fail the test (never skip it),
// with a message that says to run `make tools`.
func StartT(t testing.TB, n int) *World {
	t.Helper()
	return StartOptionsT(t, Options{N: n})
}

// StartOptionsT is StartT with options; WorkDir and Logf are the test's.
func StartOptionsT(t testing.TB, o Options) *World {
	t.Helper()
	if testing.Short() {
		// `make test-unit` (go test -short) is the edit-test loop; `make test`,
		// which CI runs, never passes -short.
		t.Skip("needs local clusters: run make test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	o.WorkDir, o.Logf = t.TempDir(), t.Logf
	w, err := Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Stop(); err != nil {
			t.Errorf("stop local clusters: %v", err)
		}
	})
	return w
}
