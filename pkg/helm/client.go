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
	"github.com/ristio/pulumi-ristio/pkg/naming"

	"context"
	"fmt"
	"sync"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/release"
	"k8s.io/client-go/tools/clientcmd"
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
	// Values are the values the revision was made with (Helm's config).
	Values map[string]any
}

// Client runs Helm workflows for releases in one namespace. Its methods may be
// called from several goroutines; they run one at a time.
type Client struct {
	cfg       *action.Configuration
	namespace string
	log       func(format string, args ...any)
	// refresh drops cached discovery before a workflow and binds the
	// cluster's requests to its context; nil for injected configurations.
	refresh func(ctx context.Context)
	// MaxHistory bounds the revisions kept per release (DefaultMaxHistory).
	MaxHistory int
	// Owner, when set, is recorded on each revision written (label
	// naming.OwnerLabel), so that a resource deletes only releases it wrote last.
	Owner string
	// TakeOwnership lets an install take over objects that exist without
	// Helm's marks (Helm's --take-ownership): what `istioctl install` made
	// becomes the release's. Objects of another Helm release are taken too.
	TakeOwnership bool

	mu sync.Mutex
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
	c.refresh = func(ctx context.Context) {
		getter.setContext(ctx)
		getter.invalidate()
		cfg.Capabilities = nil
	}
	return c, nil
}

// NewForConfiguration returns a Client over a ready action.Configuration, for
// tests that use in-memory storage and a fake kube client. Its Log is
// replaced by one that goes to debugf.
func NewForConfiguration(cfg *action.Configuration, namespace string, debugf func(format string, args ...any)) *Client {
	c := newClient(cfg, namespace, debugf)
	cfg.Log = c.log
	return c
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

// begin starts a workflow bound to ctx; call the returned function at its end.
func (c *Client) begin(ctx context.Context) func() {
	c.mu.Lock()
	if c.refresh != nil {
		c.refresh(ctx)
	}
	return c.mu.Unlock
}

func orDiscard(f func(string, ...any)) func(string, ...any) {
	if f == nil {
		return func(string, ...any) {}
	}
	return f
}

// releaseLabels are stored on every release revision ristio writes.
func (c *Client) releaseLabels() map[string]string {
	labels := naming.ManagedLabels()
	if c.Owner != "" {
		labels[naming.OwnerLabel] = naming.OwnerLabelValue(c.Owner)
	}
	return labels
}

// fromHelm converts Helm's release; nil stays nil.
func fromHelm(r *release.Release, act string) *Release {
	if r == nil {
		return nil
	}
	out := &Release{Name: r.Name, Namespace: r.Namespace, Revision: r.Version, Action: act, Owner: r.Labels[naming.OwnerLabel], Values: r.Config}
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
