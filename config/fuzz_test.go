package config

import (
	"os"
	"path/filepath"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata/good", "testdata/bad"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, p := range files {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("version: 1\nx: &a [*a, *a]\n"))
	f.Add([]byte("version: 1\nconnections: [{name: \"${A:-${B}}\", port: \"${P:-1}\"}]\n"))
	noFiles := func(string) ([]byte, error) { return []byte("secret\n"), nil }
	env := func(k string) (string, bool) { return "v-" + k, len(k)%2 == 0 }
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, resolve := range []bool{false, true} {
			file, rep := Parse("fuzz.yaml", data, Options{LookupEnv: env, ReadFile: noFiles, Resolve: resolve})
			if rep == nil {
				t.Fatal("nil report")
			}
			if rep.HasErrors() != (file == nil) {
				t.Fatalf("file=%v with errors=%v", file != nil, rep.HasErrors())
			}
			for _, d := range rep.Diagnostics {
				if d.Line < 1 || d.Col < 1 || d.Message == "" {
					t.Fatalf("bad diagnostic %+v", d)
				}
			}
		}
	})
}
