package provider

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ristio/pulumi-ristio/pkg/kube"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

var (
	namespaceGVK  = schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}
	serviceGVK    = schema.GroupVersionKind{Version: "v1", Kind: "Service"}
	deploymentGVK = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	gatewayGVK    = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "Gateway"}
)

// deleteManagedSecret deletes a secret only when ristio made it, so a secret
// someone else wrote under the same name survives a destroy.
func deleteManagedSecret(ctx context.Context, client *kube.Client, ns, name string) error {
	s, err := client.GetSecret(ctx, ns, name)
	if err != nil {
		return fmt.Errorf("reading secret %s/%s: %w", ns, name, err)
	}
	if s == nil || s.Labels[naming.ManagedByLabel] != naming.ManagedByValue {
		return nil
	}
	if err := client.DeleteSecret(ctx, ns, name); err != nil {
		return fmt.Errorf("deleting secret %s/%s: %w", ns, name, err)
	}
	return nil
}

// deleteManaged deletes an object only when ristio made it.
func deleteManaged(ctx context.Context, client *kube.Client, gvk schema.GroupVersionKind, ns, name string) error {
	obj, err := client.Get(ctx, gvk, ns, name)
	if err != nil {
		return fmt.Errorf("reading %s %s/%s: %w", gvk.Kind, ns, name, err)
	}
	if obj == nil || obj.GetLabels()[naming.ManagedByLabel] != naming.ManagedByValue {
		return nil
	}
	if err := client.Delete(ctx, gvk, ns, name); err != nil {
		return fmt.Errorf("deleting %s %s/%s: %w", gvk.Kind, ns, name, err)
	}
	return nil
}
