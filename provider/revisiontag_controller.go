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
	"github.com/ristio/pulumi-ristio/pkg/kube"
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

// Diff moves the tag in place and repairs a webhook removed by hand.
func (r *RevisionTag) Diff(_ context.Context, req infer.DiffRequest[RevisionTagArgs, RevisionTagState]) (infer.DiffResponse, error) {
	diff := diffInputs(req.State.RevisionTagArgs, req.Inputs)
	if !req.State.WebhookPresent {
		diff["webhookPresent"] = p.PropertyDiff{Kind: p.Update}
	}
	return diffResponse(diff), nil
}

// Create points the tag at the revision.
func (r *RevisionTag) Create(ctx context.Context, req infer.CreateRequest[RevisionTagArgs]) (infer.CreateResponse[RevisionTagState], error) {
	id := newID(req.Name)
	if req.DryRun {
		err := r.deps.previewClaims(ctx, req.Inputs.Cluster, nil, writerOf(req.Inputs, id, false), revisionTagTakeover)
		return infer.CreateResponse[RevisionTagState]{ID: id, Output: RevisionTagState{RevisionTagArgs: req.Inputs}}, err
	}
	state, err := r.apply(ctx, writerOf(req.Inputs, id, false), req.Inputs)
	if err != nil && !state.WebhookPresent {
		return infer.CreateResponse[RevisionTagState]{}, err
	}
	return infer.CreateResponse[RevisionTagState]{ID: id, Output: state}, partial(err)
}

// Update moves the tag.
func (r *RevisionTag) Update(ctx context.Context, req infer.UpdateRequest[RevisionTagArgs, RevisionTagState]) (infer.UpdateResponse[RevisionTagState], error) {
	diff := diffInputs(req.State.RevisionTagArgs, req.Inputs)
	if req.DryRun || (req.State.WebhookPresent && quietOnly(diff, req.Inputs)) {
		state := req.State
		state.RevisionTagArgs = req.Inputs
		return infer.UpdateResponse[RevisionTagState]{Output: state}, nil
	}
	w := writerOf(req.Inputs, req.ID, true)
	if req.State.WebhookPresent && markOnly(diff, req.Inputs) {
		state := req.State
		state.RevisionTagArgs = req.Inputs
		ctx, cancel := withTimeout(ctx, req.Inputs.TimeoutSeconds)
		defer cancel()
		return infer.UpdateResponse[RevisionTagState]{Output: state}, r.deps.markOwned(ctx, req.Inputs.Cluster, w, revisionTagTakeover)
	}
	state, err := r.apply(ctx, w, req.Inputs)
	return infer.UpdateResponse[RevisionTagState]{Output: state}, partial(err)
}

// revisionTagTakeover is what the tag writes; istio-base, whose validator
// it moves, is the control planes'.
var revisionTagTakeover = takeover{objects: []objectRef{{mutatingWebhookGVK, "", naming.DefaultTagWebhook}}}

