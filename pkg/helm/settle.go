package helm

import (
	"context"
	"sync/atomic"
	"time"
)

// running counts the workflows of every Client in this process that have
// begun and not returned, including those whose caller has already been
// answered because its context ended.
var running atomic.Int64

// Settle waits until no workflow runs, or ctx ends, and says whether none
// runs. A workflow cut short by its context ends soon after, once it has
// recorded the release as Helm left it (see recordInterrupted); a process
// that exits before then leaves the release pending.
func Settle(ctx context.Context) bool {
	for running.Load() > 0 {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(10 * time.Millisecond):
		}
	}
	return true
}
