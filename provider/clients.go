package provider

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

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

var _ namespaceClient = (*kube.Client)(nil)
