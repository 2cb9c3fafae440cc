package pki

import (
	"fmt"
	"testing"
)

// benchmarkMesh issues what a ten-cluster mesh needs: a root, ten
// intermediates and their cacerts. Key generation dominates.
func benchmarkMesh(b *testing.B, key KeySpec) {
	for b.Loop() {
		root, err := GenerateRoot(RootOptions{Key: key, NotBefore: t0})
		if err != nil {
			b.Fatal(err)
		}
		for i := range 10 {
			ca, _, err := GenerateIntermediate(root, IntermediateOptions{
				Cluster: fmt.Sprintf("cluster%d", i), Key: key, NotBefore: t0,
			})
			if err != nil {
				b.Fatal(err)
			}
			_ = BuildCACerts(ca, root)
		}
	}
}

func BenchmarkMeshRSA4096(b *testing.B) { benchmarkMesh(b, KeySpec{Type: RSA, RSABits: 4096}) }

func BenchmarkMeshECDSA(b *testing.B) { benchmarkMesh(b, KeySpec{Type: ECDSA, Curve: "P-256"}) }
