package gatewayapi

import (
	"fmt"

	"github.com/Masterminds/semver/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ristio/pulumi-ristio/pkg/naming"
)

// Installed is what a cluster holds under one CRD name.
type Installed struct {
	Name   string
	Exists bool
	// BundleVersion and Channel are the CRD's Gateway API annotations, empty
	// when it has none.
	BundleVersion string
	Channel       string
	// Managed says ristio created it: it carries naming.ManagedByLabel.
	Managed bool
}

// InstalledFrom reads Installed from a live CRD; nil means there is none.
func InstalledFrom(name string, crd *unstructured.Unstructured) Installed {
	if crd == nil {
		return Installed{Name: name}
	}
	a := crd.GetAnnotations()
	return Installed{
		Name:          name,
		Exists:        true,
		BundleVersion: a[BundleVersionAnnotation],
		Channel:       a[ChannelAnnotation],
		Managed:       crd.GetLabels()[naming.ManagedByLabel] == naming.ManagedByValue,
	}
}

// Action is what ristio does with one CRD.
type Action int

const (
	// Create is for a cluster that has no such CRD.
	Create Action = iota
	// Upgrade is for a CRD ristio created at an older release than the pinned one.
	Upgrade
	// Keep is for a cluster with the pinned release or a newer one of the same
	// major version (any channel): ristio leaves it as it is.
	Keep
	// Refuse is for a CRD ristio did not create and cannot keep (an
	// older release, another major version, or no bundle version), or one
	// ristio created at another major version. ristio does not take it over.
	Refuse
)

func (a Action) String() string {
	switch a {
	case Create:
		return "create"
	case Upgrade:
		return "upgrade"
	case Keep:
		return "keep"
	case Refuse:
		return "refuse"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// Decision is an Action and why, in words fit for a preview.
type Decision struct {
	Action Action
	Reason string
}

// Decide applies the rule for one CRD: install it if absent; leave a
// same-or-newer compatible release alone, whoever installed it; upgrade only
// what ristio created; refuse the rest, saying what the user can do.
// version is the release ristio would install (Version()).
func Decide(version string, in Installed) Decision {
	if !in.Exists {
		return Decision{Create, fmt.Sprintf("%s is absent: ristio installs Gateway API %s", in.Name, version)}
	}
	want, err := semver.NewVersion(version)
	if err != nil {
		return Decision{Refuse, fmt.Sprintf("ristio's Gateway API version %q does not parse: %v", version, err)}
	}
	have, err := semver.NewVersion(in.BundleVersion)
	if err != nil {
		if in.Managed {
			return Decision{Upgrade, fmt.Sprintf("%s was installed by ristio without a readable %s (%q): ristio rewrites it at %s", in.Name, BundleVersionAnnotation, in.BundleVersion, version)}
		}
		return Decision{Refuse, fmt.Sprintf("%s is present without a readable %s (%q), and ristio did not install it: ristio cannot tell whether it is compatible with Gateway API %s; install Gateway API %s or later yourself, or delete it so ristio installs it", in.Name, BundleVersionAnnotation, in.BundleVersion, version, version)}
	}
	if have.Major() != want.Major() {
		return Decision{Refuse, fmt.Sprintf("%s is Gateway API %s, another major version than ristio's %s", in.Name, in.BundleVersion, version)}
	}
	if !have.LessThan(want) {
		return Decision{Keep, fmt.Sprintf("%s is Gateway API %s (%s channel), not older than ristio's %s: left as it is", in.Name, in.BundleVersion, channel(in.Channel), version)}
	}
	if in.Managed {
		return Decision{Upgrade, fmt.Sprintf("%s is Gateway API %s, installed by ristio: upgraded to %s", in.Name, in.BundleVersion, version)}
	}
	return Decision{Refuse, fmt.Sprintf("%s is Gateway API %s, older than ristio's %s, and ristio did not install it: upgrade the Gateway API CRDs to %s or later yourself (ristio does not take over CRDs it did not create)", in.Name, in.BundleVersion, version, version)}
}

func channel(c string) string {
	if c == "" {
		return "unknown"
	}
	return c
}

// MayDelete says whether ristio may delete a CRD on destroy: only one it
// created, and only while no object of that kind is left (inUse counts them
// across namespaces: deleting a CRD deletes every object of its kind).
func MayDelete(in Installed, inUse int) (bool, string) {
	switch {
	case !in.Exists:
		return false, fmt.Sprintf("%s is already gone", in.Name)
	case !in.Managed:
		return false, fmt.Sprintf("%s was not installed by ristio: left in place", in.Name)
	case inUse > 0:
		return false, fmt.Sprintf("%s still has %d object(s): left in place, since deleting it would delete them", in.Name, inUse)
	}
	return true, fmt.Sprintf("%s was installed by ristio and is unused: deleted", in.Name)
}
