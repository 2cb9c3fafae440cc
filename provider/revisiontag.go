package provider

import "github.com/pulumi/pulumi-go-provider/infer"

// RevisionTag is Istio's `default` revision tag in one cluster: the webhook
// configuration istio-revision-tag-default that injects namespaces labelled
// istio-injection=enabled or istio.io/rev=default (and pods labelled
// istio.io/rev=default, such as the east-west gateway's) with the proxy of
// one revision, and the revision istiod-default-validator sends Istio
// configuration to. Moving it moves those workloads' next pods, with no
// relabelling: Istio's canary upgrade.
type RevisionTag struct {
	deps Deps
	clusterResource[RevisionTagArgs, RevisionTagState, kubeHelm[revisionTagKube]]
}

// RevisionTagArgs are the RevisionTag inputs.
type RevisionTagArgs struct {
	Cluster        ClusterConnection `pulumi:"cluster"`
	Revision       string            `pulumi:"revision"`
	IstioVersion   string            `pulumi:"istioVersion"`
	TimeoutSeconds *int              `pulumi:"timeoutSeconds,optional" diff:"quiet"`
	ChartSource
	MeshMark
}

func (a RevisionTagArgs) target() clusterTarget {
	return clusterTarget{cluster: a.Cluster, timeoutSeconds: a.TimeoutSeconds}
}

// Annotate documents RevisionTagArgs.
func (t *RevisionTagArgs) Annotate(a infer.Annotator) {
	a.Describe(&t.Cluster, "The cluster.")
	a.Describe(&t.Revision, "The revision the tag points at; \"default\" is the control plane installed without a revision.")
	a.Describe(&t.IstioVersion, "That revision's Istio version: the istiod chart the tag's webhook is rendered from.")
	a.Describe(&t.TimeoutSeconds, "Upper bound of the tag's cluster calls.")
	a.SetDefault(&t.TimeoutSeconds, defaultTimeoutSeconds)
}

// RevisionTagState is the RevisionTag output.
type RevisionTagState struct {
	RevisionTagArgs
	WebhookPresent bool `pulumi:"webhookPresent"`
}

// Annotate documents RevisionTagState.
func (s *RevisionTagState) Annotate(a infer.Annotator) {
	a.Describe(&s.WebhookPresent, "Whether istio-revision-tag-default pointed at the revision when last seen.")
}

// Annotate documents RevisionTag.
func (r *RevisionTag) Annotate(a infer.Annotator) {
	a.Describe(&r, "Istio's default revision tag in one cluster: the istio-revision-tag-default injection webhook (rendered from the revision's istiod chart, as `istioctl tag set default` does) and istio-base's default validator, pointed at one revision. The injector of a control plane installed without a revision is turned off while the tag holds its selectors.")
}
