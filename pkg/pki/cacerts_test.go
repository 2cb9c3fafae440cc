package pki

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBuildCACerts(t *testing.T) {
	root := mustRoot(t, RootOptions{Key: ecP256})
	oldRoot := mustRoot(t, RootOptions{Key: ecP256})
	otherRoot := mustRoot(t, RootOptions{Key: ecP256})
	ca := mustIntermediate(t, root, IntermediateOptions{Key: ecP256})
	leafOnly, _ := issueLeaf(t, ca)

	tests := map[string]struct {
		extraRoots [][]byte
		wantRoots  []*CA
	}{
		"without extra roots root-cert.pem holds the root alone": {
			wantRoots: []*CA{root},
		},
		"extra roots follow the root, in the order given": {
			extraRoots: [][]byte{oldRoot.CertPEM, otherRoot.CertPEM}, wantRoots: []*CA{root, oldRoot, otherRoot},
		},
		"an extra input may hold several roots": {
			extraRoots: [][]byte{append(bytes.Clone(otherRoot.CertPEM), oldRoot.CertPEM...)}, wantRoots: []*CA{root, otherRoot, oldRoot},
		},
		"the root and repeated extras appear once": {
			extraRoots: [][]byte{root.CertPEM, oldRoot.CertPEM, oldRoot.CertPEM}, wantRoots: []*CA{root, oldRoot},
		},
		"an extra that is not a CA is left out (BuildTrustBundle reports it)": {
			extraRoots: [][]byte{encodeCert(leafOnly), []byte("junk"), oldRoot.CertPEM}, wantRoots: []*CA{root, oldRoot},
		},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			bundle := BuildCACerts(ca, root, tc.extraRoots...)
			data := bundle.Data()

			if got := slices.Sorted(maps.Keys(data)); !slices.Equal(got, []string{"ca-cert.pem", "ca-key.pem", "cert-chain.pem", "root-cert.pem"}) {
				t.Fatalf("keys = %q", got)
			}
			checkCertOrder(t, CACertFile, data[CACertFile], ca)
			checkCertOrder(t, CertChainFile, data[CertChainFile], ca, root)
			checkCertOrder(t, RootCertFile, data[RootCertFile], tc.wantRoots...)
			if got := pemTypes(data[CAKeyFile]); !slices.Equal(got, []string{"PRIVATE KEY"}) {
				t.Fatalf("%s blocks = %q, want one PKCS#8 PRIVATE KEY", CAKeyFile, got)
			}
			// The key istiod gets is the intermediate's, not the root's.
			if _, err := tls.X509KeyPair(data[CACertFile], data[CAKeyFile]); err != nil {
				t.Fatalf("ca-key.pem does not match ca-cert.pem: %v", err)
			}
			if err := bundle.Verify(t0); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

func checkCertOrder(t *testing.T, file string, data []byte, want ...*CA) {
	t.Helper()
	got := pemCerts(t, data)
	if len(got) != len(want) {
		t.Fatalf("%s holds %d certificates, want %d", file, len(got), len(want))
	}
	for i := range got {
		if !got[i].Equal(want[i].Cert) {
			t.Fatalf("%s: certificate %d is %q (serial %x), want serial %x",
				file, i+1, got[i].Subject, got[i].SerialNumber, want[i].Cert.SerialNumber)
		}
	}
}

func TestCACertsDataIsACopy(t *testing.T) {
	root := mustRoot(t, RootOptions{Key: ecP256})
	bundle := BuildCACerts(mustIntermediate(t, root, IntermediateOptions{Key: ecP256}), root)
	before := bytes.Clone(bundle.CAKey)
	bundle.Data()[CAKeyFile][0] = 'X'
	if !bytes.Equal(bundle.CAKey, before) {
		t.Fatal("changing Data() changed the bundle")
	}
}

func TestCACertsVerify(t *testing.T) {
	root := mustRoot(t, RootOptions{Key: ecP256, TTL: 1000 * time.Hour})
	otherRoot := mustRoot(t, RootOptions{Key: ecP256})
	ca := mustIntermediate(t, root, IntermediateOptions{Key: ecP256, TTL: 100 * time.Hour})
	otherCA := mustIntermediate(t, otherRoot, IntermediateOptions{Key: ecP256})
	good := BuildCACerts(ca, root)
	with := func(edit func(*CACerts)) CACerts {
		c := good
		edit(&c)
		return c
	}
	tests := map[string]struct {
		bundle  CACerts
		now     time.Time
		wantErr string
	}{
		"a fresh bundle verifies":                    {bundle: good, now: t0},
		"an intermediate from another root does not": {bundle: BuildCACerts(otherCA, root), now: t0, wantErr: "ca-cert.pem does not chain to root-cert.pem"},
		"an expired intermediate does not":           {bundle: good, now: t0.Add(101 * time.Hour), wantErr: "does not chain"},
		"the wrong key does not":                     {bundle: with(func(c *CACerts) { c.CAKey = otherCA.KeyPEM }), now: t0, wantErr: "ca-key.pem does not match ca-cert.pem"},
		"an empty root-cert.pem does not":            {bundle: with(func(c *CACerts) { c.RootCert = nil }), now: t0, wantErr: "root-cert.pem: no certificate"},
		"an empty ca-cert.pem does not":              {bundle: with(func(c *CACerts) { c.CACert = nil }), now: t0, wantErr: "ca-cert.pem: no PEM-encoded certificate"},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			err := tc.bundle.Verify(tc.now)
			checkErr(t, err, tc.wantErr)
			if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Fatal("the error shows key material")
			}
		})
	}
}

// OpenSSL agrees the files are what istiod needs: the key in ca-key.pem is
// the one certified in ca-cert.pem.
func TestCACertsKeyMatchesWithOpenSSL(t *testing.T) {
	root := mustRoot(t, RootOptions{Key: KeySpec{Type: RSA, RSABits: 2048}})
	ca := mustIntermediate(t, root, IntermediateOptions{Key: ecP256})
	dir := writeFiles(t, BuildCACerts(ca, root).Data())
	fromKey, err := openssl(t, dir, "pkey", "-in", CAKeyFile, "-pubout")
	if err != nil {
		t.Fatalf("openssl pkey: %v\n%s", err, fromKey)
	}
	fromCert, err := openssl(t, dir, "x509", "-in", CACertFile, "-pubkey", "-noout")
	if err != nil {
		t.Fatalf("openssl x509: %v\n%s", err, fromCert)
	}
	if fromKey != fromCert || !strings.Contains(fromKey, "PUBLIC KEY") {
		t.Fatalf("public keys differ:\nkey:  %s\ncert: %s", fromKey, fromCert)
	}
}

// The openssl harness must be able to say no: an intermediate of another
// root does not verify against this root-cert.pem.
func TestOpenSSLRejectsIntermediateOfAnotherRoot(t *testing.T) {
	root := mustRoot(t, RootOptions{Key: ecP256})
	otherRoot := mustRoot(t, RootOptions{Key: ecP256})
	foreign := mustIntermediate(t, otherRoot, IntermediateOptions{Key: ecP256})
	dir := writeFiles(t, BuildCACerts(foreign, root).Data())
	out, err := openssl(t, dir, "verify", "-attime", fmt.Sprint(t0.Unix()), "-CAfile", RootCertFile, "-untrusted", CACertFile, CACertFile)
	if err == nil {
		t.Fatalf("openssl verified an intermediate of another root\n%s", out)
	}
}
