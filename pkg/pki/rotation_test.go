package pki

import (
	"errors"
	"testing"
	"time"
)

func TestCheckSignerChange(t *testing.T) {
	a := mustRoot(t, RootOptions{Key: ecP256, TTL: 48 * time.Hour}).CertPEM
	b := mustRoot(t, RootOptions{Key: ecP256, TTL: 48 * time.Hour}).CertPEM
	c := mustRoot(t, RootOptions{Key: ecP256, TTL: 48 * time.Hour}).CertPEM
	join := func(pems ...[]byte) []byte {
		var out []byte
		for _, p := range pems {
			out = append(out, p...)
		}
		return out
	}
	cases := []struct {
		name                  string
		oldSigner, oldTrusted []byte
		newSigner, newTrusted []byte
		want                  error
	}{
		{"first write", nil, nil, a, a, nil},
		{"unchanged", a, a, a, a, nil},
		{"step 1: add b second", a, a, a, join(a, b), nil},
		{"step 2: b signs, a still trusted", a, join(a, b), b, join(b, a), nil},
		{"step 3: drop a", b, join(b, a), b, b, nil},
		{"one step: c signs", a, a, c, c, ErrUntrustedSigner},
		{"one step: c signs, a still trusted", a, a, c, join(c, a), ErrUntrustedSigner},
		{"new root not known yet", a, a, nil, nil, ErrUntrustedSigner},
		{"steps 2 and 3 at once", a, join(a, b), b, b, ErrSignerDropped},
		{"swap with bundle unknown", a, join(a, b), b, nil, nil},
		{"same root, re-encoded order", a, join(a, b), a, join(b, a), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckSignerChange(tc.oldSigner, tc.oldTrusted, tc.newSigner, tc.newTrusted)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("CheckSignerChange = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSameCertificates(t *testing.T) {
	a := mustRoot(t, RootOptions{Key: ecP256, TTL: 48 * time.Hour}).CertPEM
	b := mustRoot(t, RootOptions{Key: ecP256, TTL: 48 * time.Hour}).CertPEM
	if !SameCertificates(append(append([]byte{}, a...), b...), append(append([]byte{}, b...), a...)) {
		t.Error("a+b and b+a differ")
	}
	if SameCertificates(a, append(append([]byte{}, a...), b...)) {
		t.Error("a and a+b are the same")
	}
	if SameCertificates(a, []byte("junk")) {
		t.Error("junk matches a")
	}
}

func TestParseTrustedRoot(t *testing.T) {
	root := mustRoot(t, RootOptions{Key: ecP256, TTL: 48 * time.Hour})
	if _, err := ParseTrustedRoot(root.CertPEM, t0); err != nil {
		t.Fatalf("a valid root: %v", err)
	}
	if _, err := ParseTrustedRoot(root.CertPEM, t0.Add(72*time.Hour)); !errors.Is(err, ErrExpired) {
		t.Errorf("an expired root: %v, want ErrExpired", err)
	}
	leaf := mustIntermediate(t, root, IntermediateOptions{Key: ecP256, TTL: time.Hour})
	if _, err := ParseTrustedRoot(append(append([]byte{}, root.CertPEM...), leaf.CertPEM...), t0); err == nil {
		t.Error("two certificates accepted")
	}
}
