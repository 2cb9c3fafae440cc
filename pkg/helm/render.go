package helm

import (
	"context"
	"fmt"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/ristio/pulumi-ristio/pkg/helmvalues"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// Render returns the manifest chart ch renders with values as release name,
// without asking the cluster: for objects ristio applies itself from a
// chart's templates (a revision tag's webhook), not as part of a release.
func Render(ch *chart.Chart, name, namespace string, values map[string]any) (string, error) {
	if err := validName(name); err != nil {
		return "", err
	}
	cfg := &action.Configuration{Capabilities: chartutil.DefaultCapabilities}
	in := action.NewInstall(cfg)
	in.DryRun = true
	in.ClientOnly = true
	in.Replace = true
	in.ReleaseName = name
	in.Namespace = namespace
	in.DisableHooks = true
	rel, err := in.Run(ch, helmvalues.Merge(nil, values))
	if err != nil {
		return "", fmt.Errorf("rendering chart %s as %s: %w", ch.Name(), name, err)
	}
	return rel.Manifest, nil
}

// Reconfigure upgrades release name with the chart its newest revision was
// made from and that revision's values changed by edit: a change of values
// that needs no chart source. The release keeps its owner and mesh: whoever
// installed it still uninstalls it. It returns nil, nil when the release is gone.
func (c *Client) Reconfigure(ctx context.Context, name string, edit func(values map[string]any)) (*Release, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	s := c.settings()
	return inTurn(ctx, c, name, "reconfigure", func() (*Release, error) {
		history, err := c.history(name)
		if err != nil {
			return nil, fmt.Errorf("read history: %w", err)
		}
		if len(history) == 0 {
			return nil, nil
		}
		last := history[len(history)-1]
		if last.Chart == nil {
			return nil, fmt.Errorf("revision %d has no chart", last.Version)
		}
		values := helmvalues.Merge(nil, last.Config)
		edit(values)
		labels := s.releaseLabels()
		for _, key := range []string{naming.OwnerLabel, naming.MeshLabel} {
			if v, ok := last.Labels[key]; ok {
				labels[key] = v
			} else {
				delete(labels, key)
			}
		}
		rel, err := c.upgrade(ctx, s, name, last.Chart, values, labels)
		out := fromHelm(rel, ActionUpgrade)
		if err != nil {
			return out, fmt.Errorf("%s: %w", ActionUpgrade, err)
		}
		return out, nil
	})
}
