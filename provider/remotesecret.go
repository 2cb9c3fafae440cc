package provider

import "github.com/pulumi/pulumi-go-provider/infer"

// RemoteSecret lets one cluster's istiod watch another: it writes, into the
// target's istio-system, a kubeconfig for the source cluster carrying a
// read-only token of istio-reader-service-account.
type RemoteSecret struct {
	deps Deps
	clusterResource[RemoteSecretArgs, RemoteSecretState, remoteSecretKube]
}

// Reader token modes.
const (
	tokenRequestMode         = "tokenRequest"
	serviceAccountSecretMode = "serviceAccountSecret"
	defaultReaderTokenHours  = 8760
)

// Docs of the reader-token inputs RemoteSecret and RemoteSecretSet share.
const (
	readerTokenModeDoc = "tokenRequest (bounded tokens from the TokenRequest API, reissued by `pulumi up` past 80% of their life) or serviceAccountSecret (the long-lived token secret istioctl makes)."
	readerTokenTTLDoc  = "Lifetime of a tokenRequest token, in hours."
)

// RemoteSecretArgs are the RemoteSecret inputs.
type RemoteSecretArgs struct {
	Source              ClusterConnection `pulumi:"source"`
	Target              ClusterConnection `pulumi:"target"`
	RemoteAPIServer     *string           `pulumi:"remoteApiServer,optional"`
	ReaderTokenMode     *string           `pulumi:"readerTokenMode,optional"`
	ReaderTokenTTLHours *int              `pulumi:"readerTokenTtlHours,optional"`
	TimeoutSeconds      *int              `pulumi:"timeoutSeconds,optional" diff:"quiet"`
	Adopt               *bool             `pulumi:"adopt,optional" diff:"quiet"`
	MeshMark
	RestartIstiod *string `pulumi:"restartIstiodAfterSecretRotation,optional" diff:"quiet"`
}

// target is where a remote secret is written.
func (a RemoteSecretArgs) target() clusterTarget {
	return clusterTarget{cluster: a.Target, timeoutSeconds: a.TimeoutSeconds, adopt: a.Adopt}
}

// Annotate documents RemoteSecretArgs.
func (c *RemoteSecretArgs) Annotate(a infer.Annotator) {
	a.Describe(&c.Source, "The cluster to be watched: the kubeconfig in the secret points at it.")
	a.Describe(&c.Target, "The cluster whose istiod watches the source: the secret is written there.")
	a.Describe(&c.RemoteAPIServer, "API-server URL the target uses to reach the source, in place of the source kubeconfig's server (a private endpoint or an access proxy).")
	a.Describe(&c.ReaderTokenMode, readerTokenModeDoc)
	a.SetDefault(&c.ReaderTokenMode, tokenRequestMode)
	a.Describe(&c.ReaderTokenTTLHours, readerTokenTTLDoc)
	a.SetDefault(&c.ReaderTokenTTLHours, defaultReaderTokenHours)
	a.Describe(&c.TimeoutSeconds, "How long to wait for the reader service account and its token.")
	a.Describe(&c.Adopt, "Rewrite a remote secret made by `istioctl create-remote-secret` in place (same name: istiod sees an update, not a removal) instead of refusing it.")
	a.SetDefault(&c.TimeoutSeconds, defaultTimeoutSeconds)
	a.Describe(&c.RestartIstiod, restartPolicyDoc+" Default: auto.")
}

// RemoteSecretState is the RemoteSecret output.
type RemoteSecretState struct {
	RemoteSecretArgs
	RemoteSecretStatus
}

// RemoteSecretStatus is what was written for one source: a RemoteSecret's
// outputs, and one entry of a RemoteSecretSet's.
type RemoteSecretStatus struct {
	SecretName      string `pulumi:"secretName"`
	Server          string `pulumi:"server"`
	TokenIssuedAt   string `pulumi:"tokenIssuedAt"`
	TokenExpiresAt  string `pulumi:"tokenExpiresAt"`
	AppliedChecksum string `pulumi:"appliedChecksum"`
	Checksum        string `pulumi:"checksum"`
	TokenBinding    string `pulumi:"tokenBinding,optional"`
	// KeptServer and KeptCAPEM are the endpoint of the istioctl secret this
	// one took over, written while remoteApiServer is unset.
	KeptServer string `pulumi:"keptServer,optional"`
	KeptCAPEM  string `pulumi:"keptCaPem,optional"`
}

// Annotate documents RemoteSecretStatus.
func (s *RemoteSecretStatus) Annotate(a infer.Annotator) {
	a.Describe(&s.SecretName, "Name of the secret in the target's istio-system.")
	a.Describe(&s.Server, "The source API-server URL written into the kubeconfig.")
	a.Describe(&s.TokenIssuedAt, "When the reader token was issued, RFC 3339.")
	a.Describe(&s.TokenExpiresAt, "When the reader token expires, RFC 3339; empty for a long-lived token.")
	a.Describe(&s.AppliedChecksum, "SHA-256 of the secret data ristio wrote.")
	a.Describe(&s.Checksum, "SHA-256 of the secret data as last seen; differs from appliedChecksum after a hand edit.")
	a.Describe(&s.KeptServer, "The API-server URL of the `istioctl create-remote-secret` secret this one took over (adopt), when it differs from the source kubeconfig's: it is written instead, so the target keeps reaching the source the way it did, until remoteApiServer is set.")
	a.Describe(&s.KeptCAPEM, "The certificate authority the adopted secret verified keptServer with.")
	a.Describe(&s.TokenBinding, "The Secret in the source's istio-system that the tokenRequest token is bound to: the token works only while it exists, and ristio deletes it (revoking the token at once) when the token is renewed, the pair removed or readerTokenMode changed. Empty for a long-lived token, and for a token issued before ristio bound them.")
}

// Annotate documents RemoteSecret.
func (r *RemoteSecret) Annotate(a infer.Annotator) {
	a.Describe(&r, "Secret istio-remote-secret-<source> in the target's istio-system (label istio/multiCluster=true, annotation networking.istio.io/cluster=<source>): a kubeconfig for the source with a read-only istio-reader-service-account token.")
}
