package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// TestGeneratedFilesAreUpToDate is the golden test of schema.json and the
// SDKs: what the provider generates now must be what is committed (read
// from git's HEAD, not the working tree, which `make test` has just
// regenerated), and generating twice must give the same files.
func TestGeneratedFilesAreUpToDate(t *testing.T) {
	root := filepath.Join("..", "..")
	committed := headFile(t, root, schemaFile)
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
		if got := headFile(t, root, name); !bytes.Equal(got, first[name]) {
			t.Errorf("%s as committed is out of date: run make sdks and commit", name)
		}
	}
}

// headFile is a file as HEAD has it; nil when HEAD does not have it.
func headFile(t *testing.T, root, name string) []byte {
	t.Helper()
	cmd := exec.Command("git", "show", "HEAD:"+filepath.ToSlash(name))
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return nil // not committed
		}
		t.Fatalf("git show HEAD:%s: %v", name, err)
	}
	return out
}
