package helm

import (
	"context"
	"errors"
	"fmt"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	"helm.sh/helm/v3/pkg/storage/driver"
)

// Get returns the newest revision of release name: nil, nil when
// there is none or it was uninstalled (the release is gone); a failed or
// pending release is returned with that Status, which callers treat as
// drift. Its requests to the cluster end when ctx does.
func (c *Client) Get(ctx context.Context, name string) (*Release, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	return inTurn(ctx, c, name, "get", func() (*Release, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		history, err := c.history(name)
		if err != nil || len(history) == 0 {
			return nil, err
		}
		last := history[len(history)-1]
		if last.Info.Status == release.StatusUninstalled {
			return nil, nil
		}
		return fromHelm(last, ""), nil
	})
}

// history returns the stored revisions of name, oldest first; none is not an
// error.
func (c *Client) history(name string) ([]*release.Release, error) {
	h, err := c.cfg.Releases.History(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	releaseutil.SortByRevision(h)
	return h, nil
}

// errorf names the release, its namespace and the step that failed.
func (c *Client) errorf(name, step string, err error) error {
	return fmt.Errorf("helm release %s in namespace %s: %s: %w", name, c.namespace, step, err)
}

// withContextError makes err match ctx's error under errors.Is when ctx has
// ended: requests cut short by it fail with "context canceled" whatever the
// reason was.
func withContextError(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil || errors.Is(err, ctx.Err()) {
		return err
	}
	return fmt.Errorf("%w: %w", ctx.Err(), err)
}
