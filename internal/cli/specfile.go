package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/spf13/cobra"
)

// specFlag adds -f FILE, the document a command reads ("-" is stdin).
func specFlag(cmd *cobra.Command, file *string, what string) {
	cmd.Flags().StringVarP(file, "file", "f", "", what+" (JSON); - for stdin")
	_ = cmd.MarkFlagFilename("file", "json")
}

// readDocument reads the JSON document at path ("-" is stdin), at most
// spec.MaxDocumentBytes of it. file names the document in messages
// ("spec", "fleet").
func (s *session) readDocument(path, file string) ([]byte, error) {
	if path == "" {
		return nil, usageErr("-f %s.json is required", file)
	}
	r := s.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, usageErr("read %s: %v", file, err)
		}
		defer f.Close()
		r = f
	}
	// One byte over the limit is enough for spec.Parse to refuse it.
	b, err := io.ReadAll(io.LimitReader(r, spec.MaxDocumentBytes+1))
	if err != nil {
		return nil, usageErr("read %s: %v", file, err)
	}
	return b, nil
}

// readSpec reads a migration spec file with spec.Parse, the reader the
// workflow uses on its own input: the spec comes back with defaults
// applied, and its problems as spec.FieldErrors.
func (s *session) readSpec(path string) (spec.MigrationSpec, error) {
	b, err := s.readDocument(path, "spec")
	if err != nil {
		return spec.MigrationSpec{}, err
	}
	return spec.Parse(b)
}

func printFieldErrors(w io.Writer, file string, err error) {
	var fe spec.FieldErrors
	if errors.As(err, &fe) {
		fmt.Fprintf(w, "%s: %d problems:\n", file, len(fe))
		for _, e := range fe {
			fmt.Fprintf(w, "  %s: %s\n", e.Field, e.Reason)
		}
		return
	}
	fmt.Fprintf(w, "%s: %v\n", file, err)
}
