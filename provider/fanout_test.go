package provider

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestFanOutRunsEveryCallAtMostLimitAtATime(t *testing.T) {
	var running, most, calls atomic.Int32
	boom := errors.New("boom")
	err := fanOut(20, 3, func(i int) error {
		calls.Add(1)
		now := running.Add(1)
		defer running.Add(-1)
		for {
			m := most.Load()
			if now <= m || most.CompareAndSwap(m, now) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		if i%7 == 0 {
			return boom
		}
		return nil
	})
	if calls.Load() != 20 {
		t.Errorf("%d calls, want 20: a failing call must not stop the others", calls.Load())
	}
	if m := most.Load(); m > 3 || m < 2 {
		t.Errorf("at most %d calls ran at once, want up to the limit 3", m)
	}
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want the calls' errors joined", err)
	}
}
