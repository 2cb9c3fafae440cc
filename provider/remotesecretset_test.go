package provider

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestForEachLimitedBoundsAndJoins(t *testing.T) {
	var running, most atomic.Int32
	names := []string{"a", "b", "c", "d", "e", "f"}
	err := forEachLimited(names, 2, func(name string) error {
		now := running.Add(1)
		defer running.Add(-1)
		for {
			m := most.Load()
			if now <= m || most.CompareAndSwap(m, now) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		if name == "b" || name == "e" {
			return fmt.Errorf("source %s failed", name)
		}
		return nil
	})
	if got := most.Load(); got != 2 {
		t.Errorf("at most %d ran at once, want 2", got)
	}
	if err == nil {
		t.Fatal("two failures gave no error")
	}
	for _, want := range []string{"source b failed", "source e failed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if err := forEachLimited(names, 2, func(string) error { return nil }); err != nil {
		t.Errorf("no failures gave %v", err)
	}
}
