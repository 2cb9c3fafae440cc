package helm

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"helm.sh/helm/v3/pkg/kube"
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

// stallingDeletes runs before ahead of every deletion of objects.
type stallingDeletes struct {
	*kubefake.FailingKubeClient
	before func()
}

func (s stallingDeletes) Delete(resources kube.ResourceList) (*kube.Result, []error) {
	s.before()
	return s.FailingKubeClient.Delete(resources)
}

func (s stallingDeletes) DeleteWithPropagationPolicy(resources kube.ResourceList, policy metav1.DeletionPropagation) (*kube.Result, []error) {
	s.before()
	return s.FailingKubeClient.DeleteWithPropagationPolicy(resources, policy)
}

// The failure seen on a 2-core machine: an Uninstall's caller gave up while
// Helm was deleting, the next Apply of the same release began at once, and
// the abandoned uninstall purged what the Apply read ("uninstall: Failed to
// purge the release: release: not found"). The uninstall keeps the client
// until Helm has purged the release, so the Apply after it starts from no
// release and installs.
func TestAnUninstallCutShortKeepsTheClientUntilHelmReturns(t *testing.T) {
	f := newFixture(t)
	if _, err := f.Apply(context.Background(), "demo", demoChart("1.0.0"), nil); err != nil {
		t.Fatal(err)
	}
	var log workLog
	nextWaiting := make(chan struct{})
	traceInto(f.Client, &log, "apply demo", func() { close(nextWaiting) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Helm's delete outlives the Uninstall's caller until the next Apply
	// waits. The fake builds objects to delete only when asked to (and an
	// install cannot take them), so only the Uninstall builds them.
	f.kube.BuildDummy = true
	var once sync.Once
	f.cfg.KubeClient = stallingDeletes{FailingKubeClient: f.kube, before: func() {
		once.Do(func() {
			cancel()
			<-nextWaiting
		})
	}}

	if err := f.Uninstall(ctx, "demo"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Uninstall() error = %v, want the context's", err)
	}
	log.note("the caller of uninstall demo returned")
	f.kube.BuildDummy = false // built: Helm is deleting
	r, err := f.Apply(context.Background(), "demo", demoChart("1.0.0"), nil)
	if err != nil {
		t.Fatalf("Apply() after the Uninstall cut short: %v", err)
	}

	want := strings.Join([]string{
		"uninstall demo waiting", "uninstall demo began", "the caller of uninstall demo returned",
		"apply demo waiting", "uninstall demo ended", "apply demo began", "apply demo ended",
	}, "\n")
	if log.String() != want {
		t.Errorf("events:\n%s\nwant:\n%s", &log, want)
	}
	if r.Action != ActionInstall || r.Status != "deployed" || r.Revision != 1 {
		t.Errorf("Apply() = %+v, want revision 1 installed anew", r)
	}
}
