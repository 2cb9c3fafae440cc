package main

import (
	"encoding/json"
	"testing"

	"github.com/ristio/pulumi-ristio/provider"
)

// TestJavaSpecLeavesTheSchemaAlone: the Java copy of the schema drops the
// component outputs' secret flags and asks for no Gradle files, while the
// schema every other language (and schema.json) gets keeps them.
func TestJavaSpecLeavesTheSchemaAlone(t *testing.T) {
	spec, err := providerSchema(provider.Version)
	if err != nil {
		t.Fatal(err)
	}
	const mesh = "ristio:index:MultiClusterMesh"
	if !spec.Resources[mesh].Properties["rootKeyPem"].Secret {
		t.Fatalf("%s.rootKeyPem is not secret in the schema; this test needs a secret component output", mesh)
	}
	java, err := javaSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	if java.Resources[mesh].Properties["rootKeyPem"].Secret {
		t.Errorf("the Java copy still marks %s.rootKeyPem secret", mesh)
	}
	if !spec.Resources[mesh].Properties["rootKeyPem"].Secret {
		t.Errorf("javaSpec changed the caller's schema: %s.rootKeyPem is no longer secret", mesh)
	}
	var info map[string]any
	if err := json.Unmarshal(java.Language["java"], &info); err != nil {
		t.Fatal(err)
	}
	if info["buildFiles"] != "none" || info["basePackage"] != provider.JavaBasePackage {
		t.Errorf("Java language section = %v, want buildFiles none and basePackage %s", info, provider.JavaBasePackage)
	}
	var schemaInfo map[string]any
	if err := json.Unmarshal(spec.Language["java"], &schemaInfo); err != nil {
		t.Fatal(err)
	}
	if _, set := schemaInfo["buildFiles"]; set {
		t.Errorf("javaSpec changed the caller's java language section: %v", schemaInfo)
	}
}
