package provider

import (
	"context"

	"helm.sh/helm/v3/pkg/chart"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ristio/pulumi-ristio/pkg/helm"
	"github.com/ristio/pulumi-ristio/pkg/kube"
)

// objectClient is what ownership asks of a cluster: read, write, mark and
// delete one object. Each controller's client interface extends it with
// what that controller calls, so tests can stand in for the cluster.
type objectClient interface {
	Get(ctx context.Context, gvk schema.GroupVersionKind, ns, name string) (*unstructured.Unstructured, error)
	Apply(ctx context.Context, obj *unstructured.Unstructured) error
	Annotate(ctx context.Context, gvk schema.GroupVersionKind, ns, name string, annotations map[string]string) error
	Delete(ctx context.Context, gvk schema.GroupVersionKind, ns, name string) error
}

// namespaceClient also makes and removes namespaces.
type namespaceClient interface {
	objectClient
	EnsureNamespace(ctx context.Context, name string, labels map[string]string) error
	DeleteNamespace(ctx context.Context, name string, progress kube.Progress) error
	ForeignObjects(ctx context.Context, ns string) ([]string, error)
}

// secretClient reads, writes and lists secrets.
type secretClient interface {
	GetSecret(ctx context.Context, ns, name string) (*corev1.Secret, error)
	ApplySecret(ctx context.Context, s *corev1.Secret) error
	SecretNames(ctx context.Context, ns, selector string) ([]string, error)
}

// webhookClient also turns mutating webhooks off and tells whether they are.
type webhookClient interface {
	objectClient
	DeactivateWebhooks(ctx context.Context, name string) (bool, error)
	WebhooksDeactivated(ctx context.Context, name string) (bool, error)
}

// rolloutClient waits for a Deployment's rollout.
type rolloutClient interface {
	WaitForDeployment(ctx context.Context, ns, name string, progress kube.Progress) error
}

// leftoverClient deletes what istioctl installed and ristio does not keep.
type leftoverClient interface {
	DeleteIstioctlLeftovers(ctx context.Context, ns, selector string, gvks ...schema.GroupVersionKind) ([]string, error)
}

// releaseClient is what the controllers ask of a cluster's Helm, in
// istio-system.
type releaseClient interface {
	Get(ctx context.Context, name string) (*helm.Release, error)
	Apply(ctx context.Context, name string, ch *chart.Chart, values map[string]any) (*helm.Release, error)
	Reconfigure(ctx context.Context, name string, edit func(values map[string]any)) (*helm.Release, error)
	Uninstall(ctx context.Context, name string) error
	// takeOwnership says whether installs take over objects without Helm's
	// marks (adopt); setTakeOwnership changes it for the next ones.
	takeOwnership() bool
	setTakeOwnership(on bool)
}

// helmReleases is a helm.Client as a releaseClient.
type helmReleases struct{ *helm.Client }

func (h helmReleases) takeOwnership() bool      { return h.TakeOwnership }
func (h helmReleases) setTakeOwnership(on bool) { h.TakeOwnership = on }

var (
	_ releaseClient   = helmReleases{}
	_ namespaceClient = (*kube.Client)(nil)
	_ secretClient    = (*kube.Client)(nil)
	_ webhookClient   = (*kube.Client)(nil)
	_ rolloutClient   = (*kube.Client)(nil)
	_ leftoverClient  = (*kube.Client)(nil)

	// What each controller asks of a cluster.
	_ helloWorldClient   = (*kube.Client)(nil)
	_ caCertsClient      = (*kube.Client)(nil)
	_ eastWestKube       = (*kube.Client)(nil)
	_ revisionTagKube    = (*kube.Client)(nil)
	_ controlPlaneKube   = (*kube.Client)(nil)
	_ remoteSecretKube   = (*kube.Client)(nil)
	_ ambientGatewayKube = (*kube.Client)(nil)
	_ gatewayAPICRDsKube = (*kube.Client)(nil)
	_ meshChecker        = Deps{}
)
