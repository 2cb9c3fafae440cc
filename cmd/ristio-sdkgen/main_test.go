package main

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestGeneratedFilesAreUpToDate is the golden test of schema.json and the
// SDKs: what the provider generates now must be what the tree holds (`make
// sdks` rewrites them), and generating twice must give the same files.
func TestGeneratedFilesAreUpToDate(t *testing.T) {
	root := filepath.Join("..", "..")
	committed, err := os.ReadFile(filepath.Join(root, schemaFile))
	if err != nil {
		t.Fatalf("%v (run make sdks)", err)
	}
	var head struct{ Version string }
	if err := json.Unmarshal(committed, &head); err != nil {
		t.Fatalf("%s: %v", schemaFile, err)
	}

	generateOnce := func() map[string][]byte {
		spec, err := providerSchema(head.Version)
		if err != nil {
			t.Fatal(err)
		}
		files, err := generate(spec)
		if err != nil {
			t.Fatal(err)
		}
		return files
	}
	first, second := generateOnce(), generateOnce()
	if !maps.EqualFunc(first, second, bytes.Equal) {
		t.Errorf("two generations differ")
	}

	for _, name := range slices.Sorted(maps.Keys(first)) {
		if name == goModFile {
			continue // `make sdks` tidies it after generation
		}
		got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
		if err != nil || !bytes.Equal(got, first[name]) {
			t.Errorf("%s is out of date: run make sdks", name)
		}
	}
}
