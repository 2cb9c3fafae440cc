package provider

import (
	"context"
	"fmt"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"helm.sh/helm/v3/pkg/releaseutil"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/ristio/pulumi-ristio/pkg/charts"
	"github.com/ristio/pulumi-ristio/pkg/helm"
	"github.com/ristio/pulumi-ristio/pkg/helmvalues"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

var (
	_ infer.CustomResource[RevisionTagArgs, RevisionTagState] = (*RevisionTag)(nil)
	_ infer.CustomCheck[RevisionTagArgs]                      = (*RevisionTag)(nil)
	_ infer.CustomDiff[RevisionTagArgs, RevisionTagState]     = (*RevisionTag)(nil)
	_ infer.CustomUpdate[RevisionTagArgs, RevisionTagState]   = (*RevisionTag)(nil)
	_ infer.CustomRead[RevisionTagArgs, RevisionTagState]     = (*RevisionTag)(nil)
	_ infer.CustomDelete[RevisionTagState]                    = (*RevisionTag)(nil)
)

// istioRevision is the revision Istio's charts are given for a ristio
// revision name: none for "default".
func istioRevision(name string) string {
	if name == naming.DefaultRevision {
		return ""
	}
	return name
}

// Check validates the connection, revision, version and chart source.
func (r *RevisionTag) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[RevisionTagArgs], error) {
	return checkInputs(ctx, req, func(args RevisionTagArgs, old *RevisionTagArgs) (failures []p.CheckFailure) {
		failures = checkConnection("cluster", req.NewInputs, args.Cluster)
		failures = append(failures, checkIstioVersion("istioVersion", args.Cluster.Name, args.IstioVersion)...)
		failures = append(failures, checkChartSource(r.deps, "chartRepository", args.ChartSource)...)
		if err := naming.ValidateDNSLabel(args.Revision); err != nil {
			failures = append(failures, p.CheckFailure{Property: "revision", Reason: fmt.Sprintf("cluster %s: revision %v", args.Cluster.Name, err)})
		}
		return failures
	})
}

// revisionTagKube is what the tag asks of its cluster's API server.
type revisionTagKube interface {
	webhookClient
	rolloutClient
}

// newRevisionTag builds the resource; its Diff moves the tag in place and
// repairs a webhook removed by hand.
func newRevisionTag(deps Deps) *RevisionTag {
	r := &RevisionTag{deps: deps}
	r.clusterResource = clusterResource[RevisionTagArgs, RevisionTagState, kubeHelm[revisionTagKube]]{
		connect:  connectKubeHelm[revisionTagKube](deps),
		claims:   deps,
		takeover: func(RevisionTagArgs, *RevisionTagState) takeover { return revisionTagTakeover },
		drift:    func(s RevisionTagState) map[string]bool { return map[string]bool{"webhookPresent": !s.WebhookPresent} },
		apply:    r.apply, read: readRevisionTag, remove: removeRevisionTag,
	}
	return r
}

// revisionTagTakeover is what the tag writes; istio-base, whose validator
// it moves, is the control planes'.
var revisionTagTakeover = takeover{objects: []objectRef{{mutatingWebhookGVK, "", naming.DefaultTagWebhook}}}

// apply points the tag at the revision; it has touched the cluster once
// the webhook is written.
func (r *RevisionTag) apply(ctx context.Context, c kubeHelm[revisionTagKube], w writer, in RevisionTagArgs, _ *RevisionTagState) (RevisionTagState, bool, error) {
	state := RevisionTagState{RevisionTagArgs: in}
	done := func(err error) (RevisionTagState, bool, error) { return state, state.WebhookPresent, err }
	name := in.Cluster.Name
	logger := p.GetLogger(ctx)
	rev := istioRevision(in.Revision)
	logger.InfoStatusf("%s: rendering the default tag for revision %s from chart istiod %s", name, in.Revision, in.IstioVersion)
	webhook, err := r.tagWebhook(ctx, in, rev)
	if err != nil {
		return done(err)
	}
	// The tagged revision's istiod must serve the webhook before pods go to it.
	if err := c.kube.WaitForDeployment(ctx, naming.IstioNamespace, naming.IstiodDeployment(rev), progress(ctx, name)); err != nil {
		return done(err)
	}
	logger.InfoStatusf("%s: pointing %s at revision %s", name, naming.DefaultTagWebhook, in.Revision)
	if err := applyOwned(ctx, c.kube, w, webhook, false); err != nil {
		return done(err)
	}
	state.WebhookPresent = true
	if err := keepDefaultInjectorOff(ctx, c.kube); err != nil {
		return done(err)
	}
	// Configuration is validated by the tagged revision too.
	target := naming.RevisionLabelValue(rev)
	base, err := ownedRelease(ctx, c.helm, w, name, naming.BaseRelease)
	if err != nil {
		return done(err)
	}
	if base == nil {
		return done(fmt.Errorf("release %s/%s is missing or not ristio's; the control planes install it", naming.IstioNamespace, naming.BaseRelease))
	}
	if base.Values[helmvalues.BaseDefaultRevisionKey] != target {
		logger.InfoStatusf("%s: pointing istiod-default-validator at revision %s", name, in.Revision)
		_, err = c.helm.Reconfigure(ctx, naming.BaseRelease, func(v map[string]any) { v[helmvalues.BaseDefaultRevisionKey] = target })
	}
	return done(err)
}

