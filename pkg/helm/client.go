// Package helm installs, upgrades, reads and uninstalls Helm releases in one
// namespace of one cluster with the Helm v3 SDK, in-process.
//
// One workflow per file, as in Helm's pkg/action: apply.go (install or
// upgrade, including recovery from failed and interrupted releases), get.go
// and uninstall.go. Every workflow runs over one *action.Configuration whose
// releases are stored as Secrets in the release namespace (Helm's default
// "secret" driver), so the helm CLI sees the same releases.
//
// Nothing here waits for workloads to become ready (Helm's --wait is off):
// callers wait themselves, with progress reporting.
package helm

import (
	"context"
	"fmt"
	"sync"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/release"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ristio/pulumi-ristio/pkg/ctxbind"
	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// DefaultMaxHistory is how many revisions of a release are kept.
const DefaultMaxHistory = 10

// Actions Apply reports in Release.Action.
const (
	// ActionInstall: there was no release (or only an uninstalled one).
	ActionInstall = "install"
	// ActionUpgrade: the last release was deployed, or failed after an earlier
	// revision had been deployed.
	ActionUpgrade = "upgrade"
	// ActionReplaceFailed: no revision was ever deployed and the last one
	// failed; the release was uninstalled and installed anew.
	ActionReplaceFailed = "uninstall-failed-then-install"
	// ActionRollbackPending: the last release was left pending by an
	// interrupted run; it was rolled back to the last deployed revision, then
	// upgraded.
	ActionRollbackPending = "rollback-pending-then-upgrade"
	// ActionReplacePending: the last release was left pending (or
	// uninstalling) and no revision was ever deployed; the release was
	// uninstalled and installed anew.
	ActionReplacePending = "uninstall-pending-then-install"
	// ActionInstallOver: a take-over (Client.TakeOwnership) that would
	// otherwise be uninstalled and installed anew (ActionReplaceFailed,
	// ActionReplacePending); the last revision was marked failed if it was
	// not, and the chart installed over the release. A release being taken
	// over is never uninstalled: that would delete what it took over.
	ActionInstallOver = "install-over"
)

// Release is what ristio keeps of a Helm release.
type Release struct {
	Name         string
	Namespace    string
	Chart        string // the chart's name
	ChartVersion string
	AppVersion   string
	// Status is Helm's: deployed, failed, pending-install, pending-upgrade,
	// pending-rollback, uninstalling, superseded.
	Status   string
	Revision int
	// Description is Helm's note on the last operation.
	Description string
	// Action says what Apply did (one of the Action* constants); empty from Get.
	Action string
	// Owner is the owner label of the revision (see Client.Owner); empty when none.
	Owner string
	// Mesh is the mesh label of the revision (see Client.Mesh); empty when none.
	Mesh string
	// Values are the values the revision was made with (Helm's config).
	Values map[string]any
}

// Client runs Helm workflows for releases in one namespace. Its methods may be
// called from several goroutines; their workflows run one at a time. A method
// returns its context's error as soon as the context ends, but its workflow
// keeps the client until its Helm steps have returned (the cluster's requests
// end with the context, so they return soon): the next workflow never
// overlaps what is left of one cut short. A workflow goes on with the fields
// below as they were when its method was called.
type Client struct {
	cfg       *action.Configuration
	namespace string
	log       func(format string, args ...any)
	// bind makes ctx the context of the cluster's requests from now on;
	// forget drops cached discovery. Both are nil for injected
	// configurations.
	bind   func(ctx context.Context)
	forget func()
	// MaxHistory bounds the revisions kept per release (DefaultMaxHistory).
	MaxHistory int
	// Owner, when set, is recorded on each revision written (label
	// naming.OwnerLabel), so that a resource deletes only releases it wrote last.
	Owner string
	// Mesh, when set, is recorded on each revision written (label
	// naming.MeshLabel): the label value of the writing mesh's identity.
	Mesh string
	// TakeOwnership lets an install take over objects that exist without
	// Helm's marks (Helm's --take-ownership): what `istioctl install` made
	// becomes the release's. Objects of another Helm release are taken too.
	// A release being taken over is never uninstalled, whatever its status.
	TakeOwnership bool

	turn ctxbind.Turn
	// trace, when set, hears each workflow wait for its turn, begin and end:
	// a seam for tests.
	trace func(workflow string, e workEvent)
}

// workEvent is what Client.trace hears of a workflow.
type workEvent int

const (
	workWaiting workEvent = iota // it waits for its turn
	workBegan                    // it has the turn; its steps begin
	workEnded                    // its last step has returned; it gives the turn back
)

func (e workEvent) String() string {
	return [...]string{"waiting", "began", "ended"}[e]
}

// settings are the fields a workflow reads, copied when its method is called.
type settings struct {
	maxHistory    int
	owner         string
	mesh          string
	takeOwnership bool
}

func (c *Client) settings() settings {
	return settings{maxHistory: c.MaxHistory, owner: c.Owner, mesh: c.Mesh, takeOwnership: c.TakeOwnership}
}

// New returns a Client for releases in namespace of the cluster cc points at.
// Helm's own log lines go to debugf, which may be nil; the Client calls it
// from one goroutine at a time. The namespace must exist: the Client never
// creates it.
func New(cc clientcmd.ClientConfig, namespace string, debugf func(format string, args ...any)) (*Client, error) {
	if cc == nil {
		return nil, fmt.Errorf("helm: no cluster configuration")
	}
	if namespace == "" {
		return nil, fmt.Errorf("helm: no release namespace")
	}
	cfg := new(action.Configuration)
	c := newClient(cfg, namespace, debugf)
	getter := newRESTClientGetter(cc, namespace, c.log)
	if err := cfg.Init(getter, namespace, "secret", c.log); err != nil {
		return nil, fmt.Errorf("helm: namespace %s: %w", namespace, err)
	}
	c.bind = getter.setContext
	c.forget = func() {
		getter.invalidate()
		cfg.Capabilities = nil
	}
	return c, nil
}

func newClient(cfg *action.Configuration, namespace string, debugf func(format string, args ...any)) *Client {
	return &Client{cfg: cfg, namespace: namespace, log: serialized(orDiscard(debugf)), MaxHistory: DefaultMaxHistory}
}

// serialized calls log from one goroutine at a time: Helm logs from several
// at once (it deletes and creates objects in parallel).
func serialized(log func(string, ...any)) func(string, ...any) {
	var mu sync.Mutex
	return func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		log(format, args...)
	}
}

