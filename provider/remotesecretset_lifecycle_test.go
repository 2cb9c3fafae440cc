package provider_test

import (
	"context"
	"testing"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestRemoteSecretSetLifecycle lets cluster3 watch cluster1, then cluster1
// and cluster2, then cluster2 alone, through one RemoteSecretSet: each
// source is its own entry of the diff, only the sources that change are
// written, drift and token renewal are found per source, and delete removes
// every secret.
func TestRemoteSecretSetLifecycle(t *testing.T) {
	w := lifecycleWorld(t, 3)
	c1, c2, target := w.Clusters[0], w.Clusters[1], w.Clusters[2]
	ctx := context.Background()
	for _, c := range w.Clusters {
		createReaderAccount(t, c)
	}
	clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
	s := lifecycleServer(t, clk)
	source := func(name string) property.Value {
		return property.New(map[string]property.Value{"cluster": secretConn(t, w, name)})
	}
	raw := func(names ...string) map[string]property.Value {
		sources := map[string]property.Value{}
		for _, n := range names {
			sources[n] = source(n)
		}
		return map[string]property.Value{
			"target":              fileConn(w, target.Name),
			"sources":             property.New(sources),
			"readerTokenTtlHours": property.New(24.0),
			"timeoutSeconds":      property.New(lifecycleTimeout),
		}
	}
	r := newResource(s, "RemoteSecretSet", "into-cluster3")
	var inputs property.Map
	secretOf := func(name string) string { return "istio-remote-secret-" + name }
	entry := func(name, field string) string {
		return r.state.Get("secrets").AsMap().Get(name).AsMap().Get(field).AsString()
	}

	step(t, "check names the source whose entry is wrong", func(t *testing.T) {
		bad := raw(c1.Name)
		bad["sources"] = property.New(map[string]property.Value{"cluster7": source(c1.Name), target.Name: source(target.Name)})
		failures := r.checkFailures(t, bad)
		for _, want := range []string{"sources.cluster7.cluster.name", "sources." + target.Name} {
			if _, ok := failures[want]; !ok {
				t.Errorf("check failures %v, want one on %s", failures, want)
			}
		}
	})

	step(t, "a preview touches nothing", func(t *testing.T) {
		inputs = r.check(t, raw(c1.Name))
		wantSecret(t, inputs, "sources", c1.Name, "cluster", "kubeconfig")
		before := snapshots(t, w)
		r.preview(t, inputs)
		wantUntouched(t, w, before)
	})

	step(t, "create writes the secret of every source", func(t *testing.T) {
		r.create(t, inputs)
		wantSecret(t, r.state, "sources", c1.Name, "cluster", "kubeconfig")
		wantReaderKubeconfig(t, target, c1)
		if got := entry(c1.Name, "secretName"); got != secretOf(c1.Name) {
			t.Errorf("secrets.%s.secretName = %q", c1.Name, got)
		}
		wantNoChanges(t, r.diff(t, inputs))
		r.read(t)
		wantNoChanges(t, r.diff(t, inputs))
	})

	step(t, "a second source is an added entry, and only it is written", func(t *testing.T) {
		grown := r.check(t, raw(c1.Name, c2.Name))
		d := r.diff(t, grown)
		if len(d.DetailedDiff) != 1 || d.DetailedDiff["sources."+c2.Name].Kind != p.Add {
			t.Fatalf("diff adding %s = %v, want only sources.%s added", c2.Name, d.DetailedDiff, c2.Name)
		}
		before := getSecret(t, target, istioNS, secretOf(c1.Name)).ResourceVersion
		r.update(t, grown)
		inputs = grown
		wantReaderKubeconfig(t, target, c2)
		if after := getSecret(t, target, istioNS, secretOf(c1.Name)).ResourceVersion; after != before {
			t.Errorf("adding %s rewrote %s's secret (resourceVersion %s -> %s)", c2.Name, c1.Name, before, after)
		}
		wantNoChanges(t, r.diff(t, inputs))
	})

	step(t, "a hand edit is found on that source alone, and repaired", func(t *testing.T) {
		secret := getSecret(t, target, istioNS, secretOf(c2.Name))
		secret.Data[c2.Name] = []byte("not a kubeconfig")
		if _, err := target.Client.CoreV1().Secrets(istioNS).Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		r.read(t)
		d := r.diff(t, inputs)
		if len(d.DetailedDiff) != 1 {
			t.Errorf("diff after editing %s's secret = %v, want that one entry", c2.Name, d.DetailedDiff)
		}
		wantUpdate(t, d, "secrets."+c2.Name+".checksum")
		r.update(t, inputs)
		wantReaderKubeconfig(t, target, c2)
		r.read(t)
		wantNoChanges(t, r.diff(t, inputs))
	})

	step(t, "tokens past 80% of their life are due, per source", func(t *testing.T) {
		clk.Advance(20 * time.Hour)
		d := r.diff(t, inputs)
		wantUpdate(t, d, "secrets."+c1.Name+".tokenExpiresAt")
		wantUpdate(t, d, "secrets."+c2.Name+".tokenExpiresAt")
		r.update(t, inputs)
		if got := entry(c1.Name, "tokenIssuedAt"); got != clk.Now().Format(time.RFC3339) {
			t.Errorf("tokenIssuedAt = %q, want the provider clock's %s", got, clk.Now().Format(time.RFC3339))
		}
		wantNoChanges(t, r.diff(t, inputs))
	})

	step(t, "a source that leaves is a deleted entry, and its secret goes", func(t *testing.T) {
		shrunk := r.check(t, raw(c2.Name))
		d := r.diff(t, shrunk)
		if len(d.DetailedDiff) != 1 || d.DetailedDiff["sources."+c1.Name].Kind != p.Delete {
			t.Fatalf("diff dropping %s = %v, want only sources.%s deleted", c1.Name, d.DetailedDiff, c1.Name)
		}
		r.update(t, shrunk)
		inputs = shrunk
		if getSecret(t, target, istioNS, secretOf(c1.Name)) != nil {
			t.Errorf("%s's secret survived its removal", c1.Name)
		}
		wantReaderKubeconfig(t, target, c2)
		wantNoChanges(t, r.diff(t, inputs))
	})

	step(t, "another target is a replacement", func(t *testing.T) {
		wantReplaceOnRename(t, r.diff(t, inputs.Set("target", withName(inputs.Get("target"), "cluster9"))), "target")
	})

	step(t, "delete removes every secret", func(t *testing.T) {
		r.delete(t)
		for _, c := range []string{c1.Name, c2.Name} {
			if getSecret(t, target, istioNS, secretOf(c)) != nil {
				t.Errorf("%s survived delete", secretOf(c))
			}
		}
	})
}
