package helm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/kube"
	kubefake "helm.sh/helm/v3/pkg/kube/fake"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"
	helmtime "helm.sh/helm/v3/pkg/time"
)

func rel(version int, status release.Status) *release.Release {
	return &release.Release{Name: "r", Version: version, Info: &release.Info{Status: status}}
}

func TestPlanApply(t *testing.T) {
	tests := map[string]struct {
		history    []*release.Release
		takeOver   bool
		want       string
		replace    bool
		markFailed bool
		rollbackTo int
	}{
		"no release is installed":               {history: nil, want: ActionInstall},
		"a deployed release is upgraded":        {history: []*release.Release{rel(1, release.StatusSuperseded), rel(2, release.StatusDeployed)}, want: ActionUpgrade},
		"an uninstalled one is installed again": {history: []*release.Release{rel(1, release.StatusUninstalled)}, want: ActionInstall, replace: true},
		"a failed first install is replaced":    {history: []*release.Release{rel(1, release.StatusFailed)}, want: ActionReplaceFailed},
		"failures only are replaced":            {history: []*release.Release{rel(1, release.StatusFailed), rel(2, release.StatusFailed)}, want: ActionReplaceFailed},
		"a failed upgrade is upgraded over":     {history: []*release.Release{rel(1, release.StatusDeployed), rel(2, release.StatusFailed)}, want: ActionUpgrade},
		"a pending upgrade is rolled back to the last deployed": {
			history: []*release.Release{rel(1, release.StatusSuperseded), rel(2, release.StatusDeployed), rel(3, release.StatusFailed), rel(4, release.StatusPendingUpgrade)},
			want:    ActionRollbackPending, rollbackTo: 2,
		},
		"a pending rollback is rolled back too": {history: []*release.Release{rel(1, release.StatusDeployed), rel(2, release.StatusPendingRollback)}, want: ActionRollbackPending, rollbackTo: 1},
		"a pending install is replaced":         {history: []*release.Release{rel(1, release.StatusPendingInstall)}, want: ActionReplacePending},
		"an interrupted uninstall is finished, then installed": {
			history: []*release.Release{rel(1, release.StatusDeployed), rel(2, release.StatusUninstalling)}, want: ActionReplacePending,
		},
		"a failed take-over is installed over": {
			history: []*release.Release{rel(1, release.StatusFailed)}, takeOver: true, want: ActionInstallOver, replace: true,
		},
		"a take-over left pending-install is marked failed and installed over": {
			history: []*release.Release{rel(1, release.StatusPendingInstall)}, takeOver: true, want: ActionInstallOver, replace: true, markFailed: true,
		},
		"a take-over left pending-upgrade with nothing deployed is marked failed and installed over": {
			history: []*release.Release{rel(1, release.StatusFailed), rel(2, release.StatusPendingUpgrade)}, takeOver: true, want: ActionInstallOver, replace: true, markFailed: true,
		},
		"a take-over left uninstalling is marked failed and installed over": {
			history: []*release.Release{rel(1, release.StatusDeployed), rel(2, release.StatusUninstalling)}, takeOver: true, want: ActionInstallOver, replace: true, markFailed: true,
		},
		"a take-over left pending after a deployed revision is rolled back, as any": {
			history: []*release.Release{rel(1, release.StatusDeployed), rel(2, release.StatusPendingUpgrade)}, takeOver: true, want: ActionRollbackPending, rollbackTo: 1,
		},
		"a take-over whose upgrade failed is upgraded over, as any": {
			history: []*release.Release{rel(1, release.StatusDeployed), rel(2, release.StatusFailed)}, takeOver: true, want: ActionUpgrade,
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			p := planApply(tt.history, tt.takeOver)
			if p.action != tt.want || p.replace != tt.replace || p.markFailed != tt.markFailed || p.rollbackTo != tt.rollbackTo {
				t.Errorf("planApply() = %+v, want action %s replace %v markFailed %v rollbackTo %d", p, tt.want, tt.replace, tt.markFailed, tt.rollbackTo)
			}
			if p.reason == "" {
				t.Error("no reason given")
			}
		})
	}
}

