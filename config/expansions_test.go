package config

import (
	"io/fs"
	"strings"
	"testing"
)

// Canary values: none of them, nor any 8-byte run of them, may appear in a
// diagnostic, whatever field the reference sits in.
const (
	canaryEnv  = "CANARY-7f3a9c1e-env-value"
	canaryFile = "root:CANARY-7f3a9c1e-file:19000:0:99999:7:::\ndaemon:*:19000"
	canaryPort = "99999"
	canaryTZ   = "Ab/Cd" // short: replaced as a whole value, not as a fragment
)

func canaryOptions() Options {
	env := map[string]string{"SECRET_ENV": canaryEnv, "PORT_NUM": canaryPort, "TZ_NAME": canaryTZ, "ENV": "qz"}
	return Options{
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		ReadFile: func(p string) ([]byte, error) {
			switch p {
			case "/run/secrets/canary":
				return []byte(canaryFile + "\n"), nil
			case "/run/secrets/pw":
				return []byte("pw-from-a-file\n"), nil
			}
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		},
		Resolve: true,
	}
}

// assertNoCanary fails when msg shows a canary value or part of one.
func assertNoCanary(tb testing.TB, msg string) {
	tb.Helper()
	for _, secret := range []string{canaryEnv, canaryFile, strings.Split(canaryFile, "\n")[0], "daemon:*:19000"} {
		for i := 0; i+fragmentLen <= len(secret); i++ {
			if strings.Contains(msg, secret[i:i+fragmentLen]) {
				tb.Fatalf("message shows part of a canary (%q):\n%s", secret[i:i+fragmentLen], msg)
			}
		}
	}
	for _, short := range []string{"CANARY", canaryPort, canaryTZ, "db-qz.example.com"} {
		if strings.Contains(msg, short) {
			tb.Fatalf("message shows the expanded value %q:\n%s", short, msg)
		}
	}
}

func TestParseNeverQuotesAnExpandedValue(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // each must appear in the messages: the reference instead of the value
	}{
		{
			name: "time zone from a file",
			doc:  "version: 1\nsettings:\n  timezone: ${file:/run/secrets/canary}\n",
			want: []string{`unknown time zone "${file:/run/secrets/canary}"`},
		},
		{
			name: "time zone from the environment",
			doc:  "version: 1\nsettings:\n  timezone: ${SECRET_ENV}\n",
			want: []string{`unknown time zone "${SECRET_ENV}"`},
		},
		{
			name: "short time zone",
			doc:  "version: 1\nsettings:\n  timezone: ${TZ_NAME}\n",
			want: []string{`unknown time zone "${TZ_NAME}"`},
		},
		{
			name: "name in every label and in duplicates",
			doc: "version: 1\nconnections:\n" +
				"  - {name: \"${SECRET_ENV}\", db_type: postgresql, host: \"-h\", password: \"${SECRET_ENV}\"}\n" +
				"  - {name: \"${SECRET_ENV}\", db_type: postgresql, host: db}\n",
			want: []string{`connection "${SECRET_ENV}": host: must not start with '-'`, `duplicate connection name "${SECRET_ENV}"`},
		},
		{
			name: "partial expansion",
			doc:  "version: 1\nsettings:\n  timezone: \"db-${ENV}.example.com\"\n",
			want: []string{`unknown time zone "db-${ENV}.example.com"`},
		},
		{
			name: "number",
			doc:  "version: 1\nconnections:\n  - {name: c, db_type: postgresql, host: db, port: \"${PORT_NUM}\"}\n",
			want: []string{"must be between 1 and 65535, got ${PORT_NUM}"},
		},
		{
			name: "references between resources",
			doc:  "version: 1\nschedules:\n  - {name: s, connection: \"${SECRET_ENV}\", database: d, cron_expr: \"@daily\"}\n",
			want: []string{`connection "${SECRET_ENV}" is not defined`},
		},
		{
			name: "a validator quotes one token of the value",
			doc:  "version: 1\nschedules:\n  - {name: s, connection: c, database: d, cron_expr: \"${SECRET_ENV} * * * *\"}\n",
			want: []string{`cron expression "${SECRET_ENV} * * * *"`},
		},
		{
			name: "multi-line file in a quoted message",
			doc:  "version: 1\nencryption:\n  active_key: \"${file:/run/secrets/canary}\"\n  keys: [{id: k1, key: \"${SECRET_ENV}\"}]\n",
			want: []string{`"${file:/run/secrets/canary}" is not one of the key ids`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, rep := Parse("jagad.yaml", []byte(tt.doc), canaryOptions())
			if !rep.HasErrors() {
				t.Fatalf("no error for:\n%s", tt.doc)
			}
			var all []string
			for _, d := range rep.Diagnostics {
				all = append(all, d.String())
			}
			msgs := strings.Join(all, "\n")
			assertNoCanary(t, msgs)
			assertNoCanary(t, rep.Err().Error())
			for _, w := range tt.want {
				if !strings.Contains(msgs, w) {
					t.Errorf("messages lack %q:\n%s", w, msgs)
				}
			}
		})
	}
}

