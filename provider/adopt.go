package provider

import (
	"context"
	"fmt"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ristio/pulumi-ristio/pkg/kube"
	"github.com/ristio/pulumi-ristio/pkg/naming"
	"github.com/ristio/pulumi-ristio/pkg/pki"
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

// takeover is what a resource writes in its cluster that may already be
// there: istioctl's workload, taken over through a Helm release when adopt
// is set, objects it writes in place, and its Helm releases.
type takeover struct {
	release  string // the release taking over workload; "" for none
	workload objectRef
	objects  []objectRef
	releases []string
}

// previewClaims checks, during preview of a create, what up will find in
// cluster c: each object or release of t that exists and is not w's is
// refused, as up would refuse it, unless adopt is set; then preview says
// what up will take over (the workload when istioctl made it, and each
// object and release that is not w's).
func (d Deps) previewClaims(ctx context.Context, c ClusterConnection, adopt *bool, w writer, t takeover) error {
	logger := p.GetLogger(ctx)
	// Without adopt, a cluster preview cannot read is left to up, which
	// claims each object again before writing it.
	unread := func(err error) error {
		if deref(adopt) {
			return wrapCluster(c.Name, fmt.Errorf("adopt: %w", err))
		}
		logger.Warningf("cluster %s: preview cannot check what exists there (up will): %v", c.Name, err)
		return nil
	}
	client, err := d.kubeClient(c)
	if err != nil {
		return unread(err)
	}
	if deref(adopt) && t.release != "" {
		made, err := istioctlMade(ctx, client, t.workload)
		if err != nil {
			return wrapCluster(c.Name, fmt.Errorf("adopt: %w", err))
		}
		if made {
			logger.Infof("cluster %s: adopt release %s from istioctl (%s and what the chart renders)", c.Name, t.release, t.workload)
		}
	}
	for _, ref := range t.objects {
		obj, err := client.Get(ctx, ref.gvk, ref.ns, ref.name)
		if err != nil {
			return unread(fmt.Errorf("reading %s: %w", ref, err))
		}
		if obj != nil {
			if err := previewClaim(ctx, c.Name, ref.String(), w.ofObject(obj), objectMarks(obj), deref(adopt)); err != nil {
				return err
			}
		}
	}
	if len(t.releases) == 0 {
		return nil
	}
	hc, err := d.helmClient(ctx, c, w)
	if err != nil {
		return unread(err)
	}
	for _, name := range t.releases {
		rel, err := hc.Get(ctx, name)
		if err != nil {
			return unread(fmt.Errorf("reading release %s: %w", name, err))
		}
		if rel != nil {
			what := fmt.Sprintf("Helm release %s/%s", naming.IstioNamespace, name)
			if err := previewClaim(ctx, c.Name, what, w.ofRelease(rel), releaseMarks(rel), deref(adopt)); err != nil {
				return err
			}
		}
	}
	return nil
}

// previewClaim refuses in preview what up would refuse, or says what up
// will adopt.
func previewClaim(ctx context.Context, cluster, what string, own ownership, m marks, adopt bool) error {
	if own == ours || own == oursUnmarked {
		return nil
	}
	if adopt {
		p.GetLogger(ctx).Infof("cluster %s: adopt %s", cluster, what)
		return nil
	}
	return wrapCluster(cluster, refusal(ctx, what, own, m, false))
}

// istioctlMade reads an object and reports whether istioctl made it and no
// Helm release has taken it over.
func istioctlMade(ctx context.Context, client objectClient, ref objectRef) (bool, error) {
	obj, err := client.Get(ctx, ref.gvk, ref.ns, ref.name)
	if err != nil || obj == nil {
		return false, err
	}
	return kube.MadeByIstioctl(obj), nil
}

func istiodDeployment(revision string) objectRef {
	return objectRef{gvk: deploymentGVK, ns: naming.IstioNamespace, name: naming.IstiodDeployment(revision)}
}

// adopting lets hc's installs take over what istioctl made when adopt is
// set, and says whether istiod's Deployment is istioctl's: the install about
// to run is then the adoption, and its release keeps istioctl's name.
func (r *IstioControlPlane) adopting(ctx context.Context, client objectClient, hc releaseClient, in IstioControlPlaneArgs) (bool, error) {
	if !deref(in.Adopt) {
		return false, nil
	}
	hc.setTakeOwnership(true)
	made, err := istioctlMade(ctx, client, istiodDeployment(deref(in.Revision)))
	if err != nil {
		return false, fmt.Errorf("adopt: %w", err)
	}
	return made, nil
}

// reactivateInjector deletes the revisionless injector istioctl made and
// turned off behind its default tag, so that the release creates it anew and
// on: Helm's take-ownership merges into what it finds and would keep
// istioctl's never-match selector. The tag goes on injecting meanwhile.
// An injector istioctl made that still injects is left as it is: the
// release merges into it and nothing stops injecting.
func reactivateInjector(ctx context.Context, client webhookClient) error {
	ref := objectRef{gvk: mutatingWebhookGVK, name: naming.DefaultInjectorWebhook}
	made, err := istioctlMade(ctx, client, ref)
	if err != nil || !made {
		return err
	}
	off, err := client.WebhooksDeactivated(ctx, ref.name)
	if err != nil || !off {
		return err
	}
	return client.Delete(ctx, ref.gvk, "", ref.name)
}

// dropIstioctlTag deletes the default revision tag istioctl installs next to
// a control plane without a revision (its webhook and Service), once the
// adopted release's own injector serves the same namespaces: left behind, it
// would outlive the control plane and fail every injection after destroy.
func dropIstioctlTag(ctx context.Context, client leftoverClient, cluster string) error {
	gone, err := client.DeleteIstioctlLeftovers(ctx, naming.IstioNamespace, naming.TagLabel+"="+naming.DefaultRevision, mutatingWebhookGVK, serviceGVK)
	for _, g := range gone {
		p.GetLogger(ctx).Infof("cluster %s: adopt: deleted istioctl's default revision tag (%s); the release's injector serves its namespaces", cluster, g)
	}
	return err
}

// eastWestDeployment is the east-west gateway's Deployment.
var eastWestDeployment = objectRef{gvk: deploymentGVK, ns: naming.IstioNamespace, name: naming.EastWestDeployment}

// dropIstioctlGateway deletes what istioctl's gateway chart made that the
// gateway chart does not (its service account, role and binding, a
// disruption budget), once the gateway's pods all run on the new ones.
func dropIstioctlGateway(ctx context.Context, client leftoverClient, cluster string) error {
	gone, err := client.DeleteIstioctlLeftovers(ctx, naming.IstioNamespace, "app="+naming.EastWestService, serviceAccountGVK, roleGVK, roleBindingGVK, pdbGVK)
	for _, g := range gone {
		p.GetLogger(ctx).Infof("cluster %s: adopt: deleted istioctl's %s, which the gateway chart does not use", cluster, g)
	}
	return err
}

// warnAdoptionDrops says, when a cacerts ristio did not write is about to
// be adopted, which roots its live root-cert.pem trusts that the mesh's
// will not: workloads holding certificates from them stop being trusted.
// It runs in Check, so preview says it once the new bundle and the
// connection are known; a cluster that cannot be read is left to Create.
func (r *CACerts) warnAdoptionDrops(ctx context.Context, raw property.Map, args CACertsArgs) {
	if raw.Get("rootCertPem").IsComputed() || anyComputed(raw.Get("extraRootCertPems")) || raw.Get("cluster").HasComputed() {
		return
	}
	client, err := r.deps.kubeClient(args.Cluster)
	if err != nil {
		return
	}
	ctx, cancel := withTimeout(ctx, args.TimeoutSeconds)
	defer cancel()
	live, err := client.GetSecret(ctx, naming.IstioNamespace, naming.CACertsSecret)
	if err != nil || live == nil || managedByRistio(live.Labels) {
		return
	}
	if msg := adoptionDrops(args.Cluster.Name, live.Data[pki.RootCertFile], args.data()[pki.RootCertFile]); msg != "" {
		p.GetLogger(ctx).Warning(msg)
	}
}

// adoptionDrops is the warning for an adoption that replaces the live
// root-cert.pem with next, or "" when next trusts every root live does.
func adoptionDrops(cluster string, live, next []byte) string {
	if len(live) == 0 {
		return ""
	}
	dropped, err := pki.DroppedRoots(live, next)
	if err != nil {
		return fmt.Sprintf("cluster %s: adopt %s/%s: its root-cert.pem cannot be read (%v); ristio's replaces it", cluster, naming.IstioNamespace, naming.CACertsSecret, err)
	}
	if len(dropped) == 0 {
		return ""
	}
	return fmt.Sprintf("cluster %s: adopt %s/%s: the mesh's root-cert.pem will no longer trust %s, which the live one trusts: workloads whose certificates chain to it lose mTLS with this cluster. "+
		"To keep trusting it, list it in certificate.roots after the signing root (rootCertPem without a key)",
		cluster, naming.IstioNamespace, naming.CACertsSecret, pki.DescribeRoots(dropped))
}