// fixture is a Client over in-memory storage and a fake kube client whose
// errors a test can switch on and off.
type fixture struct {
	*Client
	kube *kubefake.FailingKubeClient
	logs *strings.Builder
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	kube := &kubefake.FailingKubeClient{PrintingKubeClient: kubefake.PrintingKubeClient{Out: io.Discard}}
	logs := &strings.Builder{}
	cfg := &action.Configuration{
		Releases:     storage.Init(driver.NewMemory()),
		KubeClient:   kube,
		Capabilities: chartutil.DefaultCapabilities,
	}
	c := forConfiguration(cfg, "istio-system", func(format string, args ...any) {
		logs.WriteString(strings.TrimSpace(sprintf(format, args...)) + "\n")
	})
	return fixture{Client: c, kube: kube, logs: logs}
}

// forConfiguration returns a Client over a ready action.Configuration with
// in-memory storage and a fake kube client; its Log goes to debugf.
func forConfiguration(cfg *action.Configuration, namespace string, debugf func(format string, args ...any)) *Client {
	c := newClient(cfg, namespace, debugf)
	cfg.Log = c.log
	return c
}

// demoChart renders one ConfigMap whose data lists every value given, and
// fails to render when .Values.fail is set.
func demoChart(version string) *chart.Chart {
	return &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: "demo", Version: version, AppVersion: version},
		Values:   map[string]any{"fromChart": "default"},
		Templates: []*chart.File{{Name: "templates/cm.yaml", Data: []byte(`{{- if .Values.fail }}{{ fail "asked to fail" }}{{ end }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: demo
data:
{{- range $k, $v := .Values }}
  {{ $k }}: {{ $v | quote }}
{{- end }}
`)}, {Name: "templates/hook.yaml", Data: []byte(`apiVersion: v1
kind: ConfigMap
metadata:
  name: demo-post-install
  annotations:
    helm.sh/hook: post-install
`)}},
	}
}

