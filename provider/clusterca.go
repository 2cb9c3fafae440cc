package provider

import "github.com/pulumi/pulumi-go-provider/infer"

// ClusterCA is one cluster's intermediate CA, signed by the mesh root.
type ClusterCA struct{ deps Deps }

// ClusterCAArgs are the ClusterCA's inputs.
type ClusterCAArgs struct {
	Cluster          string  `pulumi:"cluster" provider:"replaceOnChanges"`
	RootCertPEM      string  `pulumi:"rootCertPem" provider:"replaceOnChanges"`
	RootKeyPEM       string  `pulumi:"rootKeyPem" provider:"secret"`
	RootKeyPassword  *string `pulumi:"rootKeyPassword,optional" provider:"secret"`
	ValidityHours    *int    `pulumi:"validityHours,optional" provider:"replaceOnChanges"`
	KeyType          *string `pulumi:"keyType,optional" provider:"replaceOnChanges"`
	RSABits          *int    `pulumi:"rsaBits,optional" provider:"replaceOnChanges"`
	SanSuffix        *string `pulumi:"sanSuffix,optional" provider:"replaceOnChanges"`
	RenewBeforeHours *int    `pulumi:"renewBeforeHours,optional"`
	// TrustedRootCertPEMs lets Check see whether a new signing root was
	// already trusted: the intermediate is only reissued from one that was.
	TrustedRootCertPEMs []string `pulumi:"trustedRootCertPems,optional"`
	// AdoptFrom is the cluster whose live cacerts is kept, when the root
	// issued it, instead of issuing a new intermediate.
	AdoptFrom *ClusterConnection `pulumi:"adoptFrom,optional" diff:"quiet"`
}

// Annotate documents ClusterCAArgs.
func (c *ClusterCAArgs) Annotate(a infer.Annotator) {
	a.Describe(&c.Cluster, "The cluster's name; it becomes L=<cluster> in the subject.")
	a.Describe(&c.RootCertPEM, "The root certificate that signs this intermediate.")
	a.Describe(&c.RootKeyPEM, "The root key, PEM, possibly encrypted with rootKeyPassword.")
	a.Describe(&c.RootKeyPassword, "Password of an encrypted rootKeyPem.")
	a.Describe(&c.ValidityHours, "Validity in hours; clamped to the root's end, with a warning.")
	a.SetDefault(&c.ValidityHours, defaultValidityHours)
	a.Describe(&c.KeyType, "Key algorithm: RSA or ECDSA.")
	a.SetDefault(&c.KeyType, "RSA")
	a.Describe(&c.RSABits, "RSA key size: 2048, 3072 or 4096.")
	a.SetDefault(&c.RSABits, 4096)
	a.Describe(&c.SanSuffix, "When set, the intermediate gets SAN <cluster>.<sanSuffix>.")
	a.Describe(&c.RenewBeforeHours, "Reissue the intermediate on `pulumi up` once it is this close to expiry. Default: a fifth of its lifetime.")
	a.Describe(&c.AdoptFrom, "Adopt the intermediate of this cluster's live cacerts (made by ristioctl or by hand) when rootCertPem issued it and it is not due for renewal, instead of issuing a new one; one issued by another root is refused. Read once, at create.")
	a.Describe(&c.TrustedRootCertPEMs, "The mesh's other roots, trusted next to rootCertPem during a rotation. Check refuses a new rootCertPem that was not trusted before, or one that drops the old signer from the trusted roots: either would break mTLS between clusters.")
}

// ClusterCAState is the ClusterCA's output.
type ClusterCAState struct {
	ClusterCAArgs
	CertPEM      string `pulumi:"certPem"`
	KeyPEM       string `pulumi:"keyPem" provider:"secret"`
	CertChainPEM string `pulumi:"certChainPem"`
	NotAfter     string `pulumi:"notAfter"`
}

// Annotate documents ClusterCAState.
func (s *ClusterCAState) Annotate(a infer.Annotator) {
	a.Describe(&s.CertPEM, "The intermediate certificate (Istio's ca-cert.pem).")
	a.Describe(&s.KeyPEM, "The intermediate key (Istio's ca-key.pem).")
	a.Describe(&s.CertChainPEM, "The intermediate then the root (Istio's cert-chain.pem).")
	a.Describe(&s.NotAfter, "End of the intermediate's validity, RFC 3339.")
}

// Annotate documents ClusterCA.
func (r *ClusterCA) Annotate(a infer.Annotator) {
	a.Describe(&r, "A cluster's intermediate CA (pathlen 0), signed by the mesh root. Any input change, or nearing expiry, replaces it.")
}
