package provider_test

import (
	"strings"
	"testing"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/ristio/pulumi-ristio/internal/testcharts"
)

// TestCACertsOfAnotherMesh: a cacerts written for one mesh is foreign to
// another on the same cluster (preview and create refuse it, naming the
// cluster and the mesh; its delete leaves it), and one written before the
// mark gets it in place on an update of meshIdentity alone.
func TestCACertsOfAnotherMesh(t *testing.T) {
	w := lifecycleWorld(t, 1)
	c := w.Clusters[0]
	s := lifecycleServer(t, &clock{now: time.Now()})
	certPem, keyPem, rootPem, chainPem := clusterCA(t, s, c.Name)
	inputs := func(mesh string) map[string]property.Value {
		raw := map[string]property.Value{
			"cluster":      secretConn(t, w, c.Name),
			"caCertPem":    certPem,
			"caKeyPem":     keyPem,
			"rootCertPem":  rootPem,
			"certChainPem": chainPem,
		}
		if mesh != "" {
			raw["meshIdentity"] = str(mesh)
		}
		return raw
	}
	const meshA, meshB = "usmesh/prod/mesh", "devmesh/dev/mesh"

	a := newResource(s, "CACerts", "a-cacerts")
	step(t, "a mesh marks what it writes", func(t *testing.T) {
		a.create(t, a.check(t, inputs(meshA)))
		if got := getSecret(t, c, istioNS, "cacerts").Annotations["ristio.io/mesh"]; got != meshA {
			t.Fatalf("cacerts is marked %q, want %q", got, meshA)
		}
	})

	b := newResource(s, "CACerts", "b-cacerts")
	step(t, "another mesh's preview and create are refused, naming the cluster and the mesh", func(t *testing.T) {
		before := getSecret(t, c, istioNS, "cacerts")
		in := b.check(t, inputs(meshB))
		for _, dryRun := range []bool{true, false} {
			_, err := s.Create(p.CreateRequest{Urn: b.urn, Properties: in, DryRun: dryRun, Timeout: lifecycleTimeout})
			want := "cluster " + c.Name + ": Secret istio-system/cacerts belongs to another mesh, " + meshA
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "adopt: true") {
				t.Errorf("create (dry run %v): %v, want %q", dryRun, err, want)
			}
		}
		if after := getSecret(t, c, istioNS, "cacerts"); after.ResourceVersion != before.ResourceVersion {
			t.Errorf("the refused create wrote cacerts")
		}
	})

	step(t, "another mesh's delete leaves the object", func(t *testing.T) {
		state := a.state.Set("meshIdentity", str(meshB))
		if err := s.Delete(p.DeleteRequest{ID: "b-cacerts-0000", Urn: b.urn, Properties: state, Timeout: lifecycleTimeout}); err != nil {
			t.Fatal(err)
		}
		if getSecret(t, c, istioNS, "cacerts") == nil {
			t.Fatal("another mesh's delete deleted cacerts")
		}
	})

	step(t, "an object from before the mark gets it in place", func(t *testing.T) {
		a.delete(t)
		legacy := newResource(s, "CACerts", "legacy-cacerts")
		legacy.create(t, legacy.check(t, inputs("")))
		before := getSecret(t, c, istioNS, "cacerts")
		if _, marked := before.Annotations["ristio.io/mesh"]; marked {
			t.Fatalf("a resource without meshIdentity marked cacerts: %v", before.Annotations)
		}
		next := legacy.check(t, inputs(meshA))
		if d := legacy.diff(t, next); !d.HasChanges || len(d.DetailedDiff) != 1 || d.DeleteBeforeReplace {
			t.Fatalf("diff of meshIdentity alone: %+v", d)
		} else if _, ok := d.DetailedDiff["meshIdentity"]; !ok || d.DetailedDiff["meshIdentity"].Kind != p.Update {
			t.Fatalf("diff of meshIdentity alone: %+v, want an update of meshIdentity", d.DetailedDiff)
		}
		legacy.update(t, next)
		after := getSecret(t, c, istioNS, "cacerts")
		if after.Annotations["ristio.io/mesh"] != meshA || after.UID != before.UID {
			t.Errorf("after the update: annotations %v, UID %s (was %s)", after.Annotations, after.UID, before.UID)
		}
		for k, v := range before.Data {
			if string(after.Data[k]) != string(v) {
				t.Errorf("the mark-only update changed %s", k)
			}
		}
		legacy.delete(t)
		if getSecret(t, c, istioNS, "cacerts") != nil {
			t.Error("the marked cacerts survived its resource's delete")
		}
	})
}

// TestControlPlaneOfAnotherMesh: istio-base and istiod installed for one
// mesh are foreign to another on the same cluster: its create is refused
// before anything is written (the namespace's network label included), and
// its delete uninstalls neither release.
func TestControlPlaneOfAnotherMesh(t *testing.T) {
	w := lifecycleWorld(t, 1)
	c := w.Clusters[0]
	s := lifecycleServer(t, &clock{now: time.Now()})
	charts := testcharts.Directory(t)
	const meshA, meshB = "usmesh/prod/mesh", "devmesh/dev/mesh"
	inputs := func(mesh, network string) map[string]property.Value {
		in := controlPlaneInputs(t, w, c.Name, charts)
		in["meshIdentity"] = str(mesh)
		in["network"] = str(network)
		return in
	}
	a := newResource(s, "IstioControlPlane", "a-istio")
	a.create(t, a.check(t, inputs(meshA, "network1")))
	t.Cleanup(func() { a.delete(t) })

	b := newResource(s, "IstioControlPlane", "b-istio")
	step(t, "another mesh's create is refused before anything is written", func(t *testing.T) {
		_, err := s.Create(p.CreateRequest{Urn: b.urn, Properties: b.check(t, inputs(meshB, "devnet")), Timeout: lifecycleTimeout})
		if err == nil || !strings.Contains(err.Error(), "cluster "+c.Name+": Helm release istio-system/istio-base belongs to another mesh, usmesh.prod.mesh-") {
			t.Fatalf("create of another mesh's control plane: %v", err)
		}
		for _, release := range []string{"istio-base", "istiod"} {
			if status, rev := helmRelease(t, c, release); status != "deployed" || rev != 1 {
				t.Errorf("release %s: %s revision %d, want deployed revision 1", release, status, rev)
			}
		}
		if got := getNamespace(t, c, istioNS).Labels["topology.istio.io/network"]; got != "network1" {
			t.Errorf("the refused create relabelled istio-system's network: %q", got)
		}
	})

	step(t, "another mesh's delete uninstalls neither release", func(t *testing.T) {
		state := a.state.Set("meshIdentity", str(meshB))
		if err := s.Delete(p.DeleteRequest{ID: "b-istio-0000", Urn: b.urn, Properties: state, Timeout: lifecycleTimeout}); err != nil {
			t.Fatal(err)
		}
		for _, release := range []string{"istio-base", "istiod"} {
			if status, rev := helmRelease(t, c, release); status != "deployed" || rev != 1 {
				t.Errorf("release %s after another mesh's delete: %q revision %d", release, status, rev)
			}
		}
	})
}
