package istiod

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ristio/pulumi-ristio/pkg/kube"
	"github.com/ristio/pulumi-ristio/pkg/meshcheck"
)

// TestSharedAsksOncePerClusterAndRevision: callers of one key that arrive
// while a question is in flight get its answer; another key is asked on its
// own; a caller that gives up does not cancel the question for the others.
func TestSharedAsksOncePerClusterAndRevision(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	s := &Shared{ask: func(ctx context.Context, _ *kube.Client, revision string) ([]meshcheck.Istiod, error) {
		calls.Add(1)
		<-release
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return []meshcheck.Istiod{{Pod: "istiod-" + revision}}, nil
	}}
	waitFor := func(n int32) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for calls.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d questions in flight, want %d", calls.Load(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	const callers = 5
	var wg sync.WaitGroup
	answers := make([][]meshcheck.Istiod, callers)
	ask := func(i int) { answers[i], _ = s.Ask(context.Background(), "cluster1", nil, "canary") }
	wg.Go(func() { ask(0) })
	waitFor(1)
	for i := 1; i < callers; i++ {
		wg.Go(func() { ask(i) })
	}
	gaveUp, cancel := context.WithCancel(context.Background())
	quitter := make(chan error, 1)
	go func() {
		_, err := s.Ask(gaveUp, "cluster1", nil, "canary")
		quitter <- err
	}()
	time.Sleep(200 * time.Millisecond) // the later callers join the question in flight
	cancel()
	if err := <-quitter; !errors.Is(err, context.Canceled) {
		t.Errorf("a caller that gave up got %v, want context.Canceled", err)
	}
	other := make(chan []meshcheck.Istiod, 1)
	go func() {
		a, _ := s.Ask(context.Background(), "cluster2", nil, "canary")
		other <- a
	}()
	waitFor(2)
	close(release)
	wg.Wait()
	if a := <-other; len(a) != 1 {
		t.Errorf("cluster2's caller got %v", a)
	}
	if got := calls.Load(); got != 2 {
		t.Errorf("%d questions for two keys, want 2", got)
	}
	for i, a := range answers {
		if len(a) != 1 || a[0].Pod != "istiod-canary" {
			t.Errorf("caller %d got %v, want the shared answer", i, a)
		}
	}
}
