package provider

// Package coordinates of the generated SDKs, derived from the Go module path.
const (
	GoImportBasePath  = "github.com/ristio/pulumi-ristio/sdk/go/ristio"
	NodePackageName   = "@ristio/pulumi-ristio"
	PythonPackageName = "pulumi_ristio"
	// JavaBasePackage makes the Maven artifact com.ristio:ristio and the Java
	// package com.ristio.ristio.
	JavaBasePackage = "com.ristio"
	// CSharpRootNamespace makes the NuGet package and namespace Ristio.Ristio
	// for whoever generates the .NET SDK (`pulumi package add`).
	CSharpRootNamespace = "Ristio"
	// JavaSDKVersion is the com.pulumi:pulumi the Java SDK is built and
	// tested against; the Java generator's own default (1.0.0) predates it.
	JavaSDKVersion = "1.36.1"
)

// languageMap sets no @pulumi/pulumi or pulumi requirement: the code
// generator knows the oldest language SDK its output works with (3.269.0 for
// pulumi-pkg v3.274.1, which calls runtime.existsResource) and writes that.
func languageMap() map[string]any {
	return map[string]any{
		"go": map[string]any{
			"importBasePath":                 GoImportBasePath,
			"generateResourceContainerTypes": true,
			"respectSchemaVersion":           true,
		},
		"nodejs": map[string]any{
			"packageName":          NodePackageName,
			"respectSchemaVersion": true,
		},
		"python": map[string]any{
			"packageName":          PythonPackageName,
			"respectSchemaVersion": true,
			"pyproject":            map[string]any{"enabled": true},
		},
		"java": map[string]any{
			"basePackage":  JavaBasePackage,
			"dependencies": map[string]string{"com.pulumi:pulumi": JavaSDKVersion},
		},
		"csharp": map[string]any{
			"rootNamespace":        CSharpRootNamespace,
			"respectSchemaVersion": true,
		},
	}
}
