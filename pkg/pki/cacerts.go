package pki

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"time"
)

// The keys of the cacerts secret, as istiod reads them.
const (
	CACertFile    = "ca-cert.pem"
	CAKeyFile     = "ca-key.pem"
	RootCertFile  = "root-cert.pem"
	CertChainFile = "cert-chain.pem"
)

// CACerts is the content of a cluster's cacerts secret.
type CACerts struct {
	CACert    []byte // the intermediate's certificate
	CAKey     []byte // the intermediate's key, unencrypted PKCS#8
	RootCert  []byte // the root, then any extra roots still trusted
	CertChain []byte // the intermediate, then the root that signed it
}

// BuildCACerts lays out the cacerts files for a cluster. Both CAs must be
// complete (as GenerateRoot, GenerateIntermediate and ParseCA return them).
// extraRoots are appended to root-cert.pem without duplicates; an input that
// is not a set of CA certificates is skipped, so validate user-supplied roots
// with BuildTrustBundle first, where the error can be reported. Verify checks
// the result the way istiod does.
func BuildCACerts(intermediate, root *CA, extraRoots ...[]byte) CACerts {
	rootCert, _ := joinRoots(false, append([][]byte{encodeCert(root.Cert)}, extraRoots...))
	return CACerts{
		CACert:    encodeCert(intermediate.Cert),
		CAKey:     bytes.Clone(intermediate.KeyPEM),
		RootCert:  rootCert,
		CertChain: append(encodeCert(intermediate.Cert), encodeCert(root.Cert)...),
	}
}

// Data returns the secret's data, keyed by file name. The slices are copies.
func (c CACerts) Data() map[string][]byte {
	return map[string][]byte{
		CACertFile:    bytes.Clone(c.CACert),
		CAKeyFile:     bytes.Clone(c.CAKey),
		RootCertFile:  bytes.Clone(c.RootCert),
		CertChainFile: bytes.Clone(c.CertChain),
	}
}

// Verify runs the checks istiod runs when it loads cacerts, at time now:
// ca-cert.pem chains to a root in root-cert.pem through cert-chain.pem (with
// the same default verify options), and ca-key.pem is its key.
func (c CACerts) Verify(now time.Time) error {
	caCerts, err := parseCertificates(c.CACert)
	if err != nil {
		return fmt.Errorf("%s: %w", CACertFile, err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(c.RootCert) {
		return fmt.Errorf("%s: no certificate", RootCertFile)
	}
	intermediates := x509.NewCertPool()
	if !intermediates.AppendCertsFromPEM(c.CertChain) {
		return fmt.Errorf("%s: no certificate", CertChainFile)
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: intermediates, CurrentTime: now}
	if _, err := caCerts[0].Verify(opts); err != nil {
		return fmt.Errorf("%s does not chain to %s: %w", CACertFile, RootCertFile, err)
	}
	if _, err := tls.X509KeyPair(c.CACert, c.CAKey); err != nil {
		return fmt.Errorf("%s does not match %s: %w", CAKeyFile, CACertFile, err)
	}
	return nil
}
