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

func fakeRemoteSecret(west, east *fakeCluster) *RemoteSecret {
	r := newRemoteSecret(Deps{Now: time.Now})
	r.connect = func(_ context.Context, c ClusterConnection, _ writer) (remoteSecretKube, error) {
		if c.Name == "west" {
			return west, nil
		}
		return east, nil
	}
	return r
}

func remoteSecretInputs() RemoteSecretArgs {
	return RemoteSecretArgs{
		Source: ClusterConnection{Name: "west", Kubeconfig: ptr.To(westKubeconfig)}, Target: ClusterConnection{Name: "east"},
		ReaderTokenTTLHours: ptr.To(24), TimeoutSeconds: ptr.To(1),
	}
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
