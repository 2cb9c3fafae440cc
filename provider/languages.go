package provider

// Package coordinates of the generated SDKs, derived from the Go module path.
const (
	GoImportBasePath  = "github.com/ristio/pulumi-ristio/sdk/go/ristio"
	NodePackageName   = "@ristio/pulumi-ristio"
	PythonPackageName = "pulumi_ristio"
)

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
			"dependencies":         map[string]any{"@pulumi/pulumi": "^3.142.0"},
		},
		"python": map[string]any{
			"packageName":          PythonPackageName,
			"respectSchemaVersion": true,
			"requires":             map[string]any{"pulumi": ">=3.142.0,<4.0.0"},
			"pyproject":            map[string]any{"enabled": true},
		},
	}
}
