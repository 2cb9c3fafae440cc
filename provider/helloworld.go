package provider

import "github.com/pulumi/pulumi-go-provider/infer"

// HelloWorld is Istio's verification sample in one cluster: helloworld (one
// version per cluster) and curl, in an injected namespace.
type HelloWorld struct {
	deps Deps
	clusterResource[HelloWorldArgs, HelloWorldState, helloWorldClient]
}

// HelloWorldArgs are the HelloWorld inputs.
type HelloWorldArgs struct {
	Cluster        ClusterConnection `pulumi:"cluster"`
	SampleVersion  string            `pulumi:"sampleVersion" provider:"replaceOnChanges"`
	Revision       *string           `pulumi:"revision,optional"`
	ProxyRevision  *string           `pulumi:"proxyRevision,optional"`
	Namespace      *string           `pulumi:"namespace,optional" provider:"replaceOnChanges"`
	Dataplane      *string           `pulumi:"dataplane,optional"`
	Wait           *bool             `pulumi:"wait,optional" diff:"quiet"`
	TimeoutSeconds *int              `pulumi:"timeoutSeconds,optional" diff:"quiet"`
	Adopt          *bool             `pulumi:"adopt,optional" diff:"quiet"`
	MeshMark
}

func (a HelloWorldArgs) target() clusterTarget {
	return clusterTarget{cluster: a.Cluster, timeoutSeconds: a.TimeoutSeconds, adopt: a.Adopt}
}

// Annotate documents HelloWorldArgs.
func (c *HelloWorldArgs) Annotate(a infer.Annotator) {
	a.Describe(&c.Cluster, "The cluster to deploy into.")
	a.Describe(&c.SampleVersion, "helloworld version deployed here: v1 or v2.")
	a.Describe(&c.Revision, "Istio revision: the namespace is labelled istio.io/rev=<revision> instead of istio-injection=enabled.")
	a.Describe(&c.ProxyRevision, "The revision the default tag points at, for a sample that follows the tag (no revision): a change restarts its pods so that revision injects them.")
	a.Describe(&c.Namespace, "Namespace of the sample.")
	a.SetDefault(&c.Namespace, "sample")
	a.Describe(&c.Dataplane, "sidecar (default) or ambient: the namespace is labelled istio.io/dataplane-mode=ambient instead of for injection, and the services istio.io/global=true so that other clusters reach them.")
	a.Describe(&c.Wait, "Wait until the helloworld and curl Deployments are available.")
	a.SetDefault(&c.Wait, true)
	a.Describe(&c.TimeoutSeconds, "How long to wait for the Deployments.")
	a.Describe(&c.Adopt, "Take over the sample's objects applied by ristioctl instead of refusing them.")
	a.SetDefault(&c.TimeoutSeconds, defaultTimeoutSeconds)
}

// HelloWorldState is the HelloWorld output.
type HelloWorldState struct {
	HelloWorldArgs
	Present bool `pulumi:"present"`
}

// Annotate documents HelloWorldState.
func (s *HelloWorldState) Annotate(a infer.Annotator) {
	a.Describe(&s.Present, "Whether every object of the sample was present when last seen.")
}

// Annotate documents HelloWorld.
func (r *HelloWorld) Annotate(a infer.Annotator) {
	a.Describe(&r, "Istio's helloworld and curl sample, as in its multicluster verification guide: Service helloworld on port 5000, Deployment helloworld-<version>, and curl.")
}
