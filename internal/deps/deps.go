//go:build tools

// Package deps pins the modules the repository builds against, so that go.mod
// holds them even before every package imports them.
package deps

import (
	_ "github.com/pulumi/pulumi-go-provider"
	_ "github.com/pulumi/pulumi-go-provider/infer"
	_ "github.com/pulumi/pulumi-go-provider/integration"
	_ "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	_ "github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	_ "github.com/pulumi/pulumi/pkg/v3/codegen/python"
	_ "github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	_ "github.com/pulumi/pulumi/sdk/v3/go/auto"
	_ "github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	_ "go.step.sm/crypto/keyutil"
	_ "go.step.sm/crypto/pemutil"
	_ "go.step.sm/crypto/x509util"
	_ "helm.sh/helm/v3/pkg/action"
	_ "helm.sh/helm/v3/pkg/chart/loader"
	_ "helm.sh/helm/v3/pkg/chartutil"
	_ "helm.sh/helm/v3/pkg/getter"
	_ "helm.sh/helm/v3/pkg/registry"
	_ "helm.sh/helm/v3/pkg/repo"
	_ "helm.sh/helm/v3/pkg/storage/driver"
	_ "k8s.io/client-go/dynamic"
	_ "k8s.io/client-go/kubernetes"
	_ "k8s.io/client-go/tools/clientcmd"
)
