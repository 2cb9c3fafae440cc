package provider

import (
	"context"
	"fmt"

	p "github.com/pulumi/pulumi-go-provider"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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

// deleteManagedSecret deletes a secret only when ristio made it and owner
// (the deleting resource's ID) wrote it last: a secret someone else wrote
// under the same name, or that another ristio resource took over, survives.
func deleteManagedSecret(ctx context.Context, client *kube.Client, ns, name, owner string) error {
	s, err := client.GetSecret(ctx, ns, name)
	if err != nil {
		return fmt.Errorf("reading secret %s/%s: %w", ns, name, err)
	}
	if s == nil || !ownedBy(s.Labels, s.Annotations, owner) {
		return nil
	}
	if err := client.DeleteSecret(ctx, ns, name); err != nil {
		return fmt.Errorf("deleting secret %s/%s: %w", ns, name, err)
	}
	return nil
}

func ownedBy(labels, annotations map[string]string, owner string) bool {
	if labels[naming.ManagedByLabel] != naming.ManagedByValue {
		return false
	}
	o, ok := annotations[naming.OwnerAnnotation]
	return !ok || o == owner
}

// ownerAnnotations marks an object as written by the resource with this ID.
func ownerAnnotations(owner string) map[string]string {
	return map[string]string{naming.OwnerAnnotation: owner}
}

// deleteNamespaceIfOurs deletes ns when ristio created it (it carries the
// managed-by label; state cannot tell, since a replacement finds the
// namespace already there) and nothing else lives in it: inUse names what
// still does, or returns "".
func deleteNamespaceIfOurs(ctx context.Context, client *kube.Client, cluster, ns string, inUse func() (string, error)) error {
	obj, err := client.Get(ctx, namespaceGVK, "", ns)
	if err != nil {
		return fmt.Errorf("reading namespace %s: %w", ns, err)
	}
	if obj == nil || obj.GetLabels()[naming.ManagedByLabel] != naming.ManagedByValue {
		return nil
	}
	what, err := inUse()
	if err != nil {
		return err
	}
	if what != "" {
		p.GetLogger(ctx).Infof("cluster %s: keeping namespace %s: it still holds %s", cluster, ns, what)
		return nil
	}
	return client.DeleteNamespace(ctx, ns, progress(ctx, cluster))
}

// istioNamespaceUse names what still lives in istio-system: Helm releases or
// ristio secrets.
func istioNamespaceUse(ctx context.Context, client *kube.Client) func() (string, error) {
	return func() (string, error) {
		for _, selector := range []string{"owner=helm", naming.ManagedByLabel + "=" + naming.ManagedByValue} {
			names, err := client.SecretNames(ctx, naming.IstioNamespace, selector)
			if err != nil {
				return "", err
			}
			if len(names) > 0 {
				return "secret " + names[0], nil
			}
		}
		return "", nil
	}
}

// deleteManaged deletes an object only when ristio made it and owner wrote it last.
func deleteManaged(ctx context.Context, client *kube.Client, gvk schema.GroupVersionKind, ns, name, owner string) error {
	obj, err := client.Get(ctx, gvk, ns, name)
	if err != nil {
		return fmt.Errorf("reading %s %s/%s: %w", gvk.Kind, ns, name, err)
	}
	if obj == nil || !ownedBy(obj.GetLabels(), obj.GetAnnotations(), owner) {
		return nil
	}
	if err := client.Delete(ctx, gvk, ns, name); err != nil {
		return fmt.Errorf("deleting %s %s/%s: %w", gvk.Kind, ns, name, err)
	}
	return nil
}

// applyOwned applies obj marked as written by owner.
func applyOwned(ctx context.Context, client *kube.Client, obj *unstructured.Unstructured, owner string) error {
	annotations := obj.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[naming.OwnerAnnotation] = owner
	obj.SetAnnotations(annotations)
	return client.Apply(ctx, obj)
}
