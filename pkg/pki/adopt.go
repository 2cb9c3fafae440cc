package pki

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"time"
)

// AdoptCACerts judges the files of a cacerts secret made by another tool
// (ristioctl, Istio's Makefile, step) for a mesh whose signing root is
// rootPEM. They are kept only when ca-cert.pem is a CA certificate that
// root signed, valid at now, with ca-key.pem as its key; re-rooting a live
// mesh instead would break mTLS between its clusters. The returned CACerts
// hold the files byte for byte as found, root-cert.pem excepted (the caller
// writes the mesh's bundle), and the intermediate's certificate.
func AdoptCACerts(files map[string][]byte, rootPEM []byte, now time.Time) (CACerts, *x509.Certificate, error) {
	for _, name := range []string{CACertFile, CAKeyFile, CertChainFile} {
		if len(bytes.TrimSpace(files[name])) == 0 {
			return CACerts{}, nil, fmt.Errorf("%s is missing", name)
		}
	}
	certs, err := parseCertificates(files[CACertFile])
	if err != nil {
		return CACerts{}, nil, fmt.Errorf("%s: %w", CACertFile, err)
	}
	ca := certs[0]
	if !ca.IsCA {
		return CACerts{}, nil, fmt.Errorf("%s is not a CA certificate", CACertFile)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootPEM) {
		return CACerts{}, nil, fmt.Errorf("the mesh root is not a PEM certificate")
	}
	chain := x509.NewCertPool()
	chain.AppendCertsFromPEM(files[CertChainFile])
	opts := x509.VerifyOptions{Roots: roots, Intermediates: chain, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	if _, err := ca.Verify(opts); err != nil {
		return CACerts{}, nil, fmt.Errorf("%s was not issued by the mesh root: %w", CACertFile, err)
	}
	if _, err := tls.X509KeyPair(files[CACertFile], files[CAKeyFile]); err != nil {
		return CACerts{}, nil, fmt.Errorf("%s does not match %s: %w", CAKeyFile, CACertFile, err)
	}
	return CACerts{
		CACert:    bytes.Clone(files[CACertFile]),
		CAKey:     bytes.Clone(files[CAKeyFile]),
		RootCert:  bytes.Clone(rootPEM),
		CertChain: bytes.Clone(files[CertChainFile]),
	}, ca, nil
}
