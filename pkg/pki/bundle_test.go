package pki

import (
	"bytes"
	"crypto/x509"
	"errors"
	"testing"
)

func TestBuildTrustBundle(t *testing.T) {
	newRoot := mustRoot(t, RootOptions{Key: ecP256})
	oldRoot := mustRoot(t, RootOptions{Key: ecP256})
	thirdRoot := mustRoot(t, RootOptions{Key: ecP256})
	ca := mustIntermediate(t, newRoot, IntermediateOptions{Key: ecP256})
	_, leafPEM := issueLeaf(t, ca)

	tests := map[string]struct {
		root    []byte
		extras  [][]byte
		want    []*CA
		wantErr string
		wantIs  error
	}{
		"the root alone":                              {root: newRoot.CertPEM, want: []*CA{newRoot}},
		"extras follow the root in order":             {root: newRoot.CertPEM, extras: [][]byte{oldRoot.CertPEM, thirdRoot.CertPEM}, want: []*CA{newRoot, oldRoot, thirdRoot}},
		"an extra holding two roots adds both":        {root: newRoot.CertPEM, extras: [][]byte{append(bytes.Clone(thirdRoot.CertPEM), oldRoot.CertPEM...)}, want: []*CA{newRoot, thirdRoot, oldRoot}},
		"a repeated extra appears once":               {root: newRoot.CertPEM, extras: [][]byte{oldRoot.CertPEM, oldRoot.CertPEM}, want: []*CA{newRoot, oldRoot}},
		"the root passed again as extra appears once": {root: newRoot.CertPEM, extras: [][]byte{oldRoot.CertPEM, newRoot.CertPEM}, want: []*CA{newRoot, oldRoot}},
		"trailing whitespace is fine":                 {root: append(bytes.Clone(newRoot.CertPEM), "\n\n  "...), want: []*CA{newRoot}},

		"a leaf certificate as extra is refused":      {root: newRoot.CertPEM, extras: [][]byte{oldRoot.CertPEM, leafPEM}, wantErr: "extra root 2: not a CA", wantIs: ErrNotCA},
		"a non-CA among a bundle of roots is refused": {root: newRoot.CertPEM, extras: [][]byte{append(bytes.Clone(oldRoot.CertPEM), leafPEM...)}, wantErr: "extra root 1: not a CA"},
		"a private key as extra is refused":           {root: newRoot.CertPEM, extras: [][]byte{ca.KeyPEM}, wantErr: `extra root 1: unexpected PEM block "PRIVATE KEY"`},
		"text that is not PEM is refused":             {root: newRoot.CertPEM, extras: [][]byte{[]byte("hello")}, wantErr: "extra root 1: no PEM-encoded certificate"},
		"junk after a certificate is refused":         {root: newRoot.CertPEM, extras: [][]byte{append(bytes.Clone(oldRoot.CertPEM), "junk"...)}, wantErr: "extra root 1: unexpected data after certificate 1"},
		"an empty root is refused":                    {root: nil, wantErr: "root certificate: no PEM-encoded certificate"},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			got, err := BuildTrustBundle(tc.root, tc.extras...)
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Fatalf("error %v is not %v", err, tc.wantIs)
			}
			checkErr(t, err, tc.wantErr)
			if err != nil {
				return
			}
			checkCertOrder(t, "bundle", got, tc.want...)
		})
	}
}

// The point of a trust bundle: during a root rotation, workloads certified
// under the old root and under the new one both verify against it.
func TestTrustBundleTrustsBothRootsDuringRotation(t *testing.T) {
	oldRoot := mustRoot(t, RootOptions{Key: KeySpec{Type: RSA, RSABits: 2048}})
	newRoot := mustRoot(t, RootOptions{Key: ecP256})
	oldCA := mustIntermediate(t, oldRoot, IntermediateOptions{Cluster: "east", Key: ecP256})
	newCA := mustIntermediate(t, newRoot, IntermediateOptions{Cluster: "west", Key: ecP256})

	bundle, err := BuildTrustBundle(newRoot.CertPEM, oldRoot.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(bundle) {
		t.Fatal("bundle holds no certificate")
	}
	for _, ca := range []*CA{oldCA, newCA} {
		leaf, _ := issueLeaf(t, ca)
		intermediates := x509.NewCertPool()
		intermediates.AddCert(ca.Cert)
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: intermediates, CurrentTime: t0}); err != nil {
			t.Fatalf("leaf of %s does not verify against the bundle: %v", ca.Cert.Subject.Locality, err)
		}
	}
	// And the cacerts of either cluster, with the bundle as root-cert.pem.
	for _, c := range []CACerts{BuildCACerts(oldCA, oldRoot, newRoot.CertPEM), BuildCACerts(newCA, newRoot, oldRoot.CertPEM)} {
		if err := c.Verify(t0); err != nil {
			t.Fatal(err)
		}
	}
}
