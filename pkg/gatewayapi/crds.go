// Package gatewayapi holds the Kubernetes Gateway API objects ristio writes
// for ambient meshes: the CRDs, with the rule that decides, per CRD, whether
// to create, upgrade, keep or refuse what a cluster already has and whether
// ristio may delete it (decide.go), and each network's east-west Gateway,
// with a reader of its status (eastwest.go).
//
// The CRDs are the standard channel of the sigs.k8s.io/gateway-api version
// the pinned istio.io/istio requires, copied into crds/ by
// scripts/gatewayapi-crds.sh (data, not code). Everything here is pure.
package gatewayapi

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// Annotations the Gateway API project puts on every CRD it ships.
const (
	// BundleVersionAnnotation holds the Gateway API release, e.g. v1.5.1.
	BundleVersionAnnotation = "gateway.networking.k8s.io/bundle-version"
	// ChannelAnnotation holds standard or experimental.
	ChannelAnnotation = "gateway.networking.k8s.io/channel"
)

// Group is the API group of every Gateway API CRD.
const Group = "gateway.networking.k8s.io"

//go:embed crds/*.yaml
var crdFiles embed.FS

// pinned is parsed once; CRDs hands out deep copies.
var pinned = mustLoad()

// CRDs returns the pinned CRDs, sorted by name, each labelled as ristio's
// (naming.ManagedByLabel) so that a later run knows it created them. The
// caller owns the returned objects.
func CRDs() []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(pinned.crds))
	for i, c := range pinned.crds {
		out[i] = c.DeepCopy()
	}
	return out
}

// Version returns the pinned Gateway API release, the bundle-version every
// pinned CRD carries.
func Version() string { return pinned.version }

type bundle struct {
	version string
	crds    []*unstructured.Unstructured
}

func mustLoad() bundle {
	b, err := load(crdFiles)
	if err != nil {
		panic(fmt.Sprintf("gatewayapi: embedded CRDs: %v", err)) // a broken build, caught by the package's tests
	}
	return b
}

// load parses every crds/*.yaml of fsys and checks they are CRDs of one
// Gateway API release.
func load(fsys fs.FS) (bundle, error) {
	names, err := fs.Glob(fsys, "crds/*.yaml")
	if err != nil {
		return bundle{}, err
	}
	if len(names) == 0 {
		return bundle{}, fmt.Errorf("no CRDs")
	}
	var b bundle
	for _, name := range names {
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			return bundle{}, err
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(raw, &u.Object); err != nil {
			return bundle{}, fmt.Errorf("%s: %w", path.Base(name), err)
		}
		if u.GetKind() != "CustomResourceDefinition" || !strings.HasSuffix(u.GetName(), "."+Group) {
			return bundle{}, fmt.Errorf("%s: %s %q is not a Gateway API CRD", path.Base(name), u.GetKind(), u.GetName())
		}
		v := u.GetAnnotations()[BundleVersionAnnotation]
		switch {
		case v == "":
			return bundle{}, fmt.Errorf("%s: no %s annotation", path.Base(name), BundleVersionAnnotation)
		case b.version == "":
			b.version = v
		case v != b.version:
			return bundle{}, fmt.Errorf("%s: bundle version %s, others are %s", path.Base(name), v, b.version)
		}
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[naming.ManagedByLabel] = naming.ManagedByValue
		u.SetLabels(labels)
		b.crds = append(b.crds, u)
	}
	slices.SortFunc(b.crds, func(x, y *unstructured.Unstructured) int { return strings.Compare(x.GetName(), y.GetName()) })
	return b, nil
}
