package provider

import "github.com/pulumi/pulumi-go-provider/infer"

// MultiClusterMesh.remoteSecrets values.
const (
	remoteSecretsPerPair    = "perPair"
	remoteSecretsPerCluster = "perCluster"
)

// RemoteSecretSet holds every remote secret one cluster's istiod reads, one
// per source, each written as RemoteSecret writes it. It exists for large
// meshes: with MultiClusterMesh's remoteSecrets: perCluster, a mesh of N
// clusters has N of these in place of N(N−1) RemoteSecrets, and the engine's
// cost per resource is paid N times, not N² times.
type RemoteSecretSet struct {
	deps  Deps
	pairs *RemoteSecret
	clusterResource[RemoteSecretSetArgs, RemoteSecretSetState, remoteSecretKube]
}

// RemoteSecretSetArgs are the RemoteSecretSet inputs.
type RemoteSecretSetArgs struct {
	Target              ClusterConnection             `pulumi:"target"`
	Sources             map[string]RemoteSecretSource `pulumi:"sources"`
	ReaderTokenMode     *string                       `pulumi:"readerTokenMode,optional"`
	ReaderTokenTTLHours *int                          `pulumi:"readerTokenTtlHours,optional"`
	TimeoutSeconds      *int                          `pulumi:"timeoutSeconds,optional" diff:"quiet"`
	Adopt               *bool                         `pulumi:"adopt,optional" diff:"quiet"`
	MeshMark
	RestartIstiod *string `pulumi:"restartIstiodAfterSecretRotation,optional" diff:"quiet"`
}

// target is where the set's secrets are written.
func (a RemoteSecretSetArgs) target() clusterTarget {
	return clusterTarget{cluster: a.Target, timeoutSeconds: a.TimeoutSeconds, adopt: a.Adopt}
}

// Annotate documents RemoteSecretSetArgs.
func (c *RemoteSecretSetArgs) Annotate(a infer.Annotator) {
	a.Describe(&c.Target, "The cluster whose istiod watches the sources: every secret is written there.")
	a.Describe(&c.Sources, "The clusters to be watched, by name (each entry's cluster.name): one secret istio-remote-secret-<name> each.")
	a.Describe(&c.ReaderTokenMode, readerTokenModeDoc)
	a.SetDefault(&c.ReaderTokenMode, tokenRequestMode)
	a.Describe(&c.ReaderTokenTTLHours, readerTokenTTLDoc)
	a.SetDefault(&c.ReaderTokenTTLHours, defaultReaderTokenHours)
	a.Describe(&c.TimeoutSeconds, "How long to wait for each source's reader service account and its token.")
	a.SetDefault(&c.TimeoutSeconds, defaultTimeoutSeconds)
	a.Describe(&c.Adopt, "Rewrite remote secrets made by `istioctl create-remote-secret` in place instead of refusing them.")
	a.Describe(&c.RestartIstiod, restartPolicyDoc+" The target's istiods restart at most once per `up`, after every source is written. Default: auto.")
}

// RemoteSecretSource is one cluster a RemoteSecretSet's target watches.
type RemoteSecretSource struct {
	Cluster         ClusterConnection `pulumi:"cluster"`
	RemoteAPIServer *string           `pulumi:"remoteApiServer,optional"`
}

// Annotate documents RemoteSecretSource.
func (c *RemoteSecretSource) Annotate(a infer.Annotator) {
	a.Describe(&c.Cluster, "The cluster to be watched: the kubeconfig in its secret points at it.")
	a.Describe(&c.RemoteAPIServer, "API-server URL the target uses to reach this source, in place of its kubeconfig's server.")
}

// RemoteSecretSetState is the RemoteSecretSet output.
type RemoteSecretSetState struct {
	RemoteSecretSetArgs
	Secrets map[string]RemoteSecretStatus `pulumi:"secrets"`
}

// Annotate documents RemoteSecretSetState.
func (s *RemoteSecretSetState) Annotate(a infer.Annotator) {
	a.Describe(&s.Secrets, "Each source written so far, by name: its secret, server, token times and checksums. A source missing here is written by the next `up`.")
}

// Annotate documents RemoteSecretSet.
func (r *RemoteSecretSet) Annotate(a infer.Annotator) {
	a.Describe(&r, "Every remote secret one cluster's istiod reads (istio-remote-secret-<source> in its istio-system, each as RemoteSecret writes it), in one resource: a preview lists each source added, removed or changed as its own entry of the detailed diff.")
}

// pair is the RemoteSecret that source name's secret would be on its own.
func (in RemoteSecretSetArgs) pair(name string) RemoteSecretArgs {
	s := in.Sources[name]
	s.Cluster.Name = name // a source written and since dropped from the inputs
	return RemoteSecretArgs{
		Source: s.Cluster, Target: in.Target, RemoteAPIServer: s.RemoteAPIServer,
		ReaderTokenMode: in.ReaderTokenMode, ReaderTokenTTLHours: in.ReaderTokenTTLHours,
		TimeoutSeconds: in.TimeoutSeconds, Adopt: in.Adopt, MeshMark: in.MeshMark,
	}
}

// pair is source name's RemoteSecret state as this set last wrote it.
func (s RemoteSecretSetState) pair(name string) RemoteSecretState {
	return RemoteSecretState{RemoteSecretArgs: s.RemoteSecretSetArgs.pair(name), RemoteSecretStatus: s.Secrets[name]}
}