// Namespace is the release namespace.
func (c *Client) Namespace() string { return c.namespace }

// inTurn runs workflow verb of release name when the client's turn comes,
// bound to ctx, with discovery refreshed, and returns its result, or ctx's
// error as soon as ctx ends (see ctxbind.CallInTurn). Its error is wrapped
// here, once: it names the release, its namespace and the verb.
func inTurn[T any](ctx context.Context, c *Client, name, verb string, workflow func() (T, error)) (T, error) {
	what := verb + " " + name
	c.observe(what, workWaiting)
	v, err := ctxbind.CallInTurn(ctx, &c.turn, func() (T, error) {
		c.observe(what, workBegan)
		running.Add(1)
		defer running.Add(-1)
		defer c.observe(what, workEnded)
		if c.forget != nil {
			c.forget()
		}
		c.bindRequests(ctx)
		return workflow()
	})
	if err != nil {
		return v, c.errorf(name, verb, withContextError(ctx, err))
	}
	return v, nil
}

func (c *Client) observe(workflow string, e workEvent) {
	if c.trace != nil {
		c.trace(workflow, e)
	}
}

// bindRequests makes ctx the context of the cluster's requests from now on.
func (c *Client) bindRequests(ctx context.Context) {
	if c.bind != nil {
		c.bind(ctx)
	}
}

func orDiscard(f func(string, ...any)) func(string, ...any) {
	if f == nil {
		return func(string, ...any) {}
	}
	return f
}

// releaseLabels are stored on every release revision ristio writes.
func (s settings) releaseLabels() map[string]string {
	labels := naming.ManagedLabels()
	if s.owner != "" {
		labels[naming.OwnerLabel] = naming.OwnerLabelValue(s.owner)
	}
	if s.mesh != "" {
		labels[naming.MeshLabel] = s.mesh
	}
	return labels
}

// fromHelm converts Helm's release; nil stays nil.
func fromHelm(r *release.Release, act string) *Release {
	if r == nil {
		return nil
	}
	out := &Release{Name: r.Name, Namespace: r.Namespace, Revision: r.Version, Action: act, Owner: r.Labels[naming.OwnerLabel], Mesh: r.Labels[naming.MeshLabel], Values: r.Config}
	if r.Chart != nil && r.Chart.Metadata != nil {
		out.Chart = r.Chart.Metadata.Name
		out.ChartVersion = r.Chart.Metadata.Version
		out.AppVersion = r.Chart.Metadata.AppVersion
	}
	if r.Info != nil {
		out.Status = r.Info.Status.String()
		out.Description = r.Info.Description
	}
	return out
}

// validName checks a release name as Helm does, with our wording.
func validName(name string) error {
	if err := chartutil.ValidateReleaseName(name); err != nil {
		return fmt.Errorf("release name %q: %w", name, err)
	}
	return nil
}
