package spec

import "github.com/cutover-dev/cutover/internal/duration"

// Duration is a time.Duration that reads and writes as a Go duration string
// ("90s", "15m", "24h") so that specs pasted into the Temporal UI stay
// readable. A bare JSON number is read as seconds. It is duration.Duration,
// the type the activity inputs use too.
type Duration = duration.Duration
