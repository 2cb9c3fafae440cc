package provider

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi-go-provider/infer"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/ristio/pulumi-ristio/pkg/kube"
	"github.com/ristio/pulumi-ristio/pkg/kubeconfig"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// A remote secret over two in-memory clusters: west (the source, which
// mints the reader token) and east (the target, which holds the secret).

func (f *fakeCluster) WaitForServiceAccount(ctx context.Context, _, _ string, _ kube.Progress) error {
	return f.call(ctx, "WaitForServiceAccount")
}

func (f *fakeCluster) ServiceAccountSecretToken(ctx context.Context, _, _, _ string, _ kube.Progress) (string, error) {
	return "long-lived", f.call(ctx, "ServiceAccountSecretToken")
}

// RequestBoundToken makes the binding secret a bound token lives as long as.
func (f *fakeCluster) RequestBoundToken(ctx context.Context, ns, _ string, ttl time.Duration, binding string, labels, annotations map[string]string) (string, time.Time, error) {
	if err := f.call(ctx, "RequestBoundToken"); err != nil {
		return "", time.Time{}, err
	}
	s := &unstructured.Unstructured{}
	s.SetGroupVersionKind(secretGVK)
	s.SetNamespace(ns)
	s.SetName(binding)
	s.SetLabels(labels)
	s.SetAnnotations(annotations)
	return "bound", time.Now().Add(ttl), f.Apply(ctx, s)
}

const westKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: west
  cluster: {server: "https://203.0.113.1:6443"}
contexts:
- name: west
  context: {cluster: west, user: west}
current-context: west
users:
- name: west
  user: {token: admin}
