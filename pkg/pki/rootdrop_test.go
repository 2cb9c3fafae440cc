package pki

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"
)

func TestDroppedRoots(t *testing.T) {
	a := mustRoot(t, RootOptions{Key: ecP256, TTL: 48 * time.Hour})
	b := mustRoot(t, RootOptions{Key: ecP256, TTL: 48 * time.Hour})
	ab := append(append([]byte{}, a.CertPEM...), b.CertPEM...)
	cases := []struct {
		name          string
		before, after []byte
		want          []string // raw DER of each dropped root
	}{
		{"first write", nil, a.CertPEM, nil},
		{"a root added", a.CertPEM, ab, nil},
		{"order changed", ab, append(append([]byte{}, b.CertPEM...), a.CertPEM...), nil},
		{"the old root dropped", ab, b.CertPEM, []string{string(a.Cert.Raw)}},
		{"replaced outright", a.CertPEM, b.CertPEM, []string{string(a.Cert.Raw)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DroppedRoots(tc.before, tc.after)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("dropped %d roots, want %d", len(got), len(tc.want))
			}
			for i, c := range got {
				if string(c.Raw) != tc.want[i] {
					t.Errorf("dropped root %d is not the one expected", i)
				}
			}
		})
	}
	if _, err := DroppedRoots([]byte("junk"), a.CertPEM); err == nil {
		t.Error("an unreadable bundle before was accepted")
	}
}

func TestDescribeRoot(t *testing.T) {
	r := mustRoot(t, RootOptions{Key: ecP256, TTL: 48 * time.Hour})
	got := DescribeRoot(r.Cert)
	if !strings.Contains(got, r.Cert.Subject.String()) {
		t.Errorf("%s does not name the subject %q", got, r.Cert.Subject)
	}
	fp := Fingerprint(r.Cert)
	if len(fp) != 32*3-1 || !strings.Contains(got, fp) {
		t.Errorf("%s: fingerprint %q is not SHA-256 in openssl's form", got, fp)
	}
	// openssl agrees on the fingerprint.
	dir := writeFiles(t, map[string][]byte{"root.pem": r.CertPEM})
	out, err := openssl(t, dir, "x509", "-noout", "-fingerprint", "-sha256", "-in", "root.pem")
	if err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	if !strings.Contains(out, fp) {
		t.Errorf("openssl says %q, Fingerprint %q", out, fp)
	}
}

func TestVerifyChain(t *testing.T) {
	a := mustRoot(t, RootOptions{Key: ecP256, TTL: 48 * time.Hour})
	b := mustRoot(t, RootOptions{Key: ecP256, TTL: 48 * time.Hour})
	inter := mustIntermediate(t, a, IntermediateOptions{Key: ecP256, TTL: 24 * time.Hour})
	leaf, _ := issueLeaf(t, inter)
	if err := VerifyChain(leaf, []*x509.Certificate{inter.Cert}, a.CertPEM, t0.Add(time.Hour)); err != nil {
		t.Errorf("a leaf of a's intermediate against a: %v", err)
	}
	if err := VerifyChain(leaf, []*x509.Certificate{inter.Cert}, b.CertPEM, t0.Add(time.Hour)); err == nil {
		t.Error("a leaf of a's intermediate verified against b")
	}
	if err := VerifyChain(leaf, nil, a.CertPEM, t0.Add(time.Hour)); err == nil {
		t.Error("a leaf verified without its intermediate")
	}
}
