package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"time"

	"go.step.sm/crypto/keyutil"
)

const (
	// DefaultIntermediateTTL is an intermediate's validity when
	// IntermediateOptions.TTL is zero: two years, as in Istio's tooling.
	DefaultIntermediateTTL = 17520 * time.Hour
	// IntermediateCommonName is the CN of every cluster's intermediate CA.
	IntermediateCommonName = "Intermediate CA"
	// IstiodSAN is the DNS name istiod serves under in every cluster.
	IstiodSAN = "istiod.istio-system.svc"
)

// IntermediateOptions describe a cluster's intermediate CA. Cluster is
// required and goes into the subject's L; NotBefore is required; a zero TTL
// means DefaultIntermediateTTL. With SANSuffix "example.com" the certificate
// also carries "<cluster>.example.com".
type IntermediateOptions struct {
	Cluster   string
	Key       KeySpec
	SANSuffix string
	NotBefore time.Time
	TTL       time.Duration
}

// GenerateIntermediate creates the cluster's signing CA under root, with
// pathlen 0 so it can sign workloads but no further CAs. A CA may not outlive
// its issuer: when the requested lifetime would end after the root, NotAfter
// is clamped to the root's and a warning says so. Warnings are sentences
// meant for the user; nil means none.
func GenerateIntermediate(root *CA, o IntermediateOptions) (*CA, []string, error) {
	if o.Cluster == "" {
		return nil, nil, fmt.Errorf("intermediate CA: cluster name is required")
	}
	if err := checkIssuer(root); err != nil {
		return nil, nil, fmt.Errorf("cluster %q: intermediate CA: %w", o.Cluster, err)
	}
	if o.TTL == 0 {
		o.TTL = DefaultIntermediateTTL
	}
	notBefore, notAfter, err := validityWindow(o.NotBefore, o.TTL)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster %q: intermediate CA: %w", o.Cluster, err)
	}
	rootEnd := root.Cert.NotAfter
	if !notBefore.Before(rootEnd) {
		return nil, nil, fmt.Errorf("cluster %q: intermediate CA: the root CA expired at %s, before %s",
			o.Cluster, rootEnd.UTC().Format(time.RFC3339), notBefore.Format(time.RFC3339))
	}
	var warnings []string
	if notAfter.After(rootEnd) {
		warnings = append(warnings, fmt.Sprintf(
			"cluster %q: the intermediate CA would expire at %s, after the root CA (%s); its expiry was clamped to the root's",
			o.Cluster, notAfter.Format(time.RFC3339), rootEnd.UTC().Format(time.RFC3339)))
		notAfter = rootEnd
	}
	key, err := GenerateKey(o.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster %q: intermediate CA: %w", o.Cluster, err)
	}
	template := &x509.Certificate{
		Subject: pkix.Name{
			Organization: []string{Organization},
			CommonName:   IntermediateCommonName,
			Locality:     []string{o.Cluster},
		},
		DNSNames:              []string{IstiodSAN},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		// Go derives the same from the parent; stated so the link is visible.
		AuthorityKeyId: root.Cert.SubjectKeyId,
	}
	if o.SANSuffix != "" {
		template.DNSNames = append(template.DNSNames, o.Cluster+"."+o.SANSuffix)
	}
	ca, err := issue(template, root.Cert, root.Key, key)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster %q: intermediate CA: %w", o.Cluster, err)
	}
	return ca, warnings, nil
}

// checkIssuer refuses a root that could not produce a verifiable intermediate.
func checkIssuer(root *CA) error {
	if root == nil || root.Cert == nil || root.Key == nil {
		return fmt.Errorf("root CA certificate and key are required")
	}
	if err := checkCA(root.Cert); err != nil {
		return err
	}
	if err := checkCanSignCAs(root.Cert); err != nil {
		return err
	}
	if err := keyutil.VerifyPair(root.Cert.PublicKey, root.Key); err != nil {
		return fmt.Errorf("root CA: %w", ErrKeyMismatch)
	}
	return nil
}
