package localcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// volumeSyncInterval is how often secret and ConfigMap volumes are compared
// with the API; the kubelet's own period is about a minute, shorter here so
// tests of certificate rotation need not wait.
const volumeSyncInterval = time.Second

// volumeState remembers per pod when volumes were last synced and the
// projected tokens already issued (path → expiry).
type volumeState struct {
	lastSync time.Time
	tokens   map[string]projectedToken
}

type projectedToken struct {
	data    []byte
	renewAt time.Time
}

// errVolumeNotReady keeps a container from starting, as a missing
// non-optional secret or ConfigMap does in a real cluster.
var errVolumeNotReady = errors.New("volume not ready")

// syncVolumes writes every volume the container mounts under the pod's root
// at its mount path (pilot-discovery reads ./etc/cacerts and the like
// relative to its working directory).
func (c *Cluster) syncVolumes(ctx context.Context, pod *corev1.Pod, ctr *corev1.Container, p *realPod) error {
	if time.Since(p.volumes.lastSync) < volumeSyncInterval {
		return nil
	}
	volumes := map[string]*corev1.Volume{}
	for i := range pod.Spec.Volumes {
		volumes[pod.Spec.Volumes[i].Name] = &pod.Spec.Volumes[i]
	}
	for _, m := range ctr.VolumeMounts {
		v := volumes[m.Name]
		if v == nil {
			return fmt.Errorf("volume mount %s: no such volume", m.Name)
		}
		dir := filepath.Join(p.root, filepath.FromSlash(strings.TrimPrefix(m.MountPath, "/")))
		files, err := c.volumeFiles(ctx, pod, v, p)
		if err != nil {
			return fmt.Errorf("volume %s: %w", m.Name, err)
		}
		if files == nil { // emptyDir and the like: a plain writable folder
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			continue
		}
		if err := writeAtomic(dir, files); err != nil {
			return fmt.Errorf("volume %s: %w", m.Name, err)
		}
	}
	p.volumes.lastSync = time.Now()
	return nil
}

// volumeFiles is the content of a volume as file path → data; nil for
// volumes that are plain folders.
func (c *Cluster) volumeFiles(ctx context.Context, pod *corev1.Pod, v *corev1.Volume, p *realPod) (map[string][]byte, error) {
	switch {
	case v.Secret != nil:
		return c.secretFiles(ctx, pod.Namespace, v.Secret.SecretName, v.Secret.Items, ptr.Deref(v.Secret.Optional, false))
	case v.ConfigMap != nil:
		return c.configMapFiles(ctx, pod.Namespace, v.ConfigMap.Name, v.ConfigMap.Items, ptr.Deref(v.ConfigMap.Optional, false))
	case v.Projected != nil:
		files := map[string][]byte{}
		for _, src := range v.Projected.Sources {
			var part map[string][]byte
			var err error
			switch {
			case src.Secret != nil:
				part, err = c.secretFiles(ctx, pod.Namespace, src.Secret.Name, src.Secret.Items, ptr.Deref(src.Secret.Optional, false))
			case src.ConfigMap != nil:
				part, err = c.configMapFiles(ctx, pod.Namespace, src.ConfigMap.Name, src.ConfigMap.Items, ptr.Deref(src.ConfigMap.Optional, false))
			case src.ServiceAccountToken != nil:
				part, err = c.projectedToken(ctx, pod, src.ServiceAccountToken, p)
			}
			if err != nil {
				return nil, err
			}
			for k, d := range part {
				files[k] = d
			}
		}
		return files, nil
	}
	return nil, nil
}

func (c *Cluster) secretFiles(ctx context.Context, ns, name string, items []corev1.KeyToPath, optional bool) (map[string][]byte, error) {
	s, err := c.Client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if optional {
			return map[string][]byte{}, nil
		}
		return nil, fmt.Errorf("%w: secret %s/%s not found", errVolumeNotReady, ns, name)
	}
	if err != nil {
		return nil, err
	}
	return pickItems(s.Data, items), nil
}

