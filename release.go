// Package ristio names a ristio release: the version every artifact carries
// and where the engine downloads the plugin. The provider, the converter and
// the SDK generator all read it from here, and it is small, so the converter
// does not link the provider to know it.
package ristio

import (
	_ "embed"
	"strings"
)

// Name is the Pulumi package name.
const Name = "ristio"

// version is the one version source: the plugins, the schema and the SDKs
// all carry it (the Makefile and the release scripts read the same file).
//
//go:embed provider/VERSION
var version string

// Version is provider/VERSION, unless a build stamps another with -ldflags
// "-X github.com/ristio/pulumi-ristio.Version=...". It is set in init, not
// by its declaration: an initializer that calls a function would overwrite
// the linker's stamp.
var Version string

func init() {
	if Version == "" {
		Version = strings.TrimSpace(version)
	}
}

// PluginDownloadURL is where the engine fetches the plugin when a program
// needs it and it is not installed: the project's GitHub releases, whose
// assets are the archives `make dist` builds.
const PluginDownloadURL = "github://api.github.com/ristio/pulumi-ristio"

// MeshToken is the MultiClusterMesh component's type token: the provider
// registers the component under it, and programs the converter writes ask for
// it (a provider test checks it is the token infer serves the component as).
const MeshToken = Name + ":index:MultiClusterMesh"
