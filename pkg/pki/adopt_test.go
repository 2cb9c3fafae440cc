package pki

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestAdoptCACerts(t *testing.T) {
	root := mustRoot(t, RootOptions{Key: ecP256})
	other := mustRoot(t, RootOptions{Key: ecP256})
	ca := mustIntermediate(t, root, IntermediateOptions{Key: ecP256, TTL: 48 * time.Hour})
	foreign := mustIntermediate(t, other, IntermediateOptions{Key: ecP256})
	files := BuildCACerts(ca, root).Data()

	got, cert, err := AdoptCACerts(files, root.CertPEM, t0.Add(time.Hour))
	if err != nil {
		t.Fatalf("AdoptCACerts: %v", err)
	}
	if !cert.Equal(ca.Cert) {
		t.Errorf("certificate = %s, want the intermediate found", cert.Subject)
	}
	if !bytes.Equal(got.CAKey, files[CAKeyFile]) || !bytes.Equal(got.CACert, files[CACertFile]) || !bytes.Equal(got.CertChain, files[CertChainFile]) {
		t.Error("the files found were not kept byte for byte")
	}
	if !bytes.Equal(got.RootCert, root.CertPEM) {
		t.Error("root-cert.pem is not the mesh root")
	}

	with := func(name string, data []byte) map[string][]byte {
		out := BuildCACerts(ca, root).Data()
		out[name] = data
		return out
	}
	refused := map[string]struct {
		files map[string][]byte
		root  []byte
		now   time.Time
		want  string
	}{
		"another root's intermediate":        {files: BuildCACerts(foreign, other).Data(), root: root.CertPEM, now: t0, want: "was not issued by the mesh root"},
		"the right files, another root":      {files: files, root: other.CertPEM, now: t0, want: "was not issued by the mesh root"},
		"an expired intermediate":            {files: files, root: root.CertPEM, now: t0.Add(72 * time.Hour), want: "was not issued by the mesh root"},
		"a key of another intermediate":      {files: with(CAKeyFile, foreign.KeyPEM), root: root.CertPEM, now: t0, want: "ca-key.pem does not match ca-cert.pem"},
		"no cert-chain.pem":                  {files: with(CertChainFile, nil), root: root.CertPEM, now: t0, want: "cert-chain.pem is missing"},
		"ca-cert.pem that is no certificate": {files: with(CACertFile, []byte("junk")), root: root.CertPEM, now: t0, want: "ca-cert.pem"},
		"the root itself as ca-cert.pem":     {files: with(CACertFile, root.CertPEM), root: other.CertPEM, now: t0, want: "was not issued by the mesh root"},
	}
	for name, tc := range refused {
		t.Run(name, func(t *testing.T) {
			_, _, err := AdoptCACerts(tc.files, tc.root, tc.now)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
