package provider

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi-go-provider/infer"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
)

// fakeChecker answers a MeshCheck's question with healthy; with block, it
// answers only once the question's context ends.
type fakeChecker struct {
	healthy, block bool
	asked          int
}

func (f *fakeChecker) checkCluster(ctx context.Context, in MeshCheckArgs) MeshCheckState {
	f.asked++
	if f.block {
		<-ctx.Done()
	}
	status := "synced"
	if !f.healthy {
		status = "west: istiod has not synced"
	}
	return MeshCheckState{MeshCheckArgs: in, Healthy: f.healthy, Status: map[string]string{"west": status}, PeerStatus: map[string]string{}}
}

func fakeMeshCheck(checker *fakeChecker) *MeshCheck {
	r := newMeshCheck(Deps{})
	r.connect = func(context.Context, ClusterConnection, writer) (meshChecker, error) { return checker, nil }
	return r
}

func meshCheckInputs() MeshCheckArgs {
	return MeshCheckArgs{
		Cluster: ClusterConnection{Name: "east"}, TimeoutSeconds: ptr.To(1),
		Peers: []MeshCheckPeer{{Cluster: ClusterConnection{Name: "west"}, Network: "west-network"}},
	}
}

func TestMeshCheckOverAFakeChecker(t *testing.T) {
	t.Parallel() // each has clusters of its own
	ctx := context.Background()
	checker := &fakeChecker{healthy: true}
	r := fakeMeshCheck(checker)
	in := meshCheckInputs()

	if _, err := r.Create(ctx, infer.CreateRequest[MeshCheckArgs]{Name: "east", Inputs: in, DryRun: true}); err != nil || checker.asked != 0 {
		t.Fatalf("preview: err %v, asked %d times; want nothing asked", err, checker.asked)
	}
	created, err := r.Create(ctx, infer.CreateRequest[MeshCheckArgs]{Name: "east", Inputs: in})
	checkCreated(t, created.ID, err, false, false)
	if !created.Output.Healthy || checker.asked != 1 {
		t.Fatalf("create: %+v after %d questions; want healthy at once", created.Output, checker.asked)
	}

	slower := in
	slower.TimeoutSeconds = ptr.To(2)
	if got, err := r.Update(ctx, infer.UpdateRequest[MeshCheckArgs, MeshCheckState]{ID: created.ID, State: created.Output, Inputs: slower}); err != nil || checker.asked != 2 || deref(got.Output.TimeoutSeconds) != 2 {
		t.Errorf("a new timeout: err %v, asked %d times; want the check asked again", err, checker.asked)
	}

	checker.healthy = false
	read, err := r.Read(ctx, infer.ReadRequest[MeshCheckArgs, MeshCheckState]{ID: created.ID, Inputs: in, State: created.Output})
	if err != nil {
		t.Fatal(err)
	}
	if diff, _ := r.Diff(ctx, infer.DiffRequest[MeshCheckArgs, MeshCheckState]{ID: created.ID, State: read.State, Inputs: in}); !diff.HasChanges || diff.DetailedDiff["status"].Kind == "" {
		t.Errorf("a refresh that found west not synced: diff %v; want status to change", diff.DetailedDiff)
	}

	start := time.Now()
	_, err = r.Update(ctx, infer.UpdateRequest[MeshCheckArgs, MeshCheckState]{ID: created.ID, State: read.State, Inputs: in})
	if err == nil || !strings.HasPrefix(err.Error(), "cluster east: mesh check did not pass") || !strings.Contains(err.Error(), "west: istiod has not synced") || time.Since(start) > 5*time.Second {
		t.Errorf("an update that never syncs: %v after %v; want the reason, named and bounded by timeoutSeconds", err, time.Since(start))
	}

	checker.block = true
	start = time.Now()
	if got, err := r.Read(ctx, infer.ReadRequest[MeshCheckArgs, MeshCheckState]{ID: created.ID, Inputs: in, State: created.Output}); err != nil || got.State.Healthy || time.Since(start) > 5*time.Second {
		t.Errorf("a refresh of a hung cluster: %v, healthy %v after %v; want it unhealthy and bounded by timeoutSeconds", err, got.State.Healthy, time.Since(start))
	}
}

// TestAmbientGatewayProblem: an ambient peer's east-west Gateway counts only
// when its controller has Programmed the current spec and given it an
// address; every other case names the cluster, the Gateway and why.
func TestAmbientGatewayProblem(t *testing.T) {
	gateway := func(generation int64, status map[string]any) *unstructured.Unstructured {
		gw := &unstructured.Unstructured{Object: map[string]any{"status": status}}
		gw.SetGeneration(generation)
		return gw
	}
	programmed := func(status string, observed int64) map[string]any {
		return map[string]any{
			"conditions": []any{map[string]any{"type": "Programmed", "status": status, "observedGeneration": observed, "reason": "AddressNotAssigned", "message": "no load balancer yet"}},
			"addresses":  []any{map[string]any{"value": "172.18.0.10"}},
		}
	}
	tests := map[string]struct {
		gw        *unstructured.Unstructured
		err       error
		want      string // a part of the problem; empty means none
		wantAddrs []string
	}{
		"programmed with an address": {gw: gateway(2, programmed("True", 2)), wantAddrs: []string{"172.18.0.10"}},
		"not programmed": {
			gw: gateway(2, programmed("False", 2)), wantAddrs: []string{"172.18.0.10"},
			want: "west's east-west Gateway istio-system/istio-eastwestgateway is not Programmed (AddressNotAssigned: no load balancer yet)",
		},
		"programmed for an older spec": {
			gw: gateway(3, programmed("True", 2)), wantAddrs: []string{"172.18.0.10"},
			want: "is not Programmed",
		},
		"programmed without an address": {
			gw:   gateway(1, map[string]any{"conditions": []any{map[string]any{"type": "Programmed", "status": "True"}}}),
			want: "west's east-west Gateway istio-system/istio-eastwestgateway is Programmed but has no address yet",
		},
		"absent":     {want: "west has no east-west Gateway istio-system/istio-eastwestgateway"},
		"unreadable": {err: errors.New("forbidden"), want: "cannot read west's east-west Gateway istio-system/istio-eastwestgateway: forbidden"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, addrs := ambientGatewayProblem("west", tt.gw, tt.err)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) || !slices.Equal(addrs, tt.wantAddrs) {
				t.Errorf("problem %q, addresses %v; want %q, %v", got, addrs, tt.want, tt.wantAddrs)
			}
		})
	}
}

// TestCheckMeshRefusesAnUnknownDataplane: checkMesh names a bad dataplane
// before it asks any cluster.
func TestCheckMeshRefusesAnUnknownDataplane(t *testing.T) {
	_, err := (&CheckMesh{}).Invoke(context.Background(), infer.FunctionRequest[CheckMeshArgs]{Input: CheckMeshArgs{
		Clusters: []CheckMeshCluster{{Name: "east"}}, Dataplane: ptr.To("envoy"),
	}})
	if err == nil || !strings.Contains(err.Error(), `checkMesh: dataplane must be sidecar or ambient, got "envoy"`) {
		t.Fatalf("checkMesh with dataplane envoy: %v", err)
	}
}
