package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"time"
)

const (
	// DefaultRootTTL is the root's validity when RootOptions.TTL is zero.
	DefaultRootTTL = 87600 * time.Hour
	// Backdate moves every NotBefore back, to tolerate clock skew between
	// the machine that signs and the proxies that verify.
	Backdate = 5 * time.Minute
	// Organization is the O of every certificate, as in Istio's own tooling.
	Organization = "Istio"
	// RootCommonName is the CN of generated roots.
	RootCommonName = "Root CA"
)

// RootOptions describe a root CA. NotBefore is required (there is no clock
// here); a zero TTL means DefaultRootTTL. With SANSuffix "example.com" the
// root carries the DNS SAN "root.example.com".
type RootOptions struct {
	Key       KeySpec
	SANSuffix string
	NotBefore time.Time
	TTL       time.Duration
}

// GenerateRoot creates a self-signed root CA. Its lifetime is exactly TTL,
// starting Backdate before NotBefore.
func GenerateRoot(o RootOptions) (*CA, error) {
	if o.TTL == 0 {
		o.TTL = DefaultRootTTL
	}
	notBefore, notAfter, err := validityWindow(o.NotBefore, o.TTL)
	if err != nil {
		return nil, err
	}
	key, err := GenerateKey(o.Key)
	if err != nil {
		return nil, err
	}
	template := &x509.Certificate{
		Subject:               pkix.Name{Organization: []string{Organization}, CommonName: RootCommonName},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// Go always marks keyUsage and basicConstraints critical.
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	if o.SANSuffix != "" {
		template.DNSNames = []string{"root." + o.SANSuffix}
	}
	return issue(template, template, key, key)
}
