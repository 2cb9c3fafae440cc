// Package provider is ristio's Pulumi surface: the MultiClusterMesh component
// and the custom resources it creates as its children.
package provider

import (
	"context"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	corev1 "k8s.io/api/core/v1"

	ristio "github.com/ristio/pulumi-ristio"
	"github.com/ristio/pulumi-ristio/pkg/charts"
	"github.com/ristio/pulumi-ristio/pkg/helm"
	"github.com/ristio/pulumi-ristio/pkg/istiod"
	"github.com/ristio/pulumi-ristio/pkg/kube"
	"github.com/ristio/pulumi-ristio/pkg/kubeconfig"
)

// Name, Version and PluginDownloadURL name the release (package ristio at
// the module's root, which the converter shares without linking this one).
const (
	Name              = ristio.Name
	PluginDownloadURL = ristio.PluginDownloadURL
)

// Version is the provider's version: ristio.Version, which a build stamps
// (not this one).
var Version = ristio.Version

// Deps are the seams between the provider and the outside world. Tests replace
// them; the plugin uses DefaultDeps.
type Deps struct {
	// Kube builds a client for one cluster.
	Kube func(src kubeconfig.Source) (*kube.Client, error)
	// Helm builds a Helm client for one cluster and namespace.
	Helm func(src kubeconfig.Source, namespace string, debugf func(string, ...any)) (*helm.Client, error)
	// ChartCache is where fetched charts are kept; empty means the default.
	ChartCache string
	// Now is the clock used for certificate validity and token renewal.
	Now func() time.Time
	// Istiods shares questions to the same istiods among the checks of one
	// process; nil shares nothing.
	Istiods *istiod.Shared
	// Restarts lets the remote-secret writers of one process share each
	// cluster's restart of istiod; nil shares nothing.
	Restarts *istiodRestarts
	// IstiodVersion asks an istiod pod which build it runs (its /version);
	// nil is istiod.Version. Tests stand in for Istio releases that cannot
	// run here.
	IstiodVersion func(ctx context.Context, c *kube.Client, pod *corev1.Pod) string
}

// DefaultDeps talks to real clusters and the real clock.
func DefaultDeps() Deps {
	return Deps{
		Kube: kube.New,
		Helm: func(src kubeconfig.Source, ns string, debugf func(string, ...any)) (*helm.Client, error) {
			cc, err := src.ClientConfig()
			if err != nil {
				return nil, err
			}
			return helm.New(cc, ns, debugf)
		},
		Now:      time.Now,
		Istiods:  &istiod.Shared{},
		Restarts: &istiodRestarts{},
	}
}

func (d Deps) chartSource(src ChartSource) charts.Source {
	return charts.Source{Directory: deref(src.ChartDirectory), Repository: deref(src.ChartRepository), CacheDir: d.ChartCache}
}

// New builds the provider around deps.
func New(deps Deps) (p.Provider, error) {
	prov, err := builder(deps).Build()
	if err != nil {
		return p.Provider{}, err
	}
	return servePlainInputs(prov), nil
}

// moduleMap puts every type of this Go package in the schema's index module.
var moduleMap = map[tokens.ModuleName]tokens.ModuleName{"provider": "index"}

func builder(deps Deps) *infer.ProviderBuilder {
	return infer.NewProviderBuilder().
		WithNamespace("ristio").
		WithDisplayName("Ristio").
		WithPluginDownloadURL(PluginDownloadURL).
		WithDescription("Multi-primary, multi-network Istio meshes across Kubernetes clusters, in one Pulumi component.").
		WithKeywords("istio", "kubernetes", "multicluster", "service-mesh", "category/infrastructure", "kind/component").
		WithPublisher("ristio").
		WithHomepage("https://github.com/ristio/pulumi-ristio").
		WithRepository("https://github.com/ristio/pulumi-ristio").
		WithLicense("Apache-2.0").
		WithModuleMap(moduleMap).
		WithLanguageMap(languageMap()).
		WithResources(
			infer.Resource(&RootCA{deps: deps}),
			infer.Resource(&ClusterCA{deps: deps}),
			infer.Resource(newCACerts(deps)),
			infer.Resource(newIstioControlPlane(deps)),
			infer.Resource(newEastWestGateway(deps)),
			infer.Resource(newAmbientEastWestGateway(deps)),
			infer.Resource(newAmbientNodeAgents(deps)),
			infer.Resource(newGatewayAPICRDs(deps)),
			infer.Resource(newRemoteSecret(deps)),
			infer.Resource(newRemoteSecretSet(deps)),
			infer.Resource(newHelloWorld(deps)),
			infer.Resource(newMeshCheck(deps)),
			infer.Resource(newRevisionTag(deps)),
		).
		WithFunctions(infer.Function(&CheckMesh{deps: deps})).
		WithComponents(infer.ComponentF(deps.newMultiClusterMesh))
}

func deref[T any](v *T) T {
	var zero T
	if v == nil {
		return zero
	}
	return *v
}
