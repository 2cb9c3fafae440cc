package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// write replaces the generated trees under root with files. Each SDK folder
// is removed first, so a file the generator no longer emits does not linger.
func write(root string, files map[string][]byte) error {
	for _, dir := range []string{nodeDir, pythonDir, goDir, javaDir} {
		if err := os.RemoveAll(filepath.Join(root, filepath.FromSlash(dir))); err != nil {
			return fmt.Errorf("removing %s: %w", dir, err)
		}
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		dst := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, files[name], 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return nil
}
