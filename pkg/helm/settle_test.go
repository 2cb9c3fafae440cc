package helm

import (
	"context"
	"testing"
	"time"
)

func TestSettleWaitsForRunningWorkflows(t *testing.T) {
	running.Add(1)
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if Settle(short) {
		t.Fatal("Settle reported nothing running while a workflow runs")
	}
	go func() {
		time.Sleep(30 * time.Millisecond)
		running.Add(-1)
	}()
	start := time.Now()
	if !Settle(context.Background()) {
		t.Fatal("Settle did not settle once the workflow ended")
	}
	if waited := time.Since(start); waited < 20*time.Millisecond {
		t.Errorf("Settle returned after %s, before the workflow ended", waited)
	}
}
