package provider

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-go-provider/infer"
	"helm.sh/helm/v3/pkg/chart"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"

	"github.com/ristio/pulumi-ristio/pkg/charts"
	"github.com/ristio/pulumi-ristio/pkg/helm"
	"github.com/ristio/pulumi-ristio/pkg/helmvalues"
	"github.com/ristio/pulumi-ristio/pkg/kube"
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
	if err := f.call(ctx, "SecretNames"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for _, obj := range f.objects {
		if obj.GroupVersionKind() == secretGVK && obj.GetNamespace() == ns {
			names = append(names, obj.GetName())
		}
	}
	return names, nil
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

// fakeReleases is an in-memory istio-system Helm: releases by name, written
// with the owner and mesh of the writer it was reached for.
type fakeReleases struct {
	cluster  *fakeCluster // shares failOn and block
	releases map[string]*helm.Release
	owner    string
	mesh     string
	adopt    bool
}

func (h *fakeReleases) Get(ctx context.Context, name string) (*helm.Release, error) {
	if err := h.cluster.call(ctx, "helm.Get"); err != nil {
		return nil, err
	}
	return h.releases[name], nil
}

func (h *fakeReleases) Apply(ctx context.Context, name string, ch *chart.Chart, values map[string]any) (*helm.Release, error) {
	if err := h.cluster.call(ctx, "helm.Apply"); err != nil {
		return nil, err
	}
	h.cluster.writes++
	rev := 1
	if old := h.releases[name]; old != nil {
		rev = old.Revision + 1
	}
	rel := &helm.Release{Name: name, Chart: ch.Name(), Status: deployed, Revision: rev, Owner: h.owner, Mesh: h.mesh, Values: values}
	h.releases[name] = rel
	return rel, nil
}

func (h *fakeReleases) Reconfigure(ctx context.Context, name string, edit func(map[string]any)) (*helm.Release, error) {
	rel := h.releases[name]
	edit(rel.Values)
	return rel, h.cluster.call(ctx, "helm.Reconfigure")
}

func (h *fakeReleases) Uninstall(ctx context.Context, name string) error {
	if err := h.cluster.call(ctx, "helm.Uninstall"); err != nil {
		return err
	}
	h.cluster.writes++
	delete(h.releases, name)
	return nil
}

func (h *fakeReleases) takeOwnership() bool      { return h.adopt }
func (h *fakeReleases) setTakeOwnership(on bool) { h.adopt = on }

func (f *fakeCluster) ServiceAddress(ctx context.Context, _, _ string) (string, error) {
	return "203.0.113.7", f.call(ctx, "ServiceAddress")
}

func (f *fakeCluster) WaitForServiceAddress(ctx context.Context, ns, name string, _ kube.Progress) (string, error) {
	return f.ServiceAddress(ctx, ns, name)
}

func (f *fakeCluster) DeleteIstioctlLeftovers(ctx context.Context, _, _ string, _ ...schema.GroupVersionKind) ([]string, error) {
	return nil, f.call(ctx, "DeleteIstioctlLeftovers")
}

// chartDirectory holds empty charts of the names the controllers install.
func chartDirectory(t *testing.T) *string {
	dir := t.TempDir()
	for _, name := range []string{charts.Base, charts.Istiod, charts.Gateway, charts.CNI, charts.Ztunnel} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "Chart.yaml"), []byte("apiVersion: v2\nname: "+name+"\nversion: 1.29.0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// istiod renders the default tag's webhook, as Istio's chart does.
	tag := "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata:\n  name: " + naming.DefaultTagWebhook +
		"\n  labels:\n    " + naming.RevisionLabel + ": {{ .Values.revision | default \"default\" }}\n"
	if err := os.MkdirAll(filepath.Join(dir, charts.Istiod, "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, charts.Istiod, "templates", "tag.yaml"), []byte(tag), 0o644); err != nil {
		t.Fatal(err)
	}
	return &dir
}

// fakeKubeHelm connects to cluster and its releases, as the real connect
// would for w.
func fakeKubeHelm[K any](cluster *fakeCluster, k K, releases map[string]*helm.Release) func(context.Context, ClusterConnection, writer) (kubeHelm[K], error) {
	helmOf := fakeHelm(cluster, releases)
	return func(ctx context.Context, c ClusterConnection, w writer) (kubeHelm[K], error) {
		h, err := helmOf(ctx, c, w)
		return kubeHelm[K]{kube: k, helm: h}, err
	}
}

// fakeHelm stands in for connectHelm: releases held in memory, marked as w's.
func fakeHelm(cluster *fakeCluster, releases map[string]*helm.Release) func(context.Context, ClusterConnection, writer) (releaseClient, error) {
	return func(_ context.Context, _ ClusterConnection, w writer) (releaseClient, error) {
		return &fakeReleases{cluster: cluster, releases: releases, owner: w.releaseOwner(), mesh: w.mesh.LabelValue()}, nil
	}
}

func TestEastWestGatewayOverAFakeCluster(t *testing.T) {
	ctx := context.Background()
	in := EastWestGatewayArgs{
		Cluster: ClusterConnection{Name: "east"}, Network: "network1", IstioVersion: "1.29.0",
		WaitForAddress: ptr.To(true), TimeoutSeconds: ptr.To(1), ChartSource: ChartSource{ChartDirectory: chartDirectory(t)},
	}
	for name, tc := range map[string]struct {
		failOn      string
		wantPartial bool
	}{
		"the gateway installs, reads back and goes":        {},
		"a failed release install keeps no state":          {failOn: "helm.Apply"},
		"a failed Gateway after the release keeps partial": {failOn: "Apply", wantPartial: true},
		"a failed address wait keeps partial state":        {failOn: "WaitForDeployment", wantPartial: true},
	} {
		t.Run(name, func(t *testing.T) {
			cluster, releases := failingCluster(tc.failOn)
			r := newEastWestGateway(Deps{})
			r.claims = &fakeClaims{}
			r.connect = fakeKubeHelm[eastWestKube](cluster, cluster, releases)
			got, err := r.Create(ctx, infer.CreateRequest[EastWestGatewayArgs]{Name: "gw", Inputs: in})
			if checkCreated(t, got.ID, err, tc.failOn != "", tc.wantPartial); tc.failOn != "" {
				return
			}
			if got.Output.Address != "203.0.113.7" || got.Output.ReleaseStatus != deployed || !got.Output.GatewayPresent {
				t.Fatalf("create left state %+v", got.Output)
			}
			delete(releases, naming.EastWestRelease) // uninstalled by hand
			read, err := r.Read(ctx, infer.ReadRequest[EastWestGatewayArgs, EastWestGatewayState]{ID: got.ID, Inputs: in, State: got.Output})
			if err != nil || read.State.ReleaseStatus != "" {
				t.Fatalf("read: %v, releaseStatus %q; want none", err, read.State.ReleaseStatus)
			}
			if diff, _ := r.Diff(ctx, infer.DiffRequest[EastWestGatewayArgs, EastWestGatewayState]{ID: got.ID, State: read.State, Inputs: in}); !diff.HasChanges {
				t.Errorf("a release removed by hand shows no diff")
			}
			if _, err := r.Update(ctx, infer.UpdateRequest[EastWestGatewayArgs, EastWestGatewayState]{ID: got.ID, State: read.State, Inputs: in}); err != nil || releases[naming.EastWestRelease] == nil {
				t.Fatalf("the repair: %v, release %v", err, releases[naming.EastWestRelease])
			}
			if _, err := r.Delete(ctx, infer.DeleteRequest[EastWestGatewayState]{ID: got.ID, State: got.Output}); err != nil {
				t.Fatal(err)
			}
			if len(cluster.objects) != 0 || len(releases) != 0 {
				t.Errorf("delete left objects %v and releases %v", cluster.objects, releases)
			}
		})
	}
}

func TestIstioControlPlaneOverAFakeCluster(t *testing.T) {
	ctx := context.Background()
	in := IstioControlPlaneArgs{
		Cluster: ClusterConnection{Name: "east"}, MeshID: "mesh1", Network: "network1", IstioVersion: "1.29.0",
		TimeoutSeconds: ptr.To(1), ChartSource: ChartSource{ChartDirectory: chartDirectory(t)},
	}
	for name, tc := range map[string]struct {
		failOn      string
		wantPartial bool
	}{
		"the control plane installs and goes":                {},
		"a release that cannot be read keeps no state":       {failOn: "helm.Get"},
		"a failed istio-system keeps no state":               {failOn: "EnsureNamespace"},
		"a failed install after istio-system keeps partial":  {failOn: "helm.Apply", wantPartial: true},
		"istiod that never comes up keeps its partial state": {failOn: "WaitForDeployment", wantPartial: true},
	} {
		t.Run(name, func(t *testing.T) {
			cluster, releases := failingCluster(tc.failOn)
			r := newIstioControlPlane(Deps{})
			r.claims = &fakeClaims{}
			r.connect = fakeKubeHelm[controlPlaneKube](cluster, controlPlaneFake{cluster}, releases)
			got, err := r.Create(ctx, infer.CreateRequest[IstioControlPlaneArgs]{Name: "cp", Inputs: in})
			if checkCreated(t, got.ID, err, tc.failOn != "", tc.wantPartial); tc.failOn != "" {
				return
			}
			if got.Output.BaseStatus != deployed || got.Output.IstiodStatus != deployed || got.Output.IstiodRelease != naming.IstiodRelease {
				t.Fatalf("create left state %+v", got.Output)
			}
			if _, err := r.Delete(ctx, infer.DeleteRequest[IstioControlPlaneState]{ID: got.ID, State: got.Output}); err != nil {
				t.Fatal(err)
			}
			if len(cluster.objects) != 0 || len(releases) != 0 {
				t.Errorf("delete left objects %v and releases %v", cluster.objects, releases)
			}
		})
	}
}

// controlPlaneFake adds what only the control plane asks of a cluster.
type controlPlaneFake struct{ *fakeCluster }

func (f controlPlaneFake) DeploymentNames(ctx context.Context, _, _ string) ([]string, error) {
	return nil, f.call(ctx, "DeploymentNames")
}

func TestRevisionTagOverAFakeCluster(t *testing.T) {
	ctx := context.Background()
	in := RevisionTagArgs{
		Cluster: ClusterConnection{Name: "east"}, Revision: "canary", IstioVersion: "1.29.0",
		TimeoutSeconds: ptr.To(1), ChartSource: ChartSource{ChartDirectory: chartDirectory(t)},
	}
	base := func() *helm.Release { // the control planes' istio-base
		return &helm.Release{Name: naming.BaseRelease, Status: deployed, Owner: "cp-1", Values: map[string]any{}}
	}
	for name, tc := range map[string]struct {
		noBase      bool
		failOn      string
		wantPartial bool
	}{
		"the tag points at the revision, validator included":         {},
		"istiod that never comes up keeps no state":                  {failOn: "WaitForDeployment"},
		"a missing istio-base after the webhook keeps partial state": {noBase: true, wantPartial: true},
	} {
		t.Run(name, func(t *testing.T) {
			cluster, releases := newFakeCluster(), map[string]*helm.Release{naming.BaseRelease: base()}
			if tc.noBase {
				delete(releases, naming.BaseRelease)
			}
			cluster.failOn = tc.failOn
			r := newRevisionTag(Deps{})
			r.claims = &fakeClaims{}
			r.connect = fakeKubeHelm[revisionTagKube](cluster, cluster, releases)
			got, err := r.Create(ctx, infer.CreateRequest[RevisionTagArgs]{Name: "tag", Inputs: in})
			wantErr := tc.failOn != "" || tc.noBase
			if checkCreated(t, got.ID, err, wantErr, tc.wantPartial); wantErr {
				return
			}
			if !got.Output.WebhookPresent || releases[naming.BaseRelease].Values[helmvalues.BaseDefaultRevisionKey] != "canary" {
				t.Errorf("webhookPresent %v, validator at %v; want the tag and validator at canary", got.Output.WebhookPresent, releases[naming.BaseRelease].Values)
			}
			read, err := r.Read(ctx, infer.ReadRequest[RevisionTagArgs, RevisionTagState]{ID: got.ID, Inputs: in, State: got.Output})
			if err != nil || !read.State.WebhookPresent {
				t.Errorf("read: %v, webhookPresent %v; want true", err, read.State.WebhookPresent)
			}
		})
	}
}

// checkCreated fails t unless a create that returned id and err ended as
// wanted: without error, with partial state (an ID and
// ResourceInitFailedError), or with none (no ID, a plain error).
func checkCreated(t *testing.T, id string, err error, wantErr, wantPartial bool) {
	t.Helper()
	var initFailed infer.ResourceInitFailedError
	partial := errors.As(err, &initFailed)
	if (err != nil) != wantErr || partial != wantPartial || (id != "") != (!wantErr || wantPartial) {
		t.Fatalf("err %v: partial %v with ID %q; want an error %v, partial state %v", err, partial, id, wantErr, wantPartial)
	}
}

// failingCluster is an empty fake cluster, and its Helm's releases, that
// fails the call failOn.
func failingCluster(failOn string) (*fakeCluster, map[string]*helm.Release) {
	cluster := newFakeCluster()
	cluster.failOn = failOn
	return cluster, map[string]*helm.Release{}
}
