package starter

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"
)

// TestHelpOfTheProgram: with the real sandbox and demo wired in, no
// command's help contacts Temporal or starts a server.
func TestHelpOfTheProgram(t *testing.T) {
	app := New()
	app.Dial = func() (client.Client, error) {
		t.Error("Temporal was contacted")
		return nil, errors.New("offline")
	}
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			p := append(slices.Clone(path), sub.Name())
			var out, errb bytes.Buffer
			app.Stdout, app.Stderr = &out, &errb
			if code := app.Run(context.Background(), append(p, "--help")); code != 0 || !strings.Contains(out.String(), "Examples:") {
				t.Errorf("cutover %s --help: exit %d\n%s%s", strings.Join(p, " "), code, out.String(), errb.String())
			}
			walk(sub, p)
		}
	}
	walk(app.Command(), nil)
}

// TestSandboxFlagsAreTheSandboxs: `cutover sandbox up|down` declares the
// flags internal/sandbox parses, with the same defaults (but --dir, whose
// default is a path of this checkout), so help and completion tell the truth.
func TestSandboxFlagsAreTheSandboxs(t *testing.T) {
	root := New().Command()
	for _, sub := range []string{"up", "down"} {
		var out, errb bytes.Buffer
		if err := sandbox.RunCLI(context.Background(), []string{sub, "-h"}, &out, &errb); !errors.Is(err, flag.ErrHelp) {
			t.Fatalf("sandbox %s -h: %v", sub, err)
		}
		theirs := goFlagDefaults(errb.String())
		if len(theirs) == 0 {
			t.Fatalf("no flags read from sandbox %s -h:\n%s", sub, errb.String())
		}
		cmd, _, err := root.Find([]string{"sandbox", sub})
		if err != nil {
			t.Fatal(err)
		}
		ours := map[string]string{}
		cmd.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
			if f.Name == "help" {
				return
			}
			def := f.DefValue
			if def == "0" || def == "false" || def == "" {
				def = ""
			}
			ours[f.Name] = def
		})
		for name, def := range theirs {
			got, ok := ours[name]
			switch {
			case !ok:
				t.Errorf("sandbox %s: flag -%s of internal/sandbox is missing from the command table", sub, name)
			case name != "dir" && got != def:
				t.Errorf("sandbox %s: flag --%s defaults to %q, internal/sandbox to %q", sub, name, got, def)
			}
		}
		for name := range ours {
			if _, ok := theirs[name]; !ok {
				t.Errorf("sandbox %s: flag --%s is not one internal/sandbox parses", sub, name)
			}
		}
	}
}

var goDefault = regexp.MustCompile(`\(default (.*)\)$`)

// goFlagDefaults reads the flags and defaults of a Go FlagSet's usage:
// "  -name type" then the description on the next line, or "  -v\tdescription".
func goFlagDefaults(usage string) map[string]string {
	flags := map[string]string{}
	lines := strings.Split(usage, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "  -") {
			continue
		}
		head, desc, sameLine := strings.Cut(l[3:], "\t")
		if !sameLine && i+1 < len(lines) {
			desc = lines[i+1]
		}
		name, _, _ := strings.Cut(head, " ")
		def := ""
		if m := goDefault.FindStringSubmatch(strings.TrimSpace(desc)); m != nil {
			def = strings.Trim(m[1], `"`)
		}
		flags[name] = def
	}
	return flags
}
