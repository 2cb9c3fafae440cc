package pki

import (
	"crypto/x509"
	"fmt"
)

// BuildTrustBundle returns the contents of root-cert.pem: root first, then
// the certificates of extraRoots (each input may hold several), without
// duplicates. Istio trusts every certificate in that file, which is how a
// mesh moves from one root to another: both are trusted while intermediates
// are reissued. Every certificate must be a CA; the error names the input.
func BuildTrustBundle(root []byte, extraRoots ...[]byte) ([]byte, error) {
	return joinRoots(true, append([][]byte{root}, extraRoots...))
}

// joinRoots concatenates the CA certificates of inputs in order, dropping
// repeats. Strict mode stops at the first bad input; lenient mode skips it,
// as istiod itself skips what it cannot use in root-cert.pem.
func joinRoots(strict bool, inputs [][]byte) ([]byte, error) {
	seen := map[string]bool{}
	var out []byte
	for i, in := range inputs {
		certs, err := parseCACertificates(in)
		if err != nil {
			if strict {
				return nil, fmt.Errorf("%s: %w", rootInputName(i), err)
			}
			continue
		}
		for _, c := range certs {
			if seen[string(c.Raw)] {
				continue
			}
			seen[string(c.Raw)] = true
			out = append(out, encodeCert(c)...)
		}
	}
	return out, nil
}

func parseCACertificates(data []byte) ([]*x509.Certificate, error) {
	certs, err := parseCertificates(data)
	if err != nil {
		return nil, err
	}
	for _, c := range certs {
		if err := checkCA(c); err != nil {
			return nil, err
		}
	}
	return certs, nil
}

func rootInputName(i int) string {
	if i == 0 {
		return "root certificate"
	}
	return fmt.Sprintf("extra root %d", i)
}
