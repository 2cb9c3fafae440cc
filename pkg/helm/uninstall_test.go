package helm

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	kubefake "helm.sh/helm/v3/pkg/kube/fake"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"
)

// Helm returns only "failed to delete release" when the API server refuses a
// deletion; Uninstall's error carries the refusal itself, as an error.
func TestUninstallErrorCarriesTheDeletionError(t *testing.T) {
	f := newFixture(t)
	if _, err := f.Apply(context.Background(), "demo", demoChart("1.0.0"), nil); err != nil {
		t.Fatal(err)
	}
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "demo", errors.New("RBAC says no"))
	f.kube.BuildDummy = true
	f.kube.DeleteWithPropagationError = forbidden

	err := f.Uninstall(context.Background(), "demo")
	if !apierrors.IsForbidden(err) {
		t.Fatalf("Uninstall() error = %v, want one that is Forbidden", err)
	}
	for _, want := range []string{"helm release demo in namespace istio-system: uninstall", "failed to delete release: demo", "RBAC says no"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

// vanishing deletes the release from storage when Helm's uninstall starts,
// as another run deleting it at the same moment would.
type vanishing struct {
	*kubefake.FailingKubeClient
	vanish func()
}

func (v vanishing) IsReachable() error {
	v.vanish()
	return v.FailingKubeClient.IsReachable()
}

func TestUninstallOfAReleaseThatVanishesIsNotAnError(t *testing.T) {
	f := newFixture(t)
	if _, err := f.Apply(context.Background(), "demo", demoChart("1.0.0"), nil); err != nil {
		t.Fatal(err)
	}
	f.cfg.KubeClient = vanishing{FailingKubeClient: f.kube, vanish: func() {
		if _, err := f.cfg.Releases.Delete("demo", 1); err != nil {
			t.Error(err)
		}
	}}
	if err := f.Uninstall(context.Background(), "demo"); err != nil {
		t.Fatalf("Uninstall() of a release deleted meanwhile: %v", err)
	}
}

// flakyDriver fails every Query after the first: Uninstall reads the history
// itself, then Helm reads it again.
type flakyDriver struct {
	*driver.Memory
	queries atomic.Int32
}

func (d *flakyDriver) Query(labels map[string]string) ([]*release.Release, error) {
	if d.queries.Add(1) > 1 {
		return nil, errors.New("etcdserver: request timed out")
	}
	return d.Memory.Query(labels)
}

// A storage error is not taken for a missing release: Helm's IgnoreNotFound
// would have ignored every error reading the history.
func TestUninstallReportsAStorageError(t *testing.T) {
	f := newFixture(t)
	if _, err := f.Apply(context.Background(), "demo", demoChart("1.0.0"), nil); err != nil {
		t.Fatal(err)
	}
	flaky := storage.Init(&flakyDriver{Memory: driver.NewMemory()})
	for _, r := range f.stored(t, "demo") {
		if err := flaky.Create(r); err != nil {
			t.Fatal(err)
		}
	}
	f.cfg.Releases = flaky
	err := f.Uninstall(context.Background(), "demo")
	if err == nil || !strings.Contains(err.Error(), "etcdserver: request timed out") {
		t.Fatalf("Uninstall() error = %v, want the storage error", err)
	}
}