// tagWebhook renders istio-revision-tag-default from the revision's own
// istiod chart, the way `istioctl tag set default` does, marked as ristio's.
func (r *RevisionTag) tagWebhook(ctx context.Context, in RevisionTagArgs, rev string) (*unstructured.Unstructured, error) {
	ch, err := r.deps.chartSource(in.ChartSource).Load(ctx, charts.Istiod, in.IstioVersion)
	if err != nil {
		return nil, err
	}
	manifest, err := helm.Render(ch, naming.IstiodReleaseFor(rev), naming.IstioNamespace, map[string]any{
		"revision":     rev,
		"revisionTags": []any{naming.DefaultRevision},
	})
	if err != nil {
		return nil, err
	}
	for _, doc := range releaseutil.SplitManifests(manifest) {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil || obj.Object == nil {
			continue
		}
		if obj.GroupVersionKind() != mutatingWebhookGVK || obj.GetName() != naming.DefaultTagWebhook {
			continue
		}
		labels := obj.GetLabels()
		for k, v := range naming.ManagedLabels() {
			labels[k] = v
		}
		obj.SetLabels(labels)
		return obj, nil
	}
	return nil, fmt.Errorf("chart istiod %s renders no %s", in.IstioVersion, naming.DefaultTagWebhook)
}

// keepDefaultInjectorOff turns off the revision-less injector's webhooks while
// the default tag holds its selectors; otherwise both would inject a pod.
func keepDefaultInjectorOff(ctx context.Context, client webhookClient) error {
	tag, err := client.Get(ctx, mutatingWebhookGVK, "", naming.DefaultTagWebhook)
	if err != nil || tag == nil {
		return err
	}
	if _, err := client.DeactivateWebhooks(ctx, naming.DefaultInjectorWebhook); err != nil {
		return err
	}
	return nil
}

// tagPointingAt names the revision tag whose webhook points at revision, or "".
func tagPointingAt(ctx context.Context, client objectClient, revision string) (string, error) {
	tag, err := client.Get(ctx, mutatingWebhookGVK, "", naming.DefaultTagWebhook)
	if err != nil || tag == nil {
		return "", err
	}
	if tag.GetLabels()[naming.RevisionLabel] == naming.RevisionLabelValue(revision) {
		return naming.DefaultRevision, nil
	}
	return "", nil
}

// readRevisionTag notices a tag webhook removed, or moved, by hand.
func readRevisionTag(ctx context.Context, c kubeHelm[revisionTagKube], state RevisionTagState) (RevisionTagState, error) {
	tag, err := tagPointingAt(ctx, c.kube, istioRevision(state.Revision))
	state.WebhookPresent = tag != ""
	return state, err
}

// removeRevisionTag removes the tag webhook and gives the revision-less
// control plane, if there is one, its own injector back.
func removeRevisionTag(ctx context.Context, c kubeHelm[revisionTagKube], w writer, s RevisionTagState) error {
	if err := deleteManaged(ctx, c.kube, w, mutatingWebhookGVK, "", naming.DefaultTagWebhook); err != nil {
		return err
	}
	off, err := c.kube.WebhooksDeactivated(ctx, naming.DefaultInjectorWebhook)
	if err != nil || !off {
		return err
	}
	// Upgrading the release with its own chart and values restores the
	// selectors Helm rendered.
	p.GetLogger(ctx).InfoStatusf("%s: turning the revision-less injector back on", s.Cluster.Name)
	_, err = c.helm.Reconfigure(ctx, naming.IstiodRelease, func(map[string]any) {})
	return err
}
