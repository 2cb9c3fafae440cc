package localcluster

import (
	"context"
	"time"
)

// emulatorInterval is how often emulators look for work: short enough that
// waits in tests barely notice, long enough to cost nothing.
const emulatorInterval = 200 * time.Millisecond

// every runs step in the background every interval until ctx ends or the
// world stops. A failed step is retried on the next tick; each distinct error
// is logged once, so a persistent failure does not flood the log.
func (c *Cluster) every(ctx context.Context, what string, interval time.Duration, step func(context.Context) error) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(c.life, cancel)
	c.emulators.Go(func() {
		defer cancel()
		defer stop()
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		var lastErr string
		for {
			if err := step(ctx); err != nil && ctx.Err() == nil && err.Error() != lastErr {
				lastErr = err.Error()
				c.logf("%s: %s emulator: %v", c.Name, what, err)
			}
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
		}
	})
}
