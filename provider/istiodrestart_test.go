package provider

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRestartRounds: writers into one cluster that overlap share one restart,
// run after the last of them; a writer after the round ended starts another;
// another cluster has rounds of its own; nothing rewritten, nothing restarted.
func TestRestartRounds(t *testing.T) {
	d := Deps{Restarts: &istiodRestarts{}}
	c1 := ClusterConnection{Name: "cluster1"}
	c2 := ClusterConnection{Name: "cluster2"}
	ctx := context.Background()
	var restarts atomic.Int32
	var writesDone atomic.Int32
	restart := func(context.Context) error {
		if writesDone.Load() != 3 {
			t.Errorf("restart ran after %d of 3 writes", writesDone.Load())
		}
		restarts.Add(1)
		return errors.New("rollout timed out")
	}

	t.Run("overlapping writers share one restart, after the last, and its error", func(t *testing.T) {
		writers := []*secretWrites{d.writingSecrets(c1), d.writingSecrets(c1), d.writingSecrets(c1)}
		var wg sync.WaitGroup
		errs := make([]error, len(writers))
		for i, w := range writers {
			wg.Go(func() {
				time.Sleep(time.Duration(i) * 20 * time.Millisecond)
				writesDone.Add(1)
				errs[i] = w.end(ctx, i == 0, restart) // only the first rewrote
			})
		}
		wg.Wait()
		if n := restarts.Load(); n != 1 {
			t.Fatalf("%d restarts, want 1", n)
		}
		for i, err := range errs {
			if err == nil || err.Error() != "rollout timed out" {
				t.Errorf("writer %d got %v, want the restart's error", i, err)
			}
		}
	})

	t.Run("a round with no rewrite restarts nothing", func(t *testing.T) {
		restarts.Store(0)
		if err := d.writingSecrets(c1).end(ctx, false, restart); err != nil || restarts.Load() != 0 {
			t.Fatalf("err %v, %d restarts; want none", err, restarts.Load())
		}
	})

	t.Run("a later writer and another cluster start rounds of their own", func(t *testing.T) {
		var n atomic.Int32
		count := func(context.Context) error { n.Add(1); return nil }
		a, b := d.writingSecrets(c1), d.writingSecrets(c2)
		if err := a.end(ctx, true, count); err != nil {
			t.Fatal(err)
		}
		if err := b.end(ctx, true, count); err != nil {
			t.Fatal(err)
		}
		if err := d.writingSecrets(c1).end(ctx, true, count); err != nil {
			t.Fatal(err)
		}
		if n.Load() != 3 {
			t.Fatalf("%d restarts, want 3", n.Load())
		}
	})

	t.Run("a writer waiting for the round stops when its context ends", func(t *testing.T) {
		var n atomic.Int32
		count := func(context.Context) error { n.Add(1); return nil }
		early, late := d.writingSecrets(c2), d.writingSecrets(c2)
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if err := early.end(short, true, count); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("early writer got %v, want its deadline", err)
		}
		if err := late.end(ctx, false, count); err != nil || n.Load() != 1 {
			t.Fatalf("late writer: err %v, %d restarts; want the round's one restart", err, n.Load())
		}
	})
}

func TestCheckRestartPolicy(t *testing.T) {
	for _, ok := range []string{"", "auto", "always", "never"} {
		if f := checkRestartPolicy("restartIstiodAfterSecretRotation", "cluster1", &ok); f != nil {
			t.Errorf("%q refused: %v", ok, f)
		}
	}
	bad := "sometimes"
	f := checkRestartPolicy("restartIstiodAfterSecretRotation", "cluster1", &bad)
	if len(f) != 1 || f[0].Property != "restartIstiodAfterSecretRotation" || f[0].Reason != `cluster "cluster1": restartIstiodAfterSecretRotation must be auto, always or never, got "sometimes"` {
		t.Errorf("failures %v", f)
	}
}
