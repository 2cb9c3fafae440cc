package helm

import (
	"context"
	"fmt"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"

	"github.com/ristio/pulumi-ristio/pkg/ctxbind"
	"github.com/ristio/pulumi-ristio/pkg/helmvalues"
)

// skipOpenAPIValidation: Helm's own check of a manifest against the cluster's
// OpenAPI schema fetches and parses the whole schema on every install and
// upgrade (a tenth of the provider's CPU for a control plane); the API server
// validates every object it is sent anyway.
const skipOpenAPIValidation = true

// defaultTimeout bounds Helm's own waits (hooks, deletions during a replace)
// when the context has no deadline.
const defaultTimeout = 5 * time.Minute

// applyPlan is what Apply will do about a release's history.
type applyPlan struct {
	action string
	reason string
	// replace lets Install reuse the name of an uninstalled release whose
	// history was kept.
	replace bool
	// rollbackTo is the revision a pending release is rolled back to.
	rollbackTo int
}

// planApply decides how to bring a release with history (oldest first) to new
// values. It is pure.
func planApply(history []*release.Release) applyPlan {
	if len(history) == 0 {
		return applyPlan{action: ActionInstall, reason: "no release"}
	}
	last := history[len(history)-1]
	var good *release.Release // the newest earlier revision that was deployed
	for _, r := range history[:len(history)-1] {
		if s := r.Info.Status; s == release.StatusDeployed || s == release.StatusSuperseded {
			good = r
		}
	}
	switch s := last.Info.Status; {
	case s == release.StatusDeployed || s == release.StatusSuperseded:
		return applyPlan{action: ActionUpgrade, reason: fmt.Sprintf("revision %d is %s", last.Version, s)}
	case s == release.StatusUninstalled:
		return applyPlan{action: ActionInstall, replace: true, reason: fmt.Sprintf("revision %d was uninstalled", last.Version)}
	case s == release.StatusFailed && good != nil:
		return applyPlan{action: ActionUpgrade, reason: fmt.Sprintf("revision %d failed; upgrading over it from revision %d, the last deployed", last.Version, good.Version)}
	case s == release.StatusFailed:
		return applyPlan{action: ActionReplaceFailed, reason: fmt.Sprintf("revision %d failed and no revision was ever deployed", last.Version)}
	case s.IsPending() && good != nil:
		return applyPlan{action: ActionRollbackPending, rollbackTo: good.Version,
			reason: fmt.Sprintf("revision %d was left %s by an interrupted run; rolling back to revision %d, the last deployed", last.Version, s, good.Version)}
	default: // pending with nothing deployed, uninstalling, unknown
		return applyPlan{action: ActionReplacePending, reason: fmt.Sprintf("revision %d was left %s and no earlier revision can be rolled back to", last.Version, s)}
	}
}

// Apply installs or upgrades release name with chart ch and values, which are
// the whole truth: values of earlier revisions are not reused. A release that
// an earlier run left failed or pending is recovered first, as planApply says;
// the returned Release's Action tells which path was taken, and the debug log
// says why.
//
// Apply does not wait for workloads. It returns when ctx ends, though Helm
// may still finish creating objects in the background; the release is then
// marked failed and the next Apply recovers it.
func (c *Client) Apply(ctx context.Context, name string, ch *chart.Chart, values map[string]any) (*Release, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	if ch == nil || ch.Metadata == nil {
		return nil, c.errorf(name, "apply", fmt.Errorf("no chart"))
	}
	defer c.begin(ctx)()
	if err := ctx.Err(); err != nil {
		return nil, c.errorf(name, "apply", err)
	}
	history, err := c.history(name)
	if err != nil {
		return nil, c.errorf(name, "read history", withContextError(ctx, err))
	}
	plan := planApply(history)
	c.log("release %s in namespace %s: %s chart %s-%s: %s", name, c.namespace, plan.action, ch.Metadata.Name, ch.Metadata.Version, plan.reason)
	vals := helmvalues.Merge(nil, values) // Helm keeps and may change what it is given

	var rel *release.Release
	switch plan.action {
	case ActionInstall:
		rel, err = c.install(ctx, name, ch, vals, plan.replace)
	case ActionUpgrade:
		rel, err = c.upgrade(ctx, name, ch, vals, c.releaseLabels())
	case ActionReplaceFailed, ActionReplacePending:
		if c.TakeOwnership && plan.action == ActionReplaceFailed {
			// A take-over that failed: uninstalling would delete what it
			// took over (a live control plane); install over it again.
			rel, err = c.install(ctx, name, ch, vals, true)
			break
		}
		if err = c.uninstall(ctx, name, true); err != nil {
			return nil, c.errorf(name, "uninstall before installing again ("+plan.reason+")", withContextError(ctx, err))
		}
		rel, err = c.install(ctx, name, ch, vals, false)
	case ActionRollbackPending:
		if err = c.rollback(ctx, name, plan.rollbackTo); err != nil {
			return nil, c.errorf(name, fmt.Sprintf("roll back to revision %d (%s)", plan.rollbackTo, plan.reason), withContextError(ctx, err))
		}
		rel, err = c.upgrade(ctx, name, ch, vals, c.releaseLabels())
	}
	out := fromHelm(rel, plan.action)
	if err != nil {
		return out, c.errorf(name, plan.action, withContextError(ctx, err))
	}
	return out, nil
}

func (c *Client) install(ctx context.Context, name string, ch *chart.Chart, vals map[string]any, replace bool) (*release.Release, error) {
	in := action.NewInstall(c.cfg)
	in.Namespace = c.namespace
	in.ReleaseName = name
	in.CreateNamespace = false
	in.Replace = replace
	in.Timeout = timeout(ctx)
	in.Labels = c.releaseLabels()
	in.DisableOpenAPIValidation = skipOpenAPIValidation
	in.TakeOwnership = c.TakeOwnership
	return in.RunWithContext(ctx, ch, vals)
}

func (c *Client) upgrade(ctx context.Context, name string, ch *chart.Chart, vals map[string]any, labels map[string]string) (*release.Release, error) {
	up := action.NewUpgrade(c.cfg)
	up.Namespace = c.namespace
	up.ResetValues = true
	up.MaxHistory = c.MaxHistory
	up.Timeout = timeout(ctx)
	up.Labels = labels
	up.DisableOpenAPIValidation = skipOpenAPIValidation
	return up.RunWithContext(ctx, name, ch, vals)
}

// rollback rolls name back to version and marks the interrupted revision it
// replaces as failed (Helm would leave it pending for ever).
func (c *Client) rollback(ctx context.Context, name string, version int) error {
	interrupted, err := c.cfg.Releases.Last(name)
	if err != nil {
		return err
	}
	rb := action.NewRollback(c.cfg)
	rb.Version = version
	rb.MaxHistory = c.MaxHistory
	rb.Timeout = timeout(ctx)
	if err := ctxbind.Do(ctx, func() error { return rb.Run(name) }); err != nil {
		return err
	}
	if interrupted.Info.Status.IsPending() {
		was := interrupted.Info.Status
		interrupted.SetStatus(release.StatusFailed, fmt.Sprintf("Interrupted while %s; rolled back to revision %d", was, version))
		if err := c.cfg.Releases.Update(interrupted); err != nil {
			c.log("release %s: could not mark interrupted revision %d as failed: %v", name, interrupted.Version, err)
		}
	}
	return nil
}

// timeout is what is left of ctx, or defaultTimeout.
func timeout(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d), time.Second)
	}
	return defaultTimeout
}