`

// fakeDeps reach no cluster of their own: what reaches one through them
// (the preview of an istiod restart) finds none.
var fakeDeps = Deps{Now: time.Now, Kube: func(kubeconfig.Source) (*kube.Client, error) {
	return nil, errors.New("no API server in a fakes test")
}}

// fakeClusters reaches each cluster by its name.
func fakeClusters(clusters map[string]*fakeCluster) func(context.Context, ClusterConnection, writer) (remoteSecretKube, error) {
	return func(_ context.Context, c ClusterConnection, _ writer) (remoteSecretKube, error) {
		return clusters[c.Name], nil
	}
}

// fakeRemoteSecret is a RemoteSecret from west into east; its marks are
// counted in a fakeClaims.
func fakeRemoteSecret(west, east *fakeCluster) *RemoteSecret {
	r := newRemoteSecret(fakeDeps)
	r.connect = fakeClusters(map[string]*fakeCluster{"west": west, "east": east})
	r.claims = &fakeClaims{}
	return r
}

func remoteSecretInputs() RemoteSecretArgs {
	return RemoteSecretArgs{
		Source: ClusterConnection{Name: "west", Kubeconfig: ptr.To(westKubeconfig)}, Target: ClusterConnection{Name: "east"},
		ReaderTokenTTLHours: ptr.To(24), TimeoutSeconds: ptr.To(1), RestartIstiod: ptr.To(restartNever),
	}
}

// rotated is kubeconfig with another admin token, reaching server.
func rotated(kubeconfig, server string) *string {
	return ptr.To(strings.ReplaceAll(strings.ReplaceAll(kubeconfig, "token: admin", "token: rotated"), "https://203.0.113.1:6443", server))
}

// secretsIn lists the secrets of a fake cluster.
func secretsIn(f *fakeCluster) []string {
	var names []string
	for _, obj := range f.objects {
		if obj.GroupVersionKind() == secretGVK {
			names = append(names, obj.GetName())
		}
	}
	return names
}

func TestRemoteSecretOverFakeClusters(t *testing.T) {
	ctx := context.Background()
	secret := naming.RemoteSecret("west")
	foreign := func(east *fakeCluster) { // istioctl's remote secret
		s := &unstructured.Unstructured{}
		s.SetGroupVersionKind(secretGVK)
		s.SetNamespace(naming.IstioNamespace)
		s.SetName(secret)
		east.objects[fakeKey(secretGVK, naming.IstioNamespace, secret)] = s
	}
	for name, tc := range map[string]struct {
		given     func(east *fakeCluster)
		failOn    string // in east
		wantErr   string
		wantMints int
	}{
		"the secret holds a kubeconfig for west": {wantMints: 1},
		"a secret ristio did not make is refused before any token is minted": {
			given: foreign, wantErr: "was not created by ristio",
		},
		"a token that could not be written is revoked": {
			failOn: "ApplySecret", wantErr: errFake.Error(), wantMints: 1,
		},
	} {
		t.Run(name, func(t *testing.T) {
			west, east := newFakeCluster(), newFakeCluster()
			if tc.given != nil {
				tc.given(east)
			}
			east.failOn = tc.failOn
			r := fakeRemoteSecret(west, east)
			got, err := r.Create(ctx, infer.CreateRequest[RemoteSecretArgs]{Name: "west-in-east", Inputs: remoteSecretInputs()})
			if mints := west.calls["RequestBoundToken"]; mints != tc.wantMints {
				t.Errorf("west minted %d tokens, want %d", mints, tc.wantMints)
			}
			if tc.wantErr != "" {
				var initFailed infer.ResourceInitFailedError
				if err == nil || errors.As(err, &initFailed) || !strings.Contains(err.Error(), tc.wantErr) || got.ID != "" {
					t.Fatalf("err = %v, ID %q; want %q and no state", err, got.ID, tc.wantErr)
				}
				if left := secretsIn(west); len(left) != 0 {
					t.Errorf("west still holds %v: a token outlived a secret that was never written", left)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			live := east.objects[fakeKey(secretGVK, naming.IstioNamespace, secret)]
			if data, _, _ := unstructured.NestedStringMap(live.Object, "data"); data["west"] == "" || got.Output.Server != "https://203.0.113.1:6443" || got.Output.TokenBinding == "" {
				t.Fatalf("secret data %v, state %+v; want a kubeconfig for west's server and a bound token", data, got.Output.RemoteSecretStatus)
			}
			if _, err := r.Delete(ctx, infer.DeleteRequest[RemoteSecretState]{ID: got.ID, State: got.Output}); err != nil {
				t.Fatal(err)
			}
			if len(secretsIn(east)) != 0 || len(secretsIn(west)) != 0 {
				t.Errorf("delete left %v in east and %v in west; want the secret and the token's binding gone", secretsIn(east), secretsIn(west))
			}
		})
	}
}

func TestRemoteSecretLifecycleOverFakeClusters(t *testing.T) {
	t.Parallel() // each has clusters of its own
	ctx := context.Background()
	west, east := newFakeCluster(), newFakeCluster()
	r := fakeRemoteSecret(west, east)
	claims := r.claims.(*fakeClaims)
	in := remoteSecretInputs()
	mints := func() int { return west.calls["RequestBoundToken"] }

	planned, err := r.Create(ctx, infer.CreateRequest[RemoteSecretArgs]{Name: "west-in-east", Inputs: in, DryRun: true})
	if err != nil || planned.Output.SecretName != naming.RemoteSecret("west") || claims.previews != 1 || east.writes+west.writes != 0 {
		t.Fatalf("preview: err %v, secretName %q, %d previews, %d writes; want the secret's name and nothing written", err, planned.Output.SecretName, claims.previews, east.writes+west.writes)
	}
	created, err := r.Create(ctx, infer.CreateRequest[RemoteSecretArgs]{Name: "west-in-east", Inputs: in})
	checkCreated(t, created.ID, err, false, false)
	state := created.Output
	update := func(next RemoteSecretArgs, dryRun bool) RemoteSecretState {
		t.Helper()
		got, err := r.Update(ctx, infer.UpdateRequest[RemoteSecretArgs, RemoteSecretState]{ID: created.ID, State: state, Inputs: next, DryRun: dryRun})
		if err != nil {
			t.Fatal(err)
		}
		return got.Output
	}

	quiet := in
	quiet.Source.Kubeconfig = rotated(westKubeconfig, "https://203.0.113.1:6443")
	writes := east.writes + west.writes
	if state = update(quiet, false); mints() != 1 || east.writes+west.writes != writes || *state.Source.Kubeconfig != *quiet.Source.Kubeconfig {
		t.Errorf("a rotated kubeconfig reaching the same server minted %d tokens and wrote %d objects; want it recorded alone", mints()-1, east.writes+west.writes-writes)
	}

	marked := quiet
	marked.MeshIdentity = ptr.To("proj/stack/mesh")
	if state = update(marked, false); claims.marks != 2 || mints() != 1 {
		t.Errorf("a new meshIdentity made %d marks and %d tokens; want the secret and the token's binding marked, nothing minted", claims.marks, mints()-1)
	}

	moved := marked
	moved.Source.Kubeconfig = rotated(westKubeconfig, "https://203.0.113.2:6443")
	if update(moved, true); mints() != 1 {
		t.Errorf("a preview minted a token")
	}
	oldBinding := state.TokenBinding
	state = update(moved, false)
	if mints() != 2 || state.Server != "https://203.0.113.2:6443" || state.TokenBinding == oldBinding {
		t.Errorf("a kubeconfig reaching another server: %d tokens, server %q; want a new token for the new server", mints()-1, state.Server)
	}
	if left := secretsIn(west); len(left) != 1 || left[0] != state.TokenBinding {
		t.Errorf("west holds %v; want only the new token's binding %s (the old one revoked)", left, state.TokenBinding)
	}

	delete(east.objects, fakeKey(secretGVK, naming.IstioNamespace, naming.RemoteSecret("west")))
	read, err := r.Read(ctx, infer.ReadRequest[RemoteSecretArgs, RemoteSecretState]{ID: created.ID, Inputs: moved, State: state})
	if err != nil {
		t.Fatal(err)
	}
	diff, _ := r.Diff(ctx, infer.DiffRequest[RemoteSecretArgs, RemoteSecretState]{ID: created.ID, State: read.State, Inputs: moved})
	if _, ok := diff.DetailedDiff["checksum"]; !ok || read.State.Checksum != "" {
		t.Errorf("a secret deleted by hand: checksum %q, diff %v; want it gone and the secret rewritten", read.State.Checksum, diff.DetailedDiff)
	}

	checkHungReadThenDelete(t, r, created.ID, moved, state, west, east)
}

// checkHungReadThenDelete checks that r's read of a hung east fails, named
// and bounded by timeoutSeconds, and that its delete then leaves no secret
// in west or east.
func checkHungReadThenDelete[A, S any](t *testing.T, r interface {
	infer.CustomRead[A, S]
	infer.CustomDelete[S]
}, id string, in A, state S, west, east *fakeCluster) {
	t.Helper()
	ctx := context.Background()
	east.block = true
	start := time.Now()
	if _, err := r.Read(ctx, infer.ReadRequest[A, S]{ID: id, Inputs: in, State: state}); !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "cluster east: ") || time.Since(start) > 5*time.Second {
		t.Errorf("a read of a hung target returned %v after %v; want it named and bounded by timeoutSeconds", err, time.Since(start))
	}
	east.block = false
	if _, err := r.Delete(ctx, infer.DeleteRequest[S]{ID: id, State: state}); err != nil {
		t.Fatal(err)
	}
	if len(secretsIn(east)) != 0 || len(secretsIn(west)) != 0 {
		t.Errorf("delete left %v in east and %v in west", secretsIn(east), secretsIn(west))
	}
}

func TestRemoteSecretNamesTheClusterThatFailed(t *testing.T) {
	t.Parallel() // each has clusters of its own
	west, east := newFakeCluster(), newFakeCluster()
	west.failOn = "WaitForServiceAccount"
	created, err := fakeRemoteSecret(west, east).Create(context.Background(), infer.CreateRequest[RemoteSecretArgs]{Name: "west-in-east", Inputs: remoteSecretInputs()})
	checkCreated(t, created.ID, err, true, false)
	if !strings.HasPrefix(err.Error(), "cluster west: ") || strings.Contains(err.Error(), "cluster east") {
		t.Errorf("err = %v; want it of west alone", err)
	}
}
