package provider

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-go-provider/infer"
	"k8s.io/utils/ptr"

	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// A RemoteSecretSet letting east watch west and north, over three
// in-memory clusters.

func fakeRemoteSecretSet(west, north, east *fakeCluster) (*RemoteSecretSet, *fakeClaims) {
	claims := &fakeClaims{}
	r := newRemoteSecretSet(fakeDeps)
	r.pairs.connect = fakeClusters(map[string]*fakeCluster{"west": west, "north": north, "east": east})
	r.pairs.claims, r.claims = claims, claims
	return r, claims
}

func remoteSecretSetInputs(sources ...string) RemoteSecretSetArgs {
	in := RemoteSecretSetArgs{
		Target: ClusterConnection{Name: "east"}, Sources: map[string]RemoteSecretSource{},
		ReaderTokenTTLHours: ptr.To(24), TimeoutSeconds: ptr.To(1), RestartIstiod: ptr.To(restartNever),
	}
	for _, name := range sources {
		in.Sources[name] = RemoteSecretSource{Cluster: ClusterConnection{Name: name, Kubeconfig: ptr.To(strings.ReplaceAll(westKubeconfig, "west", name))}}
	}
	return in
}

func TestRemoteSecretSetCreateOverFakeClusters(t *testing.T) {
	t.Parallel() // each has clusters of its own
	for name, tc := range map[string]struct {
		failOn      string // in north, or in east for "east:..."
		wantErr     bool
		wantPartial bool
		wantSecrets []string // written, in east
	}{
		"every source is written":                              {wantSecrets: []string{"north", "west"}},
		"a source that fails leaves the others in state":       {failOn: "RequestBoundToken", wantErr: true, wantPartial: true, wantSecrets: []string{"west"}},
		"a target that takes no secret leaves no state behind": {failOn: "east:ApplySecret", wantErr: true},
	} {
		t.Run(name, func(t *testing.T) {
			west, north, east := newFakeCluster(), newFakeCluster(), newFakeCluster()
			if target, ok := strings.CutPrefix(tc.failOn, "east:"); ok {
				east.failOn = target
			} else {
				north.failOn = tc.failOn
			}
			r, _ := fakeRemoteSecretSet(west, north, east)
			got, err := r.Create(context.Background(), infer.CreateRequest[RemoteSecretSetArgs]{Name: "into-east", Inputs: remoteSecretSetInputs("west", "north")})
			checkCreated(t, got.ID, err, tc.wantErr, tc.wantPartial)
			var initFailed infer.ResourceInitFailedError
			if tc.wantPartial && (!errors.As(err, &initFailed) || !strings.Contains(strings.Join(initFailed.Reasons, "; "), "cluster north: ")) {
				t.Errorf("err = %v %v; want it to name north", err, initFailed.Reasons)
			}
			if len(got.Output.Secrets) != len(tc.wantSecrets) || len(secretsIn(east)) != len(tc.wantSecrets) {
				t.Errorf("state holds %v and east %v; want %v", got.Output.Secrets, secretsIn(east), tc.wantSecrets)
			}
			for _, name := range tc.wantSecrets {
				if got.Output.Secrets[name].AppliedChecksum == "" {
					t.Errorf("secrets.%s = %+v; want it written", name, got.Output.Secrets[name])
				}
			}
			if len(tc.wantSecrets) == 0 && len(secretsIn(west))+len(secretsIn(north)) != 0 {
				t.Errorf("west holds %v, north %v: a token outlived a secret never written", secretsIn(west), secretsIn(north))
			}
		})
	}
}

func TestRemoteSecretSetUpdateReadDeleteOverFakeClusters(t *testing.T) {
	t.Parallel() // each has clusters of its own
	ctx := context.Background()
	west, north, east := newFakeCluster(), newFakeCluster(), newFakeCluster()
	r, claims := fakeRemoteSecretSet(west, north, east)
	in := remoteSecretSetInputs("west", "north")
	created, err := r.Create(ctx, infer.CreateRequest[RemoteSecretSetArgs]{Name: "into-east", Inputs: in})
	checkCreated(t, created.ID, err, false, false)
	state := created.Output
	update := func(next RemoteSecretSetArgs) RemoteSecretSetState {
		t.Helper()
		got, err := r.Update(ctx, infer.UpdateRequest[RemoteSecretSetArgs, RemoteSecretSetState]{ID: created.ID, State: state, Inputs: next})
		if err != nil {
			t.Fatal(err)
		}
		return got.Output
	}
	mints := func() int { return west.calls["RequestBoundToken"] + north.calls["RequestBoundToken"] }

	quiet := remoteSecretSetInputs("west", "north")
	quiet.Sources["west"] = RemoteSecretSource{Cluster: ClusterConnection{Name: "west", Kubeconfig: rotated(westKubeconfig, "https://203.0.113.1:6443")}}
	quiet.TimeoutSeconds = ptr.To(2)
	writes := east.writes + west.writes + north.writes
	if state = update(quiet); mints() != 2 || east.writes+west.writes+north.writes != writes {
		t.Errorf("a rotated kubeconfig and a new timeout minted %d tokens and wrote %d objects; want them recorded alone", mints()-2, east.writes+west.writes+north.writes-writes)
	}

	marked := quiet
	marked.MeshIdentity = ptr.To("proj/stack/mesh")
	if state = update(marked); claims.marks != 4 || mints() != 2 {
		t.Errorf("a new meshIdentity made %d marks and %d tokens; want each source's secret and binding marked, nothing minted", claims.marks, mints()-2)
	}

	westOnly := marked
	westOnly.Sources = map[string]RemoteSecretSource{"west": marked.Sources["west"]}
	if state = update(westOnly); len(state.Secrets) != 1 || len(secretsIn(north)) != 0 || len(secretsIn(east)) != 1 || mints() != 2 {
		t.Errorf("north left: state %v, north holds %v, east %v; want its secret and token gone, west untouched", state.Secrets, secretsIn(north), secretsIn(east))
	}

	delete(east.objects, fakeKey(secretGVK, naming.IstioNamespace, naming.RemoteSecret("west")))
	read, err := r.Read(ctx, infer.ReadRequest[RemoteSecretSetArgs, RemoteSecretSetState]{ID: created.ID, Inputs: westOnly, State: state})
	if err != nil {
		t.Fatal(err)
	}
	diff, _ := r.Diff(ctx, infer.DiffRequest[RemoteSecretSetArgs, RemoteSecretSetState]{ID: created.ID, State: read.State, Inputs: westOnly})
	if _, ok := diff.DetailedDiff["secrets.west.checksum"]; !ok || len(diff.DetailedDiff) != 1 {
		t.Errorf("west's secret deleted by hand: diff %v; want secrets.west.checksum alone", diff.DetailedDiff)
	}
	state = read.State
	if state = update(westOnly); len(secretsIn(east)) != 1 || state.Secrets["west"].Checksum != state.Secrets["west"].AppliedChecksum || mints() != 3 {
		t.Errorf("the repair left east with %v, west's entry %+v", secretsIn(east), state.Secrets["west"])
	}

	checkHungReadThenDelete(t, r, created.ID, westOnly, state, west, east)
}
