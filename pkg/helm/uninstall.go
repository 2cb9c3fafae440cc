package helm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/kube"
	"helm.sh/helm/v3/pkg/storage/driver"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Uninstall deletes release name and its history. Objects the chart marks
// helm.sh/resource-policy: keep (Istio's CRDs) stay. It does not wait for the
// deleted objects to disappear. A release that does not exist is not an
// error.
func (c *Client) Uninstall(ctx context.Context, name string) error {
	if err := validName(name); err != nil {
		return err
	}
	_, err := inTurn(ctx, c, name, "uninstall", func() (struct{}, error) { return struct{}{}, c.uninstall(ctx, name, false) })
	return err
}

// uninstall deletes name and purges its history; with wait it also waits,
// within ctx, until the deleted objects are gone, so that an install of the
// same objects can follow.
func (c *Client) uninstall(ctx context.Context, name string, wait bool) error {
	history, err := c.history(name)
	if err != nil {
		return err
	}
	if len(history) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	cfg, deletion := c.recordingDeletion()
	un := action.NewUninstall(cfg)
	un.KeepHistory = false
	un.Wait = wait
	un.Timeout = timeout(ctx)
	res, err := un.Run(name)
	switch {
	case errors.Is(err, driver.ErrReleaseNotFound):
		return nil // gone since history was read: what was asked for
	case err != nil && res == nil:
		// Only a failed deletion of the release's objects (or a check
		// before any deletion) ends without a response.
		return deletion.explain(err)
	}
	return err
}

// recordingDeletion returns a copy of the configuration whose kube client
// keeps the errors of building and deleting objects. A kube client without
// Helm's optional interfaces is left as it is (wrapping it would make Helm
// skip steps), and its errors are not kept.
func (c *Client) recordingDeletion() (*action.Configuration, *deletionErrors) {
	cfg := *c.cfg
	rec := &deletionErrors{}
	if kc, ok := cfg.KubeClient.(uninstallKubeClient); ok {
		rec.uninstallKubeClient = kc
		cfg.KubeClient = rec
	}
	return &cfg, rec
}

// uninstallKubeClient is the kube client Helm's uninstall uses: the
// interface and the optional ones it looks for.
type uninstallKubeClient interface {
	kube.Interface
	kube.InterfaceExt
	kube.InterfaceDeletionPropagation
	kube.InterfaceLogs
}

// deletionErrors keeps the errors a kube client returns from Build and
// Delete. When Helm cannot delete a release's objects it returns only
// "failed to delete release: <name>" and logs the reasons; these are those
// reasons, as errors.
type deletionErrors struct {
	uninstallKubeClient

	mu   sync.Mutex
	errs []error
}

func (d *deletionErrors) Build(r io.Reader, validate bool) (kube.ResourceList, error) {
	res, err := d.uninstallKubeClient.Build(r, validate)
	d.keep(err)
	return res, err
}

func (d *deletionErrors) Delete(resources kube.ResourceList) (*kube.Result, []error) {
	res, errs := d.uninstallKubeClient.Delete(resources)
	d.keep(errs...)
	return res, errs
}

func (d *deletionErrors) DeleteWithPropagationPolicy(resources kube.ResourceList, policy metav1.DeletionPropagation) (*kube.Result, []error) {
	res, errs := d.uninstallKubeClient.DeleteWithPropagationPolicy(resources, policy)
	d.keep(errs...)
	return res, errs
}

func (d *deletionErrors) keep(errs ...error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, err := range errs {
		if err != nil {
			d.errs = append(d.errs, err)
		}
	}
}

// explain adds the kept errors to err, which stays matchable too.
func (d *deletionErrors) explain(err error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.errs) == 0 {
		return err
	}
	return fmt.Errorf("%w: %w", err, joined(slices.Clone(d.errs)))
}

// joined is errors.Join on one line.
type joined []error

func (j joined) Error() string {
	msgs := make([]string, len(j))
	for i, err := range j {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (j joined) Unwrap() []error { return j }
