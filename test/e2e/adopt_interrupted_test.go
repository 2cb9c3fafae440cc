package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ristio/pulumi-ristio/internal/localcluster"
	"github.com/ristio/pulumi-ristio/internal/pulumitest"
)

// TestAdoptInterrupted interrupts an adopting `up` (SIGINT to the pulumi
// process, as Ctrl-C sends, the moment istiod's release is being written in
// a cluster) and runs `up` again: the take-over is finished by installing
// over the interrupted release, never by uninstalling it, so istiod's
// Deployment, the east-west gateway's Service (and its address) and the
// reader ServiceAccount every peer's token belongs to keep their UIDs, and
// every istiod keeps its peer synced throughout.
func TestAdoptInterrupted(t *testing.T) {
	t.Parallel()
	w := world(t, 2)
	all := []string{w.Clusters[0].Name, w.Clusters[1].Name}
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs")
	ristioctlMesh(t, w, certs)
	for _, c := range w.Clusters {
		waitClusterz(t, c, "synced its peer before adoption", func(m map[string]string) bool {
			return m[peersOf(all, c.Name)[0]] == "synced"
		})
	}
	before := liveObjects(t, w)
	stack := adoptionStack(t, w, dir, certs)
	watch := watchPeers(t, w, all)

	// Ctrl-C while a cluster's istiod release is pending-install.
	interrupted := w.Clusters[0]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out strings.Builder
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := stack.Up(ctx, optup.ProgressStreams(&out), optup.ErrorProgressStreams(&out))
		done <- err
	}()
	var err error
	seen := ""
poll:
	for {
		select {
		case err = <-done:
			t.Fatalf("up ended before istiod's release was written (release %q seen): %v\n%s", seen, err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if seen = releaseStatus(t, interrupted, "istio"); seen == "pending-install" {
			break poll
		}
	}
	t.Logf("%s: release istio is %s after %s: sending SIGINT to pulumi", interrupted.Name, seen, time.Since(start).Round(time.Millisecond))
	cancel()
	err = <-done
	if err == nil {
		t.Fatalf("the interrupted up succeeded:\n%s", out.String())
	}
	t.Logf("interrupted up returned after %s", time.Since(start).Round(time.Millisecond))
	// The interrupted install is recorded as it ended, not left pending:
	// the plugin lets it finish recording before it exits.
	for _, c := range w.Clusters {
		status := releaseStatus(t, c, "istio")
		t.Logf("%s: after the interruption, release istio is %q, istio-base %q", c.Name, status, releaseStatus(t, c, "istio-base"))
		if strings.HasPrefix(status, "pending") {
			t.Errorf("%s: the interrupted release istio is left %s", c.Name, status)
		}
	}
	assertSameObjects(t, "after the interruption", before, liveObjects(t, w))

	start = time.Now()
	res := pulumitest.Up(t, stack)
	t.Logf("up after the interruption: %s", time.Since(start).Round(time.Millisecond))
	watch.stop(t)
	assertSameObjects(t, "after the next up", before, liveObjects(t, w))
	assertMeshStatus(t, res.Outputs, all)
	for _, c := range w.Clusters {
		assertAdopted(t, c, peersOf(all, c.Name)[0])
	}
	if got := pulumitest.Changes(pulumitest.Preview(t, stack)); len(got) != 0 {
		t.Errorf("preview after the recovered adoption: %v, want no changes", got)
	}
}

// liveObject is what a take-over must keep of one object.
type liveObject struct{ uid, address string }

// liveObjects reads, in every cluster, the objects an uninstall would
// delete and the take-over must keep: istiod's Deployment, the east-west
// gateway's Service (with its address) and the reader ServiceAccount.
func liveObjects(t *testing.T, w *localcluster.World) map[string]liveObject {
	t.Helper()
	ctx := context.Background()
	out := map[string]liveObject{}
	for _, c := range w.Clusters {
		istiod, err := c.Client.AppsV1().Deployments(istioNS).Get(ctx, "istiod", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: istiod: %v", c.Name, err)
		}
		svc, err := c.Client.CoreV1().Services(istioNS).Get(ctx, "istio-eastwestgateway", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: east-west gateway: %v", c.Name, err)
		}
		var address string
		if ing := svc.Status.LoadBalancer.Ingress; len(ing) > 0 {
			address = ing[0].IP + ing[0].Hostname
		}
		reader, err := c.Client.CoreV1().ServiceAccounts(istioNS).Get(ctx, "istio-reader-service-account", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: reader service account: %v", c.Name, err)
		}
		out[c.Name+" Deployment istiod"] = liveObject{uid: string(istiod.UID)}
		out[c.Name+" Service istio-eastwestgateway"] = liveObject{uid: string(svc.UID), address: address}
		out[c.Name+" ServiceAccount istio-reader-service-account"] = liveObject{uid: string(reader.UID)}
	}
	return out
}

func assertSameObjects(t *testing.T, when string, before, after map[string]liveObject) {
	t.Helper()
	for name, b := range before {
		if a := after[name]; a != b {
			t.Errorf("%s: %s was replaced or moved: %+v → %+v", when, name, b, a)
		}
	}
}
