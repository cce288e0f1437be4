package cli

import (
	"encoding/json"
	"fmt"

	"sigs.k8s.io/yaml"
)

// structured says -o json or -o yaml: print data, not sentences.
func (s *session) structured() bool { return s.output != outputText }

// print writes v as one JSON or YAML document (-o json|yaml). YAML is the
// JSON form (the same field names), through sigs.k8s.io/yaml.
func (s *session) print(v any) error {
	if s.output == outputYAML {
		b, err := yaml.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode YAML: %w", err)
		}
		_, err = s.stdout.Write(b)
		return err
	}
	enc := json.NewEncoder(s.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// stream writes one value of a sequence (`watch`): a JSON line, or a YAML
// document after a "---" separator.
func (s *session) stream(v any) error {
	if s.output == outputYAML {
		if _, err := fmt.Fprintln(s.stdout, "---"); err != nil {
			return err
		}
		return s.print(v)
	}
	return json.NewEncoder(s.stdout).Encode(v)
}
