package istiod

import (
	"context"

	"github.com/ristio/pulumi-ristio/pkg/kube"
	"github.com/ristio/pulumi-ristio/pkg/meshcheck"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// AskServing asks every running istiod pod in istio-system, of every
// revision, which certificate chain it serves on 15012: the intermediate it
// signs with, which it reloads from cacerts. An error means the pods could
// not even be listed.
func AskServing(ctx context.Context, c *kube.Client) ([]meshcheck.Serving, error) {
	pods, err := c.RunningPods(ctx, naming.IstioNamespace, meshcheck.IstiodSelector)
	if err != nil {
		return nil, err
	}
	out := make([]meshcheck.Serving, len(pods))
	eachPod(pods, func(i int) {
		out[i].Pod = pods[i].Name
		bounded(ctx, func(ctx context.Context) {
			out[i].Chain, out[i].Err = c.PodTLSChain(ctx, pods[i].Namespace, pods[i].Name, meshcheck.XDSTLSPort, servingName)
		})
	})
	return out, nil
}
