package provider

import "github.com/pulumi/pulumi-go-provider/infer"

// CACerts is the `cacerts` secret in istio-system, from which istiod signs
// workload certificates with the cluster's intermediate.
type CACerts struct {
	deps Deps
	clusterResource[CACertsArgs, CACertsState, caCertsClient]
}

// CACertsArgs are the CACerts inputs.
type CACertsArgs struct {
	Cluster           ClusterConnection `pulumi:"cluster"`
	CACertPEM         string            `pulumi:"caCertPem"`
	CAKeyPEM          string            `pulumi:"caKeyPem" provider:"secret"`
	RootCertPEM       string            `pulumi:"rootCertPem"`
	CertChainPEM      string            `pulumi:"certChainPem"`
	ExtraRootCertPEMs []string          `pulumi:"extraRootCertPems,optional"`
	TimeoutSeconds    *int              `pulumi:"timeoutSeconds,optional" diff:"quiet"`
	Adopt             *bool             `pulumi:"adopt,optional" diff:"quiet"`
	MeshMark
	// MeshClusters is read only by the guard of a step that drops a root,
	// so a change to it alone is no change.
	MeshClusters []ClusterConnection `pulumi:"meshClusters,optional" diff:"ignore"`
}

func (a CACertsArgs) target() clusterTarget {
	return clusterTarget{cluster: a.Cluster, timeoutSeconds: a.TimeoutSeconds, adopt: a.Adopt}
}

// Annotate documents CACertsArgs.
func (c *CACertsArgs) Annotate(a infer.Annotator) {
	a.Describe(&c.Cluster, "The cluster to write the secret to.")
	a.Describe(&c.CACertPEM, "The intermediate certificate (ca-cert.pem).")
	a.Describe(&c.CAKeyPEM, "The intermediate key (ca-key.pem).")
	a.Describe(&c.RootCertPEM, "The mesh root (root-cert.pem).")
	a.Describe(&c.CertChainPEM, "The intermediate then the root (cert-chain.pem).")
	a.Describe(&c.ExtraRootCertPEMs, "More roots appended to root-cert.pem, to rotate the root without an outage.")
	a.Describe(&c.TimeoutSeconds, "Upper bound of a write, and of the wait for istio-system to go when Delete removes it.")
	a.Describe(&c.Adopt, "Keep a cacerts secret ristio did not make (ristioctl's) and mark it ristio's, instead of refusing it. ClusterCA has checked that its intermediate comes from the mesh root.")
	a.Describe(&c.MeshClusters, "Every cluster of the mesh (this one included), read when an update drops a root from root-cert.pem: the update is refused unless each cluster's live cacerts already signs with a root that stays and each istiod serves a certificate from it. Empty checks this cluster alone. A change to this list alone changes nothing.")
	a.SetDefault(&c.TimeoutSeconds, defaultTimeoutSeconds)
}

// CACertsState is the CACerts output.
type CACertsState struct {
	CACertsArgs
	Checksum string `pulumi:"checksum"`
}

// Annotate documents CACertsState.
func (s *CACertsState) Annotate(a infer.Annotator) {
	a.Describe(&s.Checksum, "SHA-256 of the secret's data as last seen in the cluster; refresh notices edits.")
}

// Annotate documents CACerts.
func (r *CACerts) Annotate(a infer.Annotator) {
	a.Describe(&r, "The `cacerts` secret in istio-system: ca-cert.pem, ca-key.pem, root-cert.pem and cert-chain.pem, exactly as Istio's plug-in CA expects.")
}
