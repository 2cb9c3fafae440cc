package helm

import (
	"context"
	"fmt"

	"helm.sh/helm/v3/pkg/action"
)

// Uninstall deletes release name and its history. Objects the chart marks
// helm.sh/resource-policy: keep (Istio's CRDs) stay. It does not wait for the
// deleted objects to disappear. A release that does not exist is not an
// error.
func (c *Client) Uninstall(ctx context.Context, name string) error {
	if err := validName(name); err != nil {
		return err
	}
	defer c.begin(ctx)()
	if err := c.uninstall(ctx, name, false); err != nil {
		return c.errorf(name, "uninstall", withContextError(ctx, err))
	}
	return nil
}

// uninstall deletes name and purges its history; with wait it also waits,
// within ctx, until the deleted objects are gone, so that an install of the
// same objects can follow.
func (c *Client) uninstall(ctx context.Context, name string, wait bool) error {
	history, err := c.history(name)
	if err != nil {
		return err
	}
	if len(history) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	un := action.NewUninstall(c.cfg)
	un.KeepHistory = false
	un.IgnoreNotFound = true
	un.Wait = wait
	un.Timeout = timeout(ctx)
	c.deleteFailure.Store(nil)
	return runWithContext(ctx, func(n string) error {
		_, err := un.Run(n)
		if reason := c.deleteFailure.Load(); err != nil && reason != nil {
			err = fmt.Errorf("%w: %s", err, *reason)
		}
		return err
	}, name)
}
