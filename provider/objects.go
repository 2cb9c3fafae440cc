package provider

import (
	"context"
	"fmt"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ristio/pulumi-ristio/pkg/kube"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

var (
	namespaceGVK = schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}
	secretGVK    = schema.GroupVersionKind{Version: "v1", Kind: "Secret"}
	configMapGVK = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	gatewayGVK   = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "Gateway"}

	mutatingWebhookGVK = schema.GroupVersionKind{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "MutatingWebhookConfiguration"}
	serviceGVK         = schema.GroupVersionKind{Version: "v1", Kind: "Service"}
	deploymentGVK      = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	serviceAccountGVK  = schema.GroupVersionKind{Version: "v1", Kind: "ServiceAccount"}
	roleGVK            = schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"}
	roleBindingGVK     = schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"}
	pdbGVK             = schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"}
)

// An object is ristio's when it carries the managed-by label; among ristio's
// resources, the one whose ID is in the owner annotation wrote it last.
func managedByRistio(labels map[string]string) bool {
	return labels[naming.ManagedByLabel] == naming.ManagedByValue
}

func ownedBy(labels, annotations map[string]string, owner string) bool {
	if !managedByRistio(labels) {
		return false
	}
	o, ok := annotations[naming.OwnerAnnotation]
	return !ok || owner == "" || o == owner
}

// ownerAnnotations marks an object as written by the resource with this ID.
func ownerAnnotations(owner string) map[string]string {
	return map[string]string{naming.OwnerAnnotation: owner}
}

// foreign reads ref and reports whether it exists without ristio's marks.
func foreign(ctx context.Context, client *kube.Client, ref objectRef) (bool, error) {
	obj, err := client.Get(ctx, ref.gvk, ref.ns, ref.name)
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", ref, err)
	}
	return obj != nil && !managedByRistio(obj.GetLabels()), nil
}

// claim refuses to write over an object that exists and that ristio did not
// create (a cacerts from ristioctl, a remote secret from istioctl, a Gateway
// someone applied): taking it over would also delete it on destroy. With
// adopt (MeshCluster.adopt) it is taken over instead.
func claim(ctx context.Context, client *kube.Client, gvk schema.GroupVersionKind, ns, name string, adopt bool) error {
	ref := objectRef{gvk, ns, name}
	taken, err := foreign(ctx, client, ref)
	if err != nil || !taken {
		return err
	}
	if adopt {
		p.GetLogger(ctx).Infof("adopting %s, which ristio did not create", ref)
		return nil
	}
	return fmt.Errorf("%s already exists and was not created by ristio; delete it (or move it aside) and run up again, or set adopt: true on the cluster to take it over", ref)
}

// applyOwned applies obj, marked as written by owner, unless a foreign
// object holds its name and adopt is off.
func applyOwned(ctx context.Context, client *kube.Client, obj *unstructured.Unstructured, owner string, adopt bool) error {
	if err := claim(ctx, client, obj.GroupVersionKind(), obj.GetNamespace(), obj.GetName(), adopt); err != nil {
		return err
	}
	annotations := obj.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[naming.OwnerAnnotation] = owner
	obj.SetAnnotations(annotations)
	return client.Apply(ctx, obj)
}

// deleteManaged deletes an object only when ristio made it and owner (the
// deleting resource's ID) wrote it last; "" matches any ristio writer.
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

// deleteNamespaceIfOurs deletes ns when ristio created it (it carries the
// managed-by label; state cannot tell, since a replacement finds the
// namespace already there) and nothing else lives in it: inUse names what
// ristio itself still keeps there, or returns "".
func deleteNamespaceIfOurs(ctx context.Context, client *kube.Client, cluster, ns string, inUse func() (string, error)) error {
	obj, err := client.Get(ctx, namespaceGVK, "", ns)
	if err != nil {
		return fmt.Errorf("reading namespace %s: %w", ns, err)
	}
	if obj == nil || !managedByRistio(obj.GetLabels()) {
		return nil
	}
	what, err := inUse()
	if err != nil {
		return err
	}
	if what == "" {
		foreign, err := client.ForeignObjects(ctx, ns)
		if err != nil {
			return err
		}
		what = strings.Join(foreign, ", ")
	}
	if what != "" {
		p.GetLogger(ctx).Infof("cluster %s: keeping namespace %s: it still holds %s", cluster, ns, what)
		return nil
	}
	return client.DeleteNamespace(ctx, ns, progress(ctx, cluster))
}

// istioNamespaceUse names what ristio still keeps in istio-system: Helm
// releases or ristio secrets.
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
