package provider

import (
	"context"
	"fmt"

	p "github.com/pulumi/pulumi-go-provider"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ristio/pulumi-ristio/pkg/helm"
	"github.com/ristio/pulumi-ristio/pkg/kube"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// Adoption is how a cluster with adopt: true takes over what ristioctl,
// `istioctl install` and `istioctl create-remote-secret` made, instead of
// refusing it: plain objects are rewritten in place with ristio's marks
// (claim), charts are installed with Helm's take-ownership, and what istioctl
// made that the charts do not render is removed once nothing needs it.

// objectRef names one object a resource writes.
type objectRef struct {
	gvk      schema.GroupVersionKind
	ns, name string
}

func (o objectRef) String() string {
	if o.ns == "" {
		return o.gvk.Kind + " " + o.name
	}
	return o.gvk.Kind + " " + o.ns + "/" + o.name
}

// previewClaims reports, during preview of a resource with adopt set, each
// object of refs in cluster c that exists without ristio's marks: the
// objects up will take over.
func (d Deps) previewClaims(ctx context.Context, c ClusterConnection, adopt *bool, refs ...objectRef) error {
	if !deref(adopt) {
		return nil
	}
	client, err := d.kubeClient(c)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		obj, err := client.Get(ctx, ref.gvk, ref.ns, ref.name)
		if err != nil {
			return fmt.Errorf("cluster %s: adopt: reading %s: %w", c.Name, ref, err)
		}
		if obj != nil && !managedByRistio(obj.GetLabels()) {
			p.GetLogger(ctx).Infof("cluster %s: adopt %s", c.Name, ref)
		}
	}
	return nil
}

// istioctlMade reads an object and reports whether istioctl made it and no
// Helm release has taken it over.
func istioctlMade(ctx context.Context, client *kube.Client, ref objectRef) (bool, error) {
	obj, err := client.Get(ctx, ref.gvk, ref.ns, ref.name)
	if err != nil || obj == nil {
		return false, err
	}
	return kube.MadeByIstioctl(obj), nil
}

// previewRelease reports, during preview, that release will take over the
// istioctl-made workload ref.
func previewRelease(ctx context.Context, client *kube.Client, cluster, release string, ref objectRef) error {
	made, err := istioctlMade(ctx, client, ref)
	if err != nil {
		return fmt.Errorf("cluster %s: adopt: %w", cluster, err)
	}
	if made {
		p.GetLogger(ctx).Infof("cluster %s: adopt release %s from istioctl (%s and what the chart renders)", cluster, release, ref)
	}
	return nil
}

func istiodDeployment(revision string) objectRef {
	return objectRef{gvk: deploymentGVK, ns: naming.IstioNamespace, name: naming.IstiodReleaseFor(revision)}
}

// adopting lets hc's installs take over what istioctl made when adopt is
// set, and says whether istiod's Deployment is istioctl's: the install about
// to run is then the adoption, and its release keeps istioctl's name.
func (r *IstioControlPlane) adopting(ctx context.Context, client *kube.Client, hc *helm.Client, in IstioControlPlaneArgs) (bool, error) {
	if !deref(in.Adopt) {
		return false, nil
	}
	hc.TakeOwnership = true
	made, err := istioctlMade(ctx, client, istiodDeployment(deref(in.Revision)))
	if err != nil {
		return false, fmt.Errorf("adopt: %w", err)
	}
	return made, nil
}

// previewAdoption reports the istioctl install the control plane will take over.
func (r *IstioControlPlane) previewAdoption(ctx context.Context, in IstioControlPlaneArgs) error {
	if !deref(in.Adopt) {
		return nil
	}
	client, err := r.deps.kubeClient(in.Cluster)
	if err != nil {
		return err
	}
	return previewRelease(ctx, client, in.Cluster.Name, naming.IstioctlRelease, istiodDeployment(deref(in.Revision)))
}

// reactivateInjector deletes the revisionless injector istioctl made and
// turned off behind its default tag, so that the release creates it anew and
// on: Helm's take-ownership merges into what it finds and would keep
// istioctl's never-match selector. The tag goes on injecting meanwhile.
func reactivateInjector(ctx context.Context, client *kube.Client) error {
	ref := objectRef{gvk: mutatingWebhookGVK, name: naming.DefaultInjectorWebhook}
	made, err := istioctlMade(ctx, client, ref)
	if err != nil || !made {
		return err
	}
	return client.Delete(ctx, ref.gvk, "", ref.name)
}

// dropIstioctlTag deletes the default revision tag istioctl installs next to
// a control plane without a revision (its webhook and Service), once the
// adopted release's own injector serves the same namespaces: left behind, it
// would outlive the control plane and fail every injection after destroy.
func dropIstioctlTag(ctx context.Context, client *kube.Client, cluster string) error {
	gone, err := client.DeleteIstioctlLeftovers(ctx, naming.IstioNamespace, naming.TagLabel+"="+naming.DefaultRevision, mutatingWebhookGVK, serviceGVK)
	for _, g := range gone {
		p.GetLogger(ctx).Infof("cluster %s: adopt: deleted istioctl's default revision tag (%s); the release's injector serves its namespaces", cluster, g)
	}
	return err
}

// eastWestDeployment is the east-west gateway's Deployment.
var eastWestDeployment = objectRef{gvk: deploymentGVK, ns: naming.IstioNamespace, name: naming.EastWestService}

// dropIstioctlGateway deletes what istioctl's gateway chart made that the
// gateway chart does not (its service account, role and binding, a
// disruption budget), once the gateway's pods all run on the new ones.
func dropIstioctlGateway(ctx context.Context, client *kube.Client, cluster string) error {
	gone, err := client.DeleteIstioctlLeftovers(ctx, naming.IstioNamespace, "app="+naming.EastWestService, serviceAccountGVK, roleGVK, roleBindingGVK, pdbGVK)
	for _, g := range gone {
		p.GetLogger(ctx).Infof("cluster %s: adopt: deleted istioctl's %s, which the gateway chart does not use", cluster, g)
	}
	return err
}