func (r *RevisionTag) apply(ctx context.Context, w writer, in RevisionTagArgs) (RevisionTagState, error) {
	state := RevisionTagState{RevisionTagArgs: in}
	ctx, cancel := withTimeout(ctx, in.TimeoutSeconds)
	defer cancel()
	name := in.Cluster.Name
	logger := p.GetLogger(ctx)
	client, err := r.deps.kubeClient(in.Cluster)
	if err != nil {
		return state, err
	}
	hc, err := r.deps.helmClient(ctx, in.Cluster, w)
	if err != nil {
		return state, err
	}
	rev := istioRevision(in.Revision)
	logger.InfoStatusf("%s: rendering the default tag for revision %s from chart istiod %s", name, in.Revision, in.IstioVersion)
	webhook, err := r.tagWebhook(ctx, in, rev)
	if err != nil {
		return state, wrapCluster(name, err)
	}
	// The tagged revision's istiod must serve the webhook before pods go to it.
	if err := client.WaitForDeployment(ctx, naming.IstioNamespace, naming.IstiodDeployment(rev), progress(ctx, name)); err != nil {
		return state, wrapCluster(name, err)
	}
	logger.InfoStatusf("%s: pointing %s at revision %s", name, naming.DefaultTagWebhook, in.Revision)
	if err := applyOwned(ctx, client, w, webhook, false); err != nil {
		return state, wrapCluster(name, err)
	}
	state.WebhookPresent = true
	if err := keepDefaultInjectorOff(ctx, client); err != nil {
		return state, wrapCluster(name, err)
	}
	// Configuration is validated by the tagged revision too.
	target := naming.RevisionLabelValue(rev)
	base, err := ownedRelease(ctx, hc, w, name, naming.BaseRelease)
	if err != nil {
		return state, err
	}
	if base == nil {
		return state, wrapCluster(name, fmt.Errorf("release %s/%s is missing or not ristio's; the control planes install it", naming.IstioNamespace, naming.BaseRelease))
	}
	if base.Values[helmvalues.BaseDefaultRevisionKey] != target {
		logger.InfoStatusf("%s: pointing istiod-default-validator at revision %s", name, in.Revision)
		if _, err := hc.Reconfigure(ctx, naming.BaseRelease, func(v map[string]any) { v[helmvalues.BaseDefaultRevisionKey] = target }); err != nil {
			return state, wrapCluster(name, err)
		}
	}
	return state, nil
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
func keepDefaultInjectorOff(ctx context.Context, client *kube.Client) error {
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
func tagPointingAt(ctx context.Context, client *kube.Client, revision string) (string, error) {
	tag, err := client.Get(ctx, mutatingWebhookGVK, "", naming.DefaultTagWebhook)
	if err != nil || tag == nil {
		return "", err
	}
	if tag.GetLabels()[naming.RevisionLabel] == naming.RevisionLabelValue(revision) {
		return naming.DefaultRevision, nil
	}
	return "", nil
}

// Read notices a tag webhook removed, or moved, by hand.
func (r *RevisionTag) Read(ctx context.Context, req infer.ReadRequest[RevisionTagArgs, RevisionTagState]) (infer.ReadResponse[RevisionTagArgs, RevisionTagState], error) {
	ctx, cancel := withTimeout(ctx, req.State.TimeoutSeconds) // refresh is bounded like the writes
	defer cancel()
	state := req.State
	client, err := r.deps.kubeClient(state.Cluster)
	if err != nil {
		return infer.ReadResponse[RevisionTagArgs, RevisionTagState]{}, err
	}
	tag, err := tagPointingAt(ctx, client, istioRevision(state.Revision))
	if err != nil {
		return infer.ReadResponse[RevisionTagArgs, RevisionTagState]{}, wrapCluster(state.Cluster.Name, err)
	}
	state.WebhookPresent = tag != ""
	return infer.ReadResponse[RevisionTagArgs, RevisionTagState]{ID: req.ID, Inputs: req.Inputs, State: state}, nil
}

// Delete removes the tag webhook and gives the revision-less control plane,
// if there is one, its own injector back.
func (r *RevisionTag) Delete(ctx context.Context, req infer.DeleteRequest[RevisionTagState]) (infer.DeleteResponse, error) {
	c := req.State.Cluster
	ctx, cancel := withTimeout(ctx, req.State.TimeoutSeconds)
	defer cancel()
	client, err := r.deps.kubeClient(c)
	if err != nil {
		return infer.DeleteResponse{}, deleteHint(c.Name, err)
	}
	w := writerOf(req.State, req.ID, true)
	if err := deleteManaged(ctx, client, w, mutatingWebhookGVK, "", naming.DefaultTagWebhook); err != nil {
		return infer.DeleteResponse{}, deleteHint(c.Name, err)
	}
	off, err := client.WebhooksDeactivated(ctx, naming.DefaultInjectorWebhook)
	if err != nil {
		return infer.DeleteResponse{}, deleteHint(c.Name, err)
	}
	if !off {
		return infer.DeleteResponse{}, nil
	}
	// Upgrading the release with its own chart and values restores the
	// selectors Helm rendered.
	hc, err := r.deps.helmClient(ctx, c, w)
	if err != nil {
		return infer.DeleteResponse{}, deleteHint(c.Name, err)
	}
	p.GetLogger(ctx).InfoStatusf("%s: turning the revision-less injector back on", c.Name)
	if _, err := hc.Reconfigure(ctx, naming.IstiodRelease, func(map[string]any) {}); err != nil {
		return infer.DeleteResponse{}, deleteHint(c.Name, err)
	}
	return infer.DeleteResponse{}, nil
}