func (c *Cluster) configMapFiles(ctx context.Context, ns, name string, items []corev1.KeyToPath, optional bool) (map[string][]byte, error) {
	cm, err := c.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if optional {
			return map[string][]byte{}, nil
		}
		return nil, fmt.Errorf("%w: configmap %s/%s not found", errVolumeNotReady, ns, name)
	}
	if err != nil {
		return nil, err
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return pickItems(data, items), nil
}

// pickItems maps keys to file paths: every key under its own name, or only
// the listed items at their paths.
func pickItems(data map[string][]byte, items []corev1.KeyToPath) map[string][]byte {
	out := map[string][]byte{}
	if len(items) == 0 {
		for k, v := range data {
			out[k] = v
		}
		return out
	}
	for _, it := range items {
		if v, ok := data[it.Key]; ok {
			out[it.Path] = v
		}
	}
	return out
}

// projectedToken issues a TokenRequest token for the pod's service account
// and renews it past 80% of its life, as the kubelet does.
func (c *Cluster) projectedToken(ctx context.Context, pod *corev1.Pod, src *corev1.ServiceAccountTokenProjection, p *realPod) (map[string][]byte, error) {
	if t, ok := p.volumes.tokens[src.Path]; ok && time.Now().Before(t.renewAt) {
		return map[string][]byte{src.Path: t.data}, nil
	}
	expiry := int64(3600)
	if src.ExpirationSeconds != nil {
		expiry = *src.ExpirationSeconds
	}
	token, err := c.podToken(ctx, pod, src.Audience, expiry)
	if err != nil {
		return nil, fmt.Errorf("projected token: %w", err)
	}
	if p.volumes.tokens == nil {
		p.volumes.tokens = map[string]projectedToken{}
	}
	t := projectedToken{data: []byte(token), renewAt: time.Now().Add(time.Duration(expiry) * time.Second * 8 / 10)}
	p.volumes.tokens[src.Path] = t
	return map[string][]byte{src.Path: t.data}, nil
}

// writeAtomic makes dir hold exactly files the way the kubelet's atomic
// writer does: the data lives in a fresh hidden folder that the ..data
// symlink points at, and each visible name is a symlink through ..data, so a
// reader sees the old set or the new one, never a mix, and file watchers
// (istiod watches its cacerts folder) see the swap. Nothing is written when
// the content is unchanged.
func writeAtomic(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if sameContent(dir, files) {
		return nil
	}
	ts, err := os.MkdirTemp(dir, ".."+time.Now().UTC().Format("2006_01_02_15_04_05."))
	if err != nil {
		return err
	}
	for name, data := range files {
		path := filepath.Join(ts, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return err
		}
	}
	data := filepath.Join(dir, "..data")
	old, _ := os.Readlink(data)
	tmp := filepath.Join(dir, "..data_tmp")
	_ = os.Remove(tmp)
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, data); err != nil {
		return err
	}
	top := map[string]bool{}
	for name := range files {
		first, _, _ := strings.Cut(name, "/")
		top[first] = true
		link := filepath.Join(dir, first)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join("..data", first), link); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "..") && !top[e.Name()] {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	if old != "" {
		_ = os.RemoveAll(filepath.Join(dir, old))
	}
	return nil
}

// sameContent reports whether dir already holds exactly files.
func sameContent(dir string, files map[string][]byte) bool {
	data := filepath.Join(dir, "..data")
	if _, err := os.Readlink(data); err != nil {
		return false
	}
	n := 0
	err := filepath.WalkDir(data+"/", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(data, path)
		if err != nil {
			return err
		}
		want, ok := files[filepath.ToSlash(rel)]
		if !ok {
			return errors.New("extra file")
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			return errors.New("changed")
		}
		n++
		return nil
	})
	return err == nil && n == len(files)
}