func TestRedactWithholdsFragments(t *testing.T) {
	_, rep := Parse("jagad.yaml", []byte("version: 1\nsettings:\n  timezone: ${SECRET_ENV}\n"), canaryOptions())
	if !rep.HasErrors() {
		t.Fatal("want an error")
	}
	f, rep := Parse("jagad.yaml", []byte("version: 1\nconnections:\n  - {name: c, db_type: postgresql, host: \"${SECRET_ENV}\"}\n"), canaryOptions())
	if rep.HasErrors() {
		t.Fatal(rep.Err())
	}
	x := f.Expansions
	tests := []struct{ in, want string }{
		{"host " + canaryEnv + " is down", "host ${SECRET_ENV} is down"},
		{`dial "` + canaryEnv + `": refused`, `dial "${SECRET_ENV}": refused`},
		// A truncated prefix and one token are parts of the value: the
		// message is cut before them.
		{"connect: lookup " + canaryEnv[:12] + "...: no such host", "connect: (message withheld: it would show part of the value of ${SECRET_ENV})"},
		{"nothing to hide", "nothing to hide"},
	}
	for _, tt := range tests {
		if got := x.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got, ok := x.Written("connections[0].host"); !ok || got != "${SECRET_ENV}" {
		t.Errorf("Written(host) = %q, %v", got, ok)
	}
	if _, ok := x.Written("connections[0].name"); ok {
		t.Error("Written(name) of a literal name: ok")
	}
}

func TestRedactKeepsDefaultsAndProse(t *testing.T) {
	opts := canaryOptions()
	f, rep := Parse("jagad.yaml", []byte("version: 1\nconnections:\n  - {name: \"${UNSET:-pg}\", db_type: postgresql, host: \"db-${ENV}.example.com\"}\n"), opts)
	if rep.HasErrors() {
		t.Fatal(rep.Err())
	}
	x := f.Expansions
	// "pg" is written in the file (a default), and "qz" (2 bytes) is
	// replaced only as a whole word: the prose keeps its letters.
	in := `connection "pg": host "db-qz.example.com": qzx qz`
	want := `connection "pg": host "db-${ENV}.example.com": qzx ${ENV}`
	if got := x.Redact(in); got != want {
		t.Errorf("Redact = %q, want %q", got, want)
	}
	if got, _ := x.Written("connections[0].name"); got != "${UNSET:-pg}" {
		t.Errorf("Written(name) = %q", got)
	}
}

func TestDenyFileRefs(t *testing.T) {
	opts := canaryOptions()
	opts.DenyFileRefs = true
	_, rep := Parse("jagad.yaml", []byte("version: 1\nsettings:\n  timezone: ${file:/run/secrets/canary}\n"), opts)
	err := rep.Err()
	if err == nil || !strings.Contains(err.Error(), "jagad.yaml:3:13: settings.timezone: ${file:...} is refused in a document posted for planning") {
		t.Fatalf("err = %v", err)
	}
	assertNoCanary(t, err.Error())
	opts.DenyFileRefs = false
	if _, rep := Parse("jagad.yaml", []byte("version: 1\nconnections:\n  - {name: c, db_type: postgresql, host: db, password: \"${file:/run/secrets/pw}\"}\n"), opts); rep.HasErrors() {
		t.Fatalf("the daemon's own file may use ${file:}: %v", rep.Err())
	}
}
