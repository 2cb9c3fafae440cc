package helm

import (
	"context"
	"fmt"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"

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

// recordTimeout bounds the write that records an install or upgrade cut
// short by its context as failed, which runs after that context has ended.
const recordTimeout = 30 * time.Second

// applyPlan is what Apply will do about a release's history.
type applyPlan struct {
	action string
	reason string
	// replace lets Install reuse the name of a release whose last revision
	// was uninstalled (with its history kept) or failed.
	replace bool
	// markFailed: the last revision was interrupted (left pending or
	// uninstalling) and is marked failed before the chart is installed over
	// it.
	markFailed bool
	// rollbackTo is the revision a pending release is rolled back to.
	rollbackTo int
}

// planApply decides how to bring a release with history (oldest first) to new
// values; takeOver is Client.TakeOwnership. It is pure.
func planApply(history []*release.Release, takeOver bool) applyPlan {
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
	case s.IsPending() && good != nil:
		return applyPlan{action: ActionRollbackPending, rollbackTo: good.Version,
			reason: fmt.Sprintf("revision %d was left %s by an interrupted run; rolling back to revision %d, the last deployed", last.Version, s, good.Version)}
	case takeOver:
		// Uninstalling would delete what the take-over took (a live
		// control plane): install over the release, whatever its status.
		return applyPlan{action: ActionInstallOver, replace: true, markFailed: s != release.StatusFailed,
			reason: fmt.Sprintf("revision %d of a take-over is %s and cannot be upgraded or rolled back; installing over it, never uninstalling", last.Version, s)}
	case s == release.StatusFailed:
		return applyPlan{action: ActionReplaceFailed, reason: fmt.Sprintf("revision %d failed and no revision was ever deployed", last.Version)}
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
// Apply does not wait for workloads. It returns as soon as ctx ends; the
// Helm step then running goes on until its requests, which end with ctx,
// fail, and records the release failed. It keeps the client until then: the
// next call waits for it, and the next Apply recovers the release.
func (c *Client) Apply(ctx context.Context, name string, ch *chart.Chart, values map[string]any) (*Release, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	if ch == nil || ch.Metadata == nil {
		return nil, c.errorf(name, "apply", fmt.Errorf("no chart"))
	}
	vals := helmvalues.Merge(nil, values) // Helm keeps and may change what it is given
	s := c.settings()
	return inTurn(ctx, c, name, "apply", func() (*Release, error) { return c.apply(ctx, s, name, ch, vals) })
}

func (c *Client) apply(ctx context.Context, s settings, name string, ch *chart.Chart, vals map[string]any) (*Release, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	history, err := c.history(name)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	plan := planApply(history, s.takeOwnership)
	c.log("release %s in namespace %s: %s chart %s-%s: %s", name, c.namespace, plan.action, ch.Metadata.Name, ch.Metadata.Version, plan.reason)

	var rel *release.Release
	switch plan.action {
	case ActionInstall:
		rel, err = c.install(ctx, s, name, ch, vals, plan.replace)
	case ActionUpgrade:
		rel, err = c.upgrade(ctx, s, name, ch, vals, s.releaseLabels())
	case ActionInstallOver:
		if plan.markFailed {
			last := history[len(history)-1]
			if err = c.markFailed(last, fmt.Sprintf("Interrupted while %s; installing over it", last.Info.Status)); err != nil {
				return nil, fmt.Errorf("mark revision %d failed (%s): %w", last.Version, plan.reason, err)
			}
		}
		rel, err = c.install(ctx, s, name, ch, vals, true)
	case ActionReplaceFailed, ActionReplacePending:
		if err = c.uninstall(ctx, name, true); err != nil {
			return nil, fmt.Errorf("uninstall before installing again (%s): %w", plan.reason, err)
		}
		rel, err = c.install(ctx, s, name, ch, vals, false)
	case ActionRollbackPending:
		if err = c.rollback(ctx, s, name, plan.rollbackTo); err != nil {
			return nil, fmt.Errorf("roll back to revision %d (%s): %w", plan.rollbackTo, plan.reason, err)
		}
		rel, err = c.upgrade(ctx, s, name, ch, vals, s.releaseLabels())
	}
	out := fromHelm(rel, plan.action)
	if err != nil {
		return out, fmt.Errorf("%s: %w", plan.action, err)
	}
	return out, nil
}

// install and upgrade run Helm's step to its end, whatever ctx does: ctx
// reaches it through the cluster's requests, and the step's own goroutines
// are done when it returns (Helm's RunWithContext would return at ctx's end
// and leave them running).
func (c *Client) install(ctx context.Context, s settings, name string, ch *chart.Chart, vals map[string]any, replace bool) (*release.Release, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in := action.NewInstall(c.cfg)
	in.Namespace = c.namespace
	in.ReleaseName = name
	in.CreateNamespace = false
	in.Replace = replace
	in.Timeout = timeout(ctx)
	in.Labels = s.releaseLabels()
	in.DisableOpenAPIValidation = skipOpenAPIValidation
	in.TakeOwnership = s.takeOwnership
	rel, err := in.Run(ch, vals)
	c.recordInterrupted(ctx, rel)
	return rel, err
}

func (c *Client) upgrade(ctx context.Context, s settings, name string, ch *chart.Chart, vals map[string]any, labels map[string]string) (*release.Release, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	up := action.NewUpgrade(c.cfg)
	up.Namespace = c.namespace
	up.ResetValues = true
	up.MaxHistory = s.maxHistory
	up.Timeout = timeout(ctx)
	up.Labels = labels
	up.DisableOpenAPIValidation = skipOpenAPIValidation
	rel, err := up.Run(name, ch, vals)
	c.recordInterrupted(ctx, rel)
	return rel, err
}

// recordInterrupted stores revision rel as Helm left it, failed (or deployed,
// when only its last write was cut short), after an install or upgrade that
// ctx cut short: Helm's own write ran on the ended context and failed, which
// leaves the stored revision pending. This write gets a context of its own,
// bounded by recordTimeout. It does nothing when ctx has not ended or the
// revision was never stored or is no longer pending.
func (c *Client) recordInterrupted(ctx context.Context, rel *release.Release) {
	if ctx.Err() == nil || rel == nil {
		return
	}
	fresh, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	c.bindRequests(fresh)
	defer c.bindRequests(ctx)
	stored, err := c.cfg.Releases.Get(rel.Name, rel.Version)
	if err != nil || !stored.Info.Status.IsPending() {
		return
	}
	if rel.Info.Status.IsPending() {
		rel.SetStatus(release.StatusFailed, fmt.Sprintf("Interrupted while %s: %v", rel.Info.Status, context.Cause(ctx)))
	}
	if err := c.cfg.Releases.Update(rel); err != nil {
		c.log("release %s: could not record interrupted revision %d as %s: %v", rel.Name, rel.Version, rel.Info.Status, err)
	}
}

// markFailed records revision r as failed, with description.
func (c *Client) markFailed(r *release.Release, description string) error {
	r.SetStatus(release.StatusFailed, description)
	return c.cfg.Releases.Update(r)
}

// rollback rolls name back to version and marks the interrupted revision it
// replaces as failed (Helm would leave it pending for ever).
func (c *Client) rollback(ctx context.Context, s settings, name string, version int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	interrupted, err := c.cfg.Releases.Last(name)
	if err != nil {
		return err
	}
	rb := action.NewRollback(c.cfg)
	rb.Version = version
	rb.MaxHistory = s.maxHistory
	rb.Timeout = timeout(ctx)
	if err := rb.Run(name); err != nil {
		return err
	}
	if interrupted.Info.Status.IsPending() {
		was := interrupted.Info.Status
		if err := c.markFailed(interrupted, fmt.Sprintf("Interrupted while %s; rolled back to revision %d", was, version)); err != nil {
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
