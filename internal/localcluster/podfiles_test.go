package localcluster

import (
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// writeAtomic must leave what a kubelet-mounted secret looks like: visible
// names that are symlinks through ..data, swapped as a whole on change.
func TestWriteAtomic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etc", "cacerts")
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if err := writeAtomic(dir, map[string][]byte{"ca-cert.pem": []byte("one"), "root-cert.pem": []byte("root")}); err != nil {
		t.Fatal(err)
	}
	if read("ca-cert.pem") != "one" || read("root-cert.pem") != "root" {
		t.Fatal("first write not visible")
	}
	if target, err := os.Readlink(filepath.Join(dir, "ca-cert.pem")); err != nil || target != filepath.Join("..data", "ca-cert.pem") {
		t.Fatalf("ca-cert.pem links to %q (%v), want ..data/ca-cert.pem", target, err)
	}
	first, _ := os.Readlink(filepath.Join(dir, "..data"))

	// Unchanged content: no new generation.
	if err := writeAtomic(dir, map[string][]byte{"ca-cert.pem": []byte("one"), "root-cert.pem": []byte("root")}); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.Readlink(filepath.Join(dir, "..data")); again != first {
		t.Fatalf("unchanged content rewrote the volume: %s -> %s", first, again)
	}

	// A changed key and a removed one: a new generation, the old one gone.
	if err := writeAtomic(dir, map[string][]byte{"ca-cert.pem": []byte("two")}); err != nil {
		t.Fatal(err)
	}
	if read("ca-cert.pem") != "two" {
		t.Fatal("update not visible")
	}
	if _, err := os.Lstat(filepath.Join(dir, "root-cert.pem")); !os.IsNotExist(err) {
		t.Fatalf("removed key still visible: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, first)); !os.IsNotExist(err) {
		t.Fatalf("old generation %s left behind: %v", first, err)
	}

	// An optional secret that does not exist: an empty folder.
	if err := writeAtomic(dir, map[string][]byte{}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name()[0] != '.' {
			t.Fatalf("empty volume shows %s", e.Name())
		}
	}
}

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "x", "POD": "istiod-1"}
	for in, want := range map[string]string{
		"$(A)":           "x",
		"--id=$(POD).ns": "--id=istiod-1.ns",
		"$(MISSING)":     "$(MISSING)",
		"$$(A)":          "$(A)",
		"cost $5":        "cost $5",
		"$":              "$",
	} {
		if got := expand(in, env); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTailLines(t *testing.T) {
	data := []byte("a\nb\nc\n")
	for n, want := range map[int]string{1: "c\n", 2: "b\nc\n", 5: "a\nb\nc\n"} {
		if got := string(tailLines(data, n)); got != want {
			t.Errorf("tailLines(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestResourceValue(t *testing.T) {
	ctr := &corev1.Container{Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1500m")}}}
	got, err := resourceValue(ctr, &corev1.ResourceFieldSelector{Resource: "limits.cpu", Divisor: resource.MustParse("1")})
	if err != nil || got != "2" {
		t.Fatalf("limits.cpu 1500m / 1 = %q (%v), want 2 (rounded up, as the kubelet does)", got, err)
	}
	if got, err := resourceValue(&corev1.Container{}, &corev1.ResourceFieldSelector{Resource: "limits.cpu"}); err != nil || got == "0" {
		t.Fatalf("no limit: %q (%v), want the node's CPUs", got, err)
	}
}
