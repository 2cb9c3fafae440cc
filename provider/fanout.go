package provider

import (
	"errors"

	"golang.org/x/sync/errgroup"
)

// fanOut runs fn(i) for every i in [0, n), at most limit at a time, and
// joins their errors: every call runs, whatever the others return. Each
// fan-out of the provider goes through it, so none is unbounded.
func fanOut(n, limit int, fn func(i int) error) error {
	var g errgroup.Group
	g.SetLimit(limit)
	errs := make([]error, n)
	for i := range n {
		g.Go(func() error {
			errs[i] = fn(i)
			return nil
		})
	}
	_ = g.Wait() // every call returns nil; the errors are in errs
	return errors.Join(errs...)
}
