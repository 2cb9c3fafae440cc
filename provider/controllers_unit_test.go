package provider

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-go-provider/infer"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// Each controller's own apply, read and remove over the in-memory cluster
// of lifecycle_unit_test.go.

func (f *fakeCluster) GetSecret(ctx context.Context, ns, name string) (*corev1.Secret, error) {
	obj, err := f.Get(ctx, secretGVK, ns, name)
	if err != nil || obj == nil {
		return nil, err
	}
	var s corev1.Secret
	return &s, runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &s)
}

func (f *fakeCluster) ApplySecret(ctx context.Context, s *corev1.Secret) error {
	if err := f.call(ctx, "ApplySecret"); err != nil {
		return err
	}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(s)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetGroupVersionKind(secretGVK)
	return f.Apply(ctx, u)
}

func (f *fakeCluster) SecretNames(ctx context.Context, ns, _ string) ([]string, error) {
	var names []string
	for _, obj := range f.objects {
		if obj.GroupVersionKind() == secretGVK && obj.GetNamespace() == ns {
			names = append(names, obj.GetName())
		}
	}
	return names, f.call(ctx, "SecretNames")
}

func (f *fakeCluster) DeactivateWebhooks(ctx context.Context, _ string) (bool, error) {
	return true, f.call(ctx, "DeactivateWebhooks")
}

func (f *fakeCluster) WebhooksDeactivated(ctx context.Context, _ string) (bool, error) {
	return false, f.call(ctx, "WebhooksDeactivated")
}

// fakeCACerts is a CACerts lifecycle over cluster.
func fakeCACerts(cluster *fakeCluster) clusterResource[CACertsArgs, CACertsState, caCertsClient] {
	r := newCACerts(Deps{}).clusterResource
	r.claims = &fakeClaims{}
	r.connect = func(context.Context, ClusterConnection, writer) (caCertsClient, error) { return cluster, nil }
	return r
}

func caCertsInputs() CACertsArgs {
	return CACertsArgs{
		Cluster: ClusterConnection{Name: "east"}, CACertPEM: "ca", CAKeyPEM: "key", RootCertPEM: "root", CertChainPEM: "chain",
		TimeoutSeconds: ptr.To(1),
	}
}

func TestCACertsOverAFakeCluster(t *testing.T) {
	ctx := context.Background()
	foreign := func(f *fakeCluster) { // ristioctl's cacerts: not ristio's
		s := &unstructured.Unstructured{}
		s.SetGroupVersionKind(secretGVK)
		s.SetNamespace(naming.IstioNamespace)
		s.SetName(naming.CACertsSecret)
		f.objects[fakeKey(secretGVK, naming.IstioNamespace, naming.CACertsSecret)] = s
	}
	istioSystem := func(f *fakeCluster) { _ = f.EnsureNamespace(ctx, naming.IstioNamespace, nil) }
	for name, tc := range map[string]struct {
		given       []func(*fakeCluster)
		failOn      string
		wantErr     string
		wantPartial bool
	}{
		"a new secret in a new namespace": {},
		"a failed write into istio-system that was there keeps no state": {
			given: []func(*fakeCluster){istioSystem}, failOn: "ApplySecret", wantErr: errFake.Error(),
		},
		"a failed write after making istio-system keeps partial state": {
			failOn: "ApplySecret", wantErr: errFake.Error(), wantPartial: true,
		},
		"a cacerts ristio did not make is refused before anything is written": {
			given: []func(*fakeCluster){istioSystem, foreign}, wantErr: "was not created by ristio",
		},
	} {
		t.Run(name, func(t *testing.T) {
			cluster := newFakeCluster()
			for _, g := range tc.given {
				g(cluster)
			}
			cluster.failOn = tc.failOn
			r := fakeCACerts(cluster)
			got, err := r.Create(ctx, infer.CreateRequest[CACertsArgs]{Name: "cacerts", Inputs: caCertsInputs()})
			var initFailed infer.ResourceInitFailedError
			partial := errors.As(err, &initFailed)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatal(err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(strings.Join(append(initFailed.Reasons, err.Error()), " "), tc.wantErr)):
				t.Fatalf("err = %v (%v), want %q", err, initFailed.Reasons, tc.wantErr)
			case partial != tc.wantPartial || (got.ID != "") != (tc.wantErr == "" || tc.wantPartial):
				t.Fatalf("partial %v with ID %q, want partial %v", partial, got.ID, tc.wantPartial)
			}
			if tc.wantErr != "" {
				if tc.wantPartial && got.Output.Checksum != "" {
					t.Errorf("partial state holds checksum %q, want none so the next up rewrites the secret", got.Output.Checksum)
				}
				return
			}
			if got.Output.Checksum != checksum(caCertsInputs().data()) {
				t.Errorf("checksum %q, want that of the data written", got.Output.Checksum)
			}
			read, err := r.Read(ctx, infer.ReadRequest[CACertsArgs, CACertsState]{ID: got.ID, Inputs: got.Output.CACertsArgs, State: got.Output})
			if err != nil || read.State.Checksum != got.Output.Checksum {
				t.Errorf("read: %v, checksum %q; want the written one", err, read.State.Checksum)
			}
			if _, err := r.Delete(ctx, infer.DeleteRequest[CACertsState]{ID: got.ID, State: got.Output}); err != nil {
				t.Fatal(err)
			}
			if len(cluster.objects) != 0 {
				t.Errorf("delete left %v, want nothing (istio-system is ristio's and empty)", cluster.objects)
			}
		})
	}
}

func TestRevisionTagReadAndRemoveOverAFakeCluster(t *testing.T) {
	ctx := context.Background()
	cluster := newFakeCluster()
	tag := &unstructured.Unstructured{}
	tag.SetGroupVersionKind(mutatingWebhookGVK)
	tag.SetName(naming.DefaultTagWebhook)
	tag.SetLabels(map[string]string{naming.RevisionLabel: naming.RevisionLabelValue("canary"), naming.ManagedByLabel: naming.ManagedByValue})
	tag.SetAnnotations(map[string]string{naming.OwnerAnnotation: "tag-1"})
	cluster.objects[fakeKey(mutatingWebhookGVK, "", naming.DefaultTagWebhook)] = tag
	c := kubeHelm[revisionTagKube]{kube: cluster} // the injector stays on: no Helm call
	for revision, want := range map[string]bool{"canary": true, "stable": false} {
		got, err := readRevisionTag(ctx, c, RevisionTagState{RevisionTagArgs: RevisionTagArgs{Revision: revision}})
		if err != nil || got.WebhookPresent != want {
			t.Errorf("read for revision %s: %v, webhookPresent %v; want %v", revision, err, got.WebhookPresent, want)
		}
	}
	if err := removeRevisionTag(ctx, c, writer{owner: "tag-2"}, RevisionTagState{}); err != nil || len(cluster.objects) != 1 {
		t.Errorf("another resource's remove: %v, left %d objects; want the tag kept", err, len(cluster.objects))
	}
	if err := removeRevisionTag(ctx, c, writer{owner: "tag-1"}, RevisionTagState{}); err != nil || len(cluster.objects) != 0 {
		t.Errorf("remove: %v, left %d objects; want the tag gone", err, len(cluster.objects))
	}
}
