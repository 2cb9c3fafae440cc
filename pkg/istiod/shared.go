package istiod

import (
	"context"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/ristio/pulumi-ristio/pkg/kube"
	"github.com/ristio/pulumi-ristio/pkg/meshcheck"
)

// sharedTimeout bounds a shared question as a whole: it runs detached from
// the context of whichever caller started it, since others wait on it too.
const sharedTimeout = 2 * askTimeout

// Shared lets the checks running in one process share questions to the same
// istiods: a caller that asks a cluster while the same question is in
// flight waits for that answer instead of opening its own port-forwards.
// In a mesh of N clusters each cluster's istiods are asked by up to N
// checks at once; shared, they answer once per round. An answer shared this
// way is at most one question old, which can delay a passing check by one
// round but never make a failing one pass: what it was judged on was true
// when it was read. The zero value is ready; a nil *Shared shares nothing.
type Shared struct {
	group singleflight.Group
	ask   func(ctx context.Context, c *kube.Client, revision string) ([]meshcheck.Istiod, error) // nil: Ask
}

// Ask is Ask, shared among callers passing the same key, which must name
// the cluster and how it is reached.
func (s *Shared) Ask(ctx context.Context, key string, c *kube.Client, revision string) ([]meshcheck.Istiod, error) {
	if s == nil {
		return Ask(ctx, c, revision)
	}
	ch := s.group.DoChan(key+"\x00"+revision, func() (any, error) {
		// Not cancelled on return: the answer's Says reads istiod's log
		// later, when a failure needs explaining.
		shared, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedTimeout)
		time.AfterFunc(sharedTimeout, cancel)
		if s.ask != nil {
			return s.ask(shared, c, revision)
		}
		return Ask(shared, c, revision)
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.([]meshcheck.Istiod), nil
	}
}