func (f fixture) stored(t *testing.T, name string) []*release.Release {
	t.Helper()
	h, err := f.history(name)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (f fixture) store(t *testing.T, r *release.Release) {
	t.Helper()
	r.Namespace = "istio-system"
	if r.Info.LastDeployed.IsZero() {
		r.Info.LastDeployed = helmtime.Now()
	}
	if err := f.cfg.Releases.Create(r); err != nil {
		t.Fatal(err)
	}
}

func TestApplyInstallsThenUpgradesWithOnlyTheNewValues(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	r, err := f.Apply(ctx, "demo", demoChart("1.0.0"), map[string]any{"a": "1"})
	if err != nil {
		t.Fatal(err)
	}
	want := Release{Name: "demo", Namespace: "istio-system", Chart: "demo", ChartVersion: "1.0.0", AppVersion: "1.0.0", Status: "deployed", Revision: 1, Description: "Install complete", Action: ActionInstall, Values: map[string]any{"a": "1"}}
	if !reflect.DeepEqual(*r, want) {
		t.Errorf("Apply() = %+v\nwant %+v", *r, want)
	}

	r, err = f.Apply(ctx, "demo", demoChart("1.1.0"), map[string]any{"b": "2"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Action != ActionUpgrade || r.Revision != 2 || r.ChartVersion != "1.1.0" || r.Status != "deployed" {
		t.Errorf("second Apply() = %+v", r)
	}
	h := f.stored(t, "demo")
	last := h[len(h)-1]
	if _, ok := last.Config["a"]; ok {
		t.Errorf("old values were reused: %v", last.Config)
	}
	if !strings.Contains(last.Manifest, `b: "2"`) || strings.Contains(last.Manifest, `a: "1"`) {
		t.Errorf("manifest does not reflect only the new values:\n%s", last.Manifest)
	}
	if last.Labels["app.kubernetes.io/managed-by"] != "ristio" {
		t.Errorf("release labels %v", last.Labels)
	}
}

func TestApplyDoesNotKeepTheCallersValues(t *testing.T) {
	f := newFixture(t)
	vals := map[string]any{"nested": map[string]any{"x": "1"}}
	if _, err := f.Apply(context.Background(), "demo", demoChart("1.0.0"), vals); err != nil {
		t.Fatal(err)
	}
	vals["nested"].(map[string]any)["x"] = "changed"
	h := f.stored(t, "demo")
	if h[0].Config["nested"].(map[string]any)["x"] != "1" {
		t.Error("the stored release shares the caller's values")
	}
}

func TestApplyRecoversFromAFailedFirstInstall(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.kube.CreateError = errors.New("admission webhook denied the request")
	r, err := f.Apply(ctx, "demo", demoChart("1.0.0"), nil)
	if err == nil || !strings.Contains(err.Error(), "admission webhook denied") || !strings.Contains(err.Error(), "helm release demo in namespace istio-system") {
		t.Fatalf("Apply() error = %v", err)
	}
	if r == nil || r.Status != "failed" {
		t.Errorf("failed Apply() returned %+v", r)
	}
	if got, _ := f.Get(context.Background(), "demo"); got == nil || got.Status != "failed" {
		t.Fatalf("Get() after a failed install = %+v, want status failed", got)
	}

	f.kube.CreateError = nil
	r, err = f.Apply(ctx, "demo", demoChart("1.0.0"), nil)
	if err != nil {
		t.Fatalf("Apply() after a failed first install: %v", err)
	}
	if r.Action != ActionReplaceFailed || r.Status != "deployed" || r.Revision != 1 {
		t.Errorf("Apply() = %+v, want a fresh revision 1 via %s", r, ActionReplaceFailed)
	}
	if !strings.Contains(f.logs.String(), "revision 1 failed and no revision was ever deployed") {
		t.Errorf("debug log does not say why:\n%s", f.logs)
	}
}

func TestApplyAfterARenderFailureInstalls(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.Apply(ctx, "demo", demoChart("1.0.0"), map[string]any{"fail": true})
	if err == nil || !strings.Contains(err.Error(), "asked to fail") {
		t.Fatalf("Apply() error = %v", err)
	}
	if got, err := f.Get(context.Background(), "demo"); got != nil || err != nil {
		t.Fatalf("a render failure left a release: %+v, %v", got, err)
	}
	r, err := f.Apply(ctx, "demo", demoChart("1.0.0"), nil)
	if err != nil || r.Action != ActionInstall {
		t.Fatalf("Apply() = %+v, %v", r, err)
	}
}

func TestApplyUpgradesOverAFailedUpgrade(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.Apply(ctx, "demo", demoChart("1.0.0"), nil); err != nil {
		t.Fatal(err)
	}
	f.kube.UpdateError = errors.New("conflict")
	if _, err := f.Apply(ctx, "demo", demoChart("1.1.0"), nil); err == nil {
		t.Fatal("upgrade did not fail")
	}
	if got, _ := f.Get(context.Background(), "demo"); got.Status != "failed" || got.Revision != 2 {
		t.Fatalf("Get() = %+v", got)
	}
	f.kube.UpdateError = nil
	r, err := f.Apply(ctx, "demo", demoChart("1.1.0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Action != ActionUpgrade || r.Revision != 3 || r.Status != "deployed" {
		t.Errorf("Apply() = %+v", r)
	}
}

func TestApplyRollsBackAPendingUpgrade(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.Apply(ctx, "demo", demoChart("1.0.0"), map[string]any{"a": "1"}); err != nil {
		t.Fatal(err)
	}
	// A run that died mid-upgrade leaves revision 2 pending.
	pending := *f.stored(t, "demo")[0]
	pending.Info = &release.Info{Status: release.StatusPendingUpgrade, Description: "Preparing upgrade"}
	pending.Version = 2
	f.store(t, &pending)

	r, err := f.Apply(ctx, "demo", demoChart("1.1.0"), map[string]any{"a": "2"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Action != ActionRollbackPending || r.Status != "deployed" || r.Revision != 4 || r.ChartVersion != "1.1.0" {
		t.Errorf("Apply() = %+v, want revision 4 (1 installed, 2 pending, 3 rollback, 4 upgrade)", r)
	}
	h := f.stored(t, "demo")
	var statuses []string
	for _, r := range h {
		statuses = append(statuses, r.Info.Status.String())
	}
	if strings.Join(statuses, ",") != "superseded,failed,superseded,deployed" {
		t.Errorf("history statuses %v", statuses)
	}
	if !strings.Contains(f.logs.String(), "rolling back to revision 1") {
		t.Errorf("debug log does not say why:\n%s", f.logs)
	}
}

func TestApplyReplacesAPendingInstall(t *testing.T) {
	f := newFixture(t)
	f.store(t, &release.Release{Name: "demo", Version: 1, Chart: demoChart("1.0.0"), Info: &release.Info{Status: release.StatusPendingInstall}})
	r, err := f.Apply(context.Background(), "demo", demoChart("1.0.0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Action != ActionReplacePending || r.Revision != 1 || r.Status != "deployed" {
		t.Errorf("Apply() = %+v", r)
	}
}

func TestApplyReinstallsAnUninstalledReleaseWithHistory(t *testing.T) {
	f := newFixture(t)
	f.store(t, &release.Release{Name: "demo", Version: 1, Chart: demoChart("1.0.0"), Info: &release.Info{Status: release.StatusUninstalled}})
	if got, err := f.Get(context.Background(), "demo"); got != nil || err != nil {
		t.Fatalf("Get() of an uninstalled release = %+v, %v; want nil, nil", got, err)
	}
	r, err := f.Apply(context.Background(), "demo", demoChart("1.0.0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Action != ActionInstall || r.Status != "deployed" {
		t.Errorf("Apply() = %+v", r)
	}
}

func TestApplyWithAnEndedContextChangesNothing(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Apply(ctx, "demo", demoChart("1.0.0"), nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply() error = %v", err)
	}
	if got, _ := f.Get(context.Background(), "demo"); got != nil {
		t.Errorf("release stored: %+v", got)
	}
}

func TestApplyRefusesBadInput(t *testing.T) {
	f := newFixture(t)
	if _, err := f.Apply(context.Background(), "Not_A_Name", demoChart("1.0.0"), nil); err == nil {
		t.Error("an invalid release name was accepted")
	}
	if _, err := f.Apply(context.Background(), "demo", nil, nil); err == nil {
		t.Error("a nil chart was accepted")
	}
}

func TestGetAndUninstall(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if got, err := f.Get(context.Background(), "demo"); got != nil || err != nil {
		t.Fatalf("Get() of nothing = %+v, %v", got, err)
	}
	if err := f.Uninstall(ctx, "demo"); err != nil {
		t.Fatalf("Uninstall() of nothing: %v", err)
	}
	if _, err := f.Apply(ctx, "demo", demoChart("1.0.0"), nil); err != nil {
		t.Fatal(err)
	}
	got, err := f.Get(context.Background(), "demo")
	if err != nil || got == nil || got.Status != "deployed" || got.Action != "" {
		t.Fatalf("Get() = %+v, %v", got, err)
	}
	if err := f.Uninstall(ctx, "demo"); err != nil {
		t.Fatal(err)
	}
	if got, err := f.Get(context.Background(), "demo"); got != nil || err != nil {
		t.Fatalf("Get() after Uninstall = %+v, %v", got, err)
	}
	if h := f.stored(t, "demo"); len(h) != 0 {
		t.Errorf("history kept: %d revisions", len(h))
	}
}

func TestUninstallErrorNamesTheRelease(t *testing.T) {
	f := newFixture(t)
	if _, err := f.Apply(context.Background(), "demo", demoChart("1.0.0"), nil); err != nil {
		t.Fatal(err)
	}
	f.kube.BuildError = errors.New("no kind ConfigMap is registered")
	err := f.Uninstall(context.Background(), "demo")
	if err == nil || !strings.Contains(err.Error(), "helm release demo in namespace istio-system: uninstall") || !strings.Contains(err.Error(), "no kind ConfigMap") {
		t.Fatalf("Uninstall() error = %v", err)
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// stallingKube runs before ahead of every Create and Update, and fails them
// with its error: an API server that hangs, or a request that ends with its
// context.
type stallingKube struct {
	*kubefake.FailingKubeClient
	before func() error
}

func (s stallingKube) Create(resources kube.ResourceList) (*kube.Result, error) {
	if err := s.before(); err != nil {
		return nil, err
	}
	return s.FailingKubeClient.Create(resources)
}

func (s stallingKube) Update(original, target kube.ResourceList, force bool) (*kube.Result, error) {
	if err := s.before(); err != nil {
		return &kube.Result{}, err
	}
	return s.FailingKubeClient.Update(original, target, force)
}

func TestApplyEndsWithItsContextAndTheNextApplyRecovers(t *testing.T) {
	f := newFixture(t)
	unblock := make(chan struct{})
	f.cfg.KubeClient = stallingKube{FailingKubeClient: f.kube, before: func() error { <-unblock; return nil }}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.Apply(ctx, "demo", demoChart("1.0.0"), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Apply() error = %v, want the context's", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Apply() returned after %s", took)
	}

	// Helm goes on in the background once the API server answers; the next
	// Apply waits for it and, whatever state it left, brings the release to
	// deployed.
	close(unblock)
	r, err := f.Apply(context.Background(), "demo", demoChart("1.0.0"), map[string]any{"x": "1"})
	if err != nil {
		t.Fatalf("Apply() after a timed-out Apply: %v", err)
	}
	if r.Status != "deployed" {
		t.Errorf("Apply() = %+v", r)
	}
	t.Logf("recovered by %s", r.Action)
}

// workLog records what Client.trace hears, and what a test notes, in order.
type workLog struct {
	mu     sync.Mutex
	events []string
}

func (l *workLog) note(event string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, event)
}

func (l *workLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.events, "\n")
}

// traceInto makes c's workflows note their events in l, and calls waiting
// when workflow waits for its turn.
func traceInto(c *Client, l *workLog, workflow string, waiting func()) {
	c.trace = func(w string, e workEvent) {
		l.note(w + " " + e.String())
		if w == workflow && e == workWaiting {
			waiting()
		}
	}
}

// The observed failure: an Apply's caller gave up while Helm was still at
// work, the next call took the client at once, and the two ran together.
func TestAWorkflowCutShortKeepsTheClientUntilHelmReturns(t *testing.T) {
	f := newFixture(t)
	var log workLog
	nextWaiting := make(chan struct{})
	traceInto(f.Client, &log, "get demo", func() { close(nextWaiting) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Helm's step outlives its caller until the next call waits.
	f.cfg.KubeClient = stallingKube{FailingKubeClient: f.kube, before: func() error {
		cancel()
		<-nextWaiting
		return nil
	}}

	if _, err := f.Apply(ctx, "demo", demoChart("1.0.0"), nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply() error = %v, want the context's", err)
	}
	log.note("the caller of apply demo returned")
	got, err := f.Get(context.Background(), "demo")
	if err != nil || got == nil {
		t.Fatalf("Get() after the Apply cut short = %+v, %v", got, err)
	}

	want := strings.Join([]string{
		"apply demo waiting", "apply demo began", "the caller of apply demo returned",
		"get demo waiting", "apply demo ended", "get demo began", "get demo ended",
	}, "\n")
	if log.String() != want {
		t.Errorf("events:\n%s\nwant:\n%s", &log, want)
	}
}

// A caller that gives up while waiting for its turn returns at once, and its
// workflow never runs.
func TestAWorkflowWaitingForItsTurnEndsWithItsContext(t *testing.T) {
	f := newFixture(t)
	var log workLog
	ctx, cancel := context.WithCancel(context.Background())
	traceInto(f.Client, &log, "get demo", cancel)
	unblock := make(chan struct{})
	started := make(chan struct{})
	f.cfg.KubeClient = stallingKube{FailingKubeClient: f.kube, before: func() error {
		close(started)
		<-unblock
		return nil
	}}
	applied := make(chan error, 1)
	go func() {
		_, err := f.Apply(context.Background(), "demo", demoChart("1.0.0"), nil)
		applied <- err
	}()
	<-started
	if _, err := f.Get(ctx, "demo"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get() while Apply holds the client = %v, want the context's error", err)
	}
	close(unblock)
	if err := <-applied; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log.String(), "get demo began") {
		t.Errorf("the Get whose caller gave up ran:\n%s", &log)
	}
}

// boundDriver is release storage as Helm's Secret driver is over a cluster:
// a revision is copied in and out (its Info, which is what changes), and
// every call fails once the context last bound to the client's requests has
// ended.
type boundDriver struct {
	mem *driver.Memory
	ctx atomic.Pointer[context.Context]
}

func (d *boundDriver) bind(ctx context.Context) { d.ctx.Store(&ctx) }

func (d *boundDriver) ended() error {
	if p := d.ctx.Load(); p != nil {
		return (*p).Err()
	}
	return nil
}

func copyOf(r *release.Release) *release.Release {
	if r == nil {
		return nil
	}
	c := *r
	if r.Info != nil {
		info := *r.Info
		c.Info = &info
	}
	return &c
}

func copiesOf(rs []*release.Release, err error) ([]*release.Release, error) {
	out := make([]*release.Release, len(rs))
	for i, r := range rs {
		out[i] = copyOf(r)
	}
	return out, err
}

func (d *boundDriver) Name() string { return "bound" }

func (d *boundDriver) Create(key string, r *release.Release) error {
	if err := d.ended(); err != nil {
		return err
	}
	return d.mem.Create(key, copyOf(r))
}

func (d *boundDriver) Update(key string, r *release.Release) error {
	if err := d.ended(); err != nil {
		return err
	}
	return d.mem.Update(key, copyOf(r))
}

func (d *boundDriver) Delete(key string) (*release.Release, error) {
	if err := d.ended(); err != nil {
		return nil, err
	}
	return d.mem.Delete(key)
}

func (d *boundDriver) Get(key string) (*release.Release, error) {
	if err := d.ended(); err != nil {
		return nil, err
	}
	r, err := d.mem.Get(key)
	return copyOf(r), err
}

func (d *boundDriver) List(filter func(*release.Release) bool) ([]*release.Release, error) {
	if err := d.ended(); err != nil {
		return nil, err
	}
	return copiesOf(d.mem.List(filter))
}

func (d *boundDriver) Query(labels map[string]string) ([]*release.Release, error) {
	if err := d.ended(); err != nil {
		return nil, err
	}
	return copiesOf(d.mem.Query(labels))
}

// Helm marks a revision failed when its context ends, but writes that on the
// ended context: the write must get a context of its own, or the revision
// stays pending.
func TestAnApplyCutShortRecordsItsRevisionFailed(t *testing.T) {
	tests := map[string]struct {
		// installed first, when set
		installed bool
		revision  int
		was       string
	}{
		"an install": {revision: 1, was: "pending-install"},
		"an upgrade": {installed: true, revision: 2, was: "pending-upgrade"},
	}
	for scenario, tc := range tests {
		t.Run(scenario, func(t *testing.T) {
			f := newFixture(t)
			d := &boundDriver{mem: driver.NewMemory()}
			f.cfg.Releases = storage.Init(d)
			f.bind = d.bind
			if tc.installed {
				if _, err := f.Apply(context.Background(), "demo", demoChart("1.0.0"), nil); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f.cfg.KubeClient = stallingKube{FailingKubeClient: f.kube, before: func() error {
				cancel()
				return ctx.Err() // as a request bound to ctx fails
			}}
			if _, err := f.Apply(ctx, "demo", demoChart("1.1.0"), nil); !errors.Is(err, context.Canceled) {
				t.Fatalf("Apply() error = %v, want the context's", err)
			}
			got, err := f.Get(context.Background(), "demo") // waits for what is left of Apply
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || got.Revision != tc.revision || got.Status != "failed" {
				t.Fatalf("Get() after the Apply cut short = %+v; want revision %d failed, not %s", got, tc.revision, tc.was)
			}
			if !strings.Contains(got.Description, "context canceled") {
				t.Errorf("description %q does not say what happened", got.Description)
			}
		})
	}
}

// A release being taken over is installed over, whatever its status: an
// uninstall would delete what the take-over took (istioctl's istiod, the
// gateway's Service), and purge the history.
func TestApplyTakingOverNeverUninstalls(t *testing.T) {
	tests := map[string][]release.Status{
		"a take-over that failed":                          {release.StatusFailed},
		"a take-over left pending-install":                 {release.StatusPendingInstall},
		"a take-over left pending-upgrade after a failure": {release.StatusFailed, release.StatusPendingUpgrade},
		"a take-over left uninstalling":                    {release.StatusUninstalling},
	}
	for scenario, statuses := range tests {
		t.Run(scenario, func(t *testing.T) {
			f := newFixture(t)
			f.TakeOwnership = true
			for i, s := range statuses {
				f.store(t, &release.Release{Name: "demo", Version: i + 1, Chart: demoChart("1.0.0"), Info: &release.Info{Status: s}})
			}
			r, err := f.Apply(context.Background(), "demo", demoChart("1.0.0"), nil)
			if err != nil {
				t.Fatal(err)
			}
			last := len(statuses)
			if r.Action != ActionInstallOver || r.Status != "deployed" || r.Revision != last+1 {
				t.Errorf("Apply() = %+v, want revision %d via %s", r, last+1, ActionInstallOver)
			}
			h := f.stored(t, "demo")
			if len(h) != last+1 {
				t.Fatalf("%d revisions stored, want %d: the history was purged", len(h), last+1)
			}
			if was := h[last-1]; was.Info.Status != release.StatusFailed {
				t.Errorf("revision %d is %s, want failed", was.Version, was.Info.Status)
			} else if statuses[last-1] != release.StatusFailed && !strings.Contains(was.Info.Description, "Interrupted while "+statuses[last-1].String()) {
				t.Errorf("revision %d: description %q", was.Version, was.Info.Description)
			}
			if !strings.Contains(f.logs.String(), "never uninstalling") {
				t.Errorf("debug log does not say why:\n%s", f.logs)
			}
		})
	}
}
