package provider

import "github.com/pulumi/pulumi-go-provider/infer"

// RootCA is the mesh's root certificate authority: generated in memory, or
// brought by the user. Every cluster's intermediate chains to it.
type RootCA struct{ deps Deps }

// CertificateArgs describe the mesh's certificates. They are both the
// component's `certificate` input and the RootCA's inputs.
type CertificateArgs struct {
	ValidityHours *int    `pulumi:"validityHours,optional"`
	KeyType       *string `pulumi:"keyType,optional"`
	RSABits       *int    `pulumi:"rsaBits,optional"`
	SanSuffix     *string `pulumi:"sanSuffix,optional"`
	Password      *string `pulumi:"password,optional" provider:"secret"`
	RootCertPEM   *string `pulumi:"rootCertPem,optional" provider:"secret"`
	RootKeyPEM    *string `pulumi:"rootKeyPem,optional" provider:"secret"`
}

// Annotate documents CertificateArgs.
func (c *CertificateArgs) Annotate(a infer.Annotator) {
	a.Describe(&c.ValidityHours, "Validity of the root and of each cluster's intermediate CA, in hours.")
	a.SetDefault(&c.ValidityHours, defaultValidityHours)
	a.Describe(&c.KeyType, "Key algorithm: RSA or ECDSA.")
	a.SetDefault(&c.KeyType, "RSA")
	a.Describe(&c.RSABits, "RSA key size: 2048, 3072 or 4096. Ignored for ECDSA.")
	a.SetDefault(&c.RSABits, 4096)
	a.Describe(&c.SanSuffix, "When set, the root gets SAN root.<sanSuffix> and each intermediate <cluster>.<sanSuffix>.")
	a.Describe(&c.Password, "When set, the exported root key (rootKeyPem output) is encrypted PKCS#8 with this password; it also decrypts a supplied encrypted rootKeyPem.")
	a.Describe(&c.RootCertPEM, "Bring your own root: the root certificate PEM. Without rootKeyPem the root is only trusted (it cannot sign intermediates).")
	a.Describe(&c.RootKeyPEM, "Bring your own root: the root key PEM, possibly encrypted with password. Give rootCertPem too.")
}

// RootCAState is the RootCA's output.
type RootCAState struct {
	CertificateArgs
	CertPEM  string `pulumi:"certPem"`
	KeyPEM   string `pulumi:"keyPem" provider:"secret"`
	NotAfter string `pulumi:"notAfter"`
}

// Annotate documents RootCAState.
func (s *RootCAState) Annotate(a infer.Annotator) {
	a.Describe(&s.CertPEM, "The root certificate, PEM.")
	a.Describe(&s.KeyPEM, "The root key, PEM; encrypted PKCS#8 when a password is given.")
	a.Describe(&s.NotAfter, "End of the root's validity, RFC 3339.")
}

// Annotate documents RootCA.
func (r *RootCA) Annotate(a infer.Annotator) {
	a.Describe(&r, "One root CA of the mesh. Generated in memory (never written to disk) unless rootCertPem is given. A root never changes in place: Check refuses a change of key type, size, validity or brought certificate of an existing root, since every cluster trusting it would be cut off; rotate to a new root instead. A new password re-encrypts the exported key.")
}

const (
	defaultValidityHours = 87600
	// minRootHours is how long a supplied root must stay valid: intermediates
	// are clamped to the root's end, and a root about to expire is a mistake.
	minRootHours = 24
)
