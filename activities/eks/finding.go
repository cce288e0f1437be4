package eks

import "github.com/cutover-dev/cutover/internal/finding"

// Finding is the shared finding type.
type Finding = finding.Finding
